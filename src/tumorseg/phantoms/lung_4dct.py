"""Synthetic 4D (respiration-correlated) lung CT with one moving tumor, deterministic by seed.

A case is ``n_phases`` CT volumes (int16 HU, all on one grid) over one breathing cycle, the
tumor's label in every phase (GTV), their union (ITV) and the true tumor centroid per phase.
Phase 0 is end-inhale; end-exhale is phase ``info["end_exhale_phase"]`` (= N // 2 for even N).

Anatomy (:mod:`tumorseg.phantoms.thorax_anatomy`): chest wall, ribs, spine, sternum, lungs
with vessel and airway trees, heart, great vessels, diaphragm, liver, stomach, couch.
Motion (:mod:`tumorseg.phantoms.thorax_motion`): each phase warps the end-exhale reference with
a smooth displacement field: the diaphragm and upper abdomen descend, the lungs stretch with
motion decaying towards the apex and slide along the chest wall, the chest wall rises forward.
The tumor is re-rendered at the field's displacement of its own centre (so it moves with the
lung and its label is exact, not interpolated); its SI excursion is 5–20 mm (drawn per seed),
AP about 1–4 mm and LR ≲ 2 mm, with the AP and LR signals shifted in time (hysteresis).

Default grid: 256×256×100 voxels of 1.367×1.367×2.5 mm (350×350×250 mm, a typical 4D CT
reconstruction). Label value: 1 = tumor (GTV). Files (:func:`write_lung_4dct_case`)::

    OUT/case_000/phase_00.nii.gz … phase_09.nii.gz   CT, int16 HU
    OUT/case_000/gtv_phase_00.nii.gz …               GTV per phase, uint8 (1 = tumor)
    OUT/case_000/itv.nii.gz                          union of the GTVs, uint8
    OUT/case_000/motion.csv                          phase, x_mm, y_mm, z_mm (GTV centroids, LPS)
    OUT/case_000/case.json                           everything in ``info``
    OUT/dataset.json                                 layout and case list

Example:
    >>> case = make_lung_4dct(seed=3, n_phases=4, shape=(64, 64, 40), spacing=(5, 5, 6))
    >>> len(case.phases), case.centroids_mm.shape
    (4, (4, 3))
"""

from __future__ import annotations

import csv
import io as _io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from tumorseg.io import Volume, atomic_write_text, write_volume
from tumorseg.phantoms.montage import save_figure
from tumorseg.phantoms.primitives import (
    grid_shape_for_fov,
    irregular_blob,
    mm_grid,
    partial_volume,
    smooth_field,
    textured_noise,
    tubes_occupancy,
)
from tumorseg.phantoms.thorax_anatomy import (
    LOBES,
    ThoraxParams,
    ThoraxReference,
    build_thorax,
    planning_regions,
    sub_stream,
)
from tumorseg.phantoms.thorax_motion import BreathingModel

__all__ = [
    "DEFAULT_SHAPE",
    "DEFAULT_SPACING",
    "LABELS",
    "Lung4DCase",
    "make_lung_4dct",
    "save_lung_4dct_montage",
    "write_lung_4dct_case",
    "write_lung_4dct_dataset",
    "write_lung_4dct_layout_json",
]

Vec3 = tuple[float, float, float]

#: Default voxel size (mm): 350 mm / 256 in-plane, 2.5 mm slices.
DEFAULT_SPACING: Vec3 = (350.0 / 256.0, 350.0 / 256.0, 2.5)
#: Default grid: 256×256×100 voxels = 350×350×250 mm.
DEFAULT_SHAPE: tuple[int, int, int] = (256, 256, 100)
#: Field of view (mm) used when ``shape`` is None.
DEFAULT_FOV_MM: Vec3 = (350.0, 350.0, 250.0)
#: Label values of the GTV / ITV maps.
LABELS: dict[str, int] = {"background": 0, "gtv": 1}

_HU_MIN, _HU_MAX = -1024, 3071


@dataclass(frozen=True, eq=False)
class Lung4DCase:
    """One synthetic 4D CT case.

    Attributes:
        name: case identifier (also its folder name when written), e.g. ``"case_000"``.
        phases: one CT volume per respiratory phase (int16 HU, modality "CT"), phase 0 =
            end-inhale; all on one grid.
        gtv: the tumor label per phase (uint8, 1 = tumor), same grid.
        itv: union of the GTVs (uint8), same grid.
        centroids_mm: (n_phases, 3) true tumor centroid per phase, LPS mm: the centroid of
            the GTV label's voxel centres.
        amplitude_mm: (3,) peak-to-peak centroid excursion over the phases along x, y, z (mm).
        info: JSON-able facts (seed, end-exhale phase, tumor and motion parameters, …).
    """

    name: str
    phases: tuple[Volume, ...]
    gtv: tuple[Volume, ...]
    itv: Volume
    centroids_mm: np.ndarray
    amplitude_mm: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def n_phases(self) -> int:
        """Number of respiratory phases."""
        return len(self.phases)


# ------------------------------------------------------------------------------------ tumor
@dataclass(frozen=True, eq=False)
class _Tumor:
    """The tumor on a fine local grid (mm relative to its centre), re-sampled per phase."""

    center: np.ndarray  # reference (end-exhale) position, mm
    mask: np.ndarray  # bool, the exact shape
    frac: np.ndarray  # float32, mask blurred by the scanner PSF (image partial volume)
    hu: np.ndarray  # float32, tumor density texture
    step: float  # fine voxel size, mm
    lo: np.ndarray  # local mm of fine voxel (0, 0, 0)
    info: dict

    def render(self, grid: tuple[np.ndarray, ...], spacing: Vec3, center: np.ndarray
               ) -> tuple[tuple[slice, slice, slice], np.ndarray, np.ndarray, np.ndarray] | None:
        """Label, image fraction and HU of the tumor centred at ``center`` (mm) on ``grid``:
        ``(box slices, label (bool), fraction (0–1), hu)`` or None when outside."""
        hi = self.lo + (np.array(self.mask.shape) - 1) * self.step
        sl = []
        for a in range(3):
            c = grid[a].ravel()
            i0 = int(np.searchsorted(c, center[a] + self.lo[a] - spacing[a]))
            i1 = int(np.searchsorted(c, center[a] + hi[a] + spacing[a], side="right"))
            if i1 <= i0:
                return None
            sl.append(slice(i0, i1))
        axes = [(grid[a].ravel()[sl[a]] - center[a] - self.lo[a]) / self.step for a in range(3)]
        idx = np.stack(np.meshgrid(*axes, indexing="ij"))
        near = np.rint(idx).astype(int)
        ok = np.all((near >= 0) & (near < np.array(self.mask.shape)[:, None, None, None]), axis=0)
        label = np.zeros(ok.shape, dtype=bool)
        label[ok] = self.mask[tuple(n[ok] for n in near)]
        frac = ndimage.map_coordinates(self.frac, idx, order=1, mode="constant", cval=0.0)
        hu = ndimage.map_coordinates(self.hu, idx, order=1, mode="nearest")
        return (sl[0], sl[1], sl[2]), label, frac.astype(np.float32), hu.astype(np.float32)


def _make_tumor(seed: int, center: np.ndarray, diameter: float, kind: str) -> _Tumor:
    rng = sub_stream(seed, "tumor-shape")
    irregularity = float(rng.uniform(0.12, 0.3))
    elongation = float(rng.uniform(0.1, 0.3))
    spiculated = bool(rng.random() < 0.5)
    radius = diameter / 2.0
    step = max(0.4, diameter / 70.0)
    half = max(radius * (1 + elongation) * (1 + 2 * irregularity), 1.7 * radius) + 2.0
    n = int(np.ceil(2 * half / step)) + 1
    fine_shape = (n, n, n)
    fgrid = mm_grid(fine_shape, (step, step, step))
    mask = irregular_blob(fgrid, (step, step, step), (0.0, 0.0, 0.0), diameter, rng,
                          irregularity=irregularity, elongation=elongation)
    n_spic = int(rng.integers(4, 13)) if spiculated else 0
    if n_spic:
        dirs = rng.normal(size=(n_spic, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        length = radius * rng.uniform(1.25, 1.65, n_spic)
        starts = dirs * radius * 0.6
        ends = dirs * length[:, None]
        occ = tubes_occupancy(fgrid, (step, step, step), starts, ends,
                              rng.uniform(0.9, 1.5, n_spic), rng.uniform(0.25, 0.45, n_spic))
        mask |= occ > 0.5
    frac = ndimage.gaussian_filter(mask.astype(np.float32), 0.6 / step)
    mean_hu = float(rng.uniform(5.0, 50.0))
    hu = mean_hu + 10.0 * smooth_field(fine_shape, (step,) * 3, 5.0, rng)
    necrotic = bool(diameter > 30 and rng.random() < 0.3)
    if necrotic:
        r2 = sum(g.astype(np.float32) ** 2 for g in fgrid)
        hu -= 25.0 * np.exp(-r2 / (2 * (0.3 * radius) ** 2))
    lo = np.array([fgrid[a].ravel()[0] for a in range(3)], dtype=float)
    info = {"diameter_mm": round(diameter, 2), "location": kind, "spiculated": spiculated,
            "n_spicules": n_spic, "mean_hu": round(mean_hu, 1), "necrotic_center": necrotic,
            "irregularity": round(irregularity, 3)}
    return _Tumor(center=np.asarray(center, float), mask=mask, frac=frac.astype(np.float32),
                  hu=hu.astype(np.float32), step=step, lo=lo, info=info)


def _place_tumor(thorax: ThoraxParams, seed: int, fov_z: tuple[float, float]
                 ) -> tuple[np.ndarray, float, str, str]:
    """Choose the tumor's reference centre (mm), diameter, location kind and lobe."""
    rng = sub_stream(seed, "tumor-place")
    grid, spacing, interior, med, lobes = planning_regions(thorax)
    # work in the bounding box of the lungs (plus a margin) to keep the distance maps cheap
    nz = np.argwhere(lobes > 0)
    lo = np.maximum(nz.min(axis=0) - 3, 0)
    hi = nz.max(axis=0) + 4
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    grid = tuple(g[tuple(box[a] if a == b else slice(None) for b in range(3))]
                 for a, g in enumerate(grid))
    interior, med, lobes = interior[box], med[box], lobes[box]
    lung = lobes > 0
    cache: dict[str, np.ndarray] = {}

    def dist(name: str) -> np.ndarray:
        if name not in cache:
            region = {"lung": lung, "wall": interior, "med": ~med}[name]
            cache[name] = ndimage.distance_transform_edt(region, sampling=spacing)
        return cache[name]

    names = list(LOBES)
    weights = np.array([0.3, 0.07, 0.2, 0.25, 0.18])
    lobe = names[int(rng.choice(5, p=weights / weights.sum()))]
    kind = str(rng.choice(["intraparenchymal", "juxtapleural", "paramediastinal"],
                          p=[0.6, 0.25, 0.15]))
    diameter = float(np.exp(rng.uniform(np.log(10.0), np.log(50.0))))
    z = grid[2]
    for _ in range(8):
        r = diameter / 2.0
        zok = (z > fov_z[0] + r + 35.0) & (z < fov_z[1] - r - 12.0)
        in_lobe = (lobes == LOBES[lobe]) & zok
        d_lung = dist("lung")
        if kind == "juxtapleural":
            d_wall = dist("wall")
            cand = in_lobe & (d_wall > 0.45 * r) & (d_wall < 0.8 * r) & (d_lung > 0.35 * r)
        elif kind == "paramediastinal":
            d_med = dist("med")
            cand = in_lobe & (d_med > 0.5 * r) & (d_med < 0.85 * r) & (d_lung > 0.4 * r)
        else:
            cand = in_lobe & (d_lung > r + 4.0)
        idx = np.argwhere(cand)
        if len(idx):
            pick = idx[int(rng.integers(len(idx)))]
            center = np.array([grid[a].ravel()[pick[a]] for a in range(3)], dtype=float)
            center += rng.uniform(-0.5, 0.5, 3) * np.asarray(spacing)
            return center, diameter, kind, lobe
        # relax: smaller tumor, then any lobe, then anywhere in the lung
        diameter = max(10.0, diameter * 0.8)
        if _ >= 3:
            kind = "intraparenchymal"
        if _ >= 5:
            lobe = names[int(rng.integers(5))]
    d_lung = dist("lung")
    idx = np.argwhere(lung & (d_lung >= d_lung.max() * 0.7))
    pick = idx[int(rng.integers(len(idx)))]
    center = np.array([grid[a].ravel()[pick[a]] for a in range(3)], dtype=float)
    lobe = names[int(lobes[tuple(pick)]) - 1]
    return center, min(diameter, 2 * float(d_lung[tuple(pick)])), "intraparenchymal", lobe


# ------------------------------------------------------------------------------ one phase
def _render_phase(ref: ThoraxReference, model: BreathingModel, tumor: _Tumor, t: float,
                  grid: tuple[np.ndarray, ...], spacing: Vec3, noise_std: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CT (int16 HU), GTV (uint8) and the tumor's model centre (mm) at cycle fraction t."""
    shape = ref.hu.shape
    x, y, z = grid
    origin = np.array([g.ravel()[0] for g in grid])
    sp = np.asarray(spacing)
    # wall part: 2D, no z motion
    bx, by, _ = model.inverse(x[:, :, 0], y[:, :, 0], np.float32(0.0), t, interior=False)
    ci = np.broadcast_to(((bx - origin[0]) / sp[0])[:, :, None], shape)
    cj = np.broadcast_to(((by - origin[1]) / sp[1])[:, :, None], shape)
    ck = np.broadcast_to(np.arange(shape[2], dtype=np.float32)[None, None, :], shape)
    interior = ndimage.map_coordinates(ref.interior.view(np.uint8), (ci, cj, ck), order=0,
                                       mode="nearest").astype(bool)
    hu = np.empty(shape, dtype=np.float32)
    ext = ~interior
    hu[ext] = ndimage.map_coordinates(ref.hu, (ci[ext], cj[ext], ck[ext]), order=1,
                                      mode="nearest")
    # interior: wall + sliding part, only where needed
    ii, jj, kk = np.nonzero(interior)
    px = x.ravel()[ii]
    py = y.ravel()[jj]
    pz = z.ravel()[kk]
    rx, ry, rz = model.inverse(px, py, pz, t, interior=True)
    qi, qj, qk = (rx - origin[0]) / sp[0], (ry - origin[1]) / sp[1], (rz - origin[2]) / sp[2]
    lands_in = ndimage.map_coordinates(ref.interior.view(np.uint8), (qi, qj, qk), order=0,
                                       mode="nearest").astype(bool)
    # where the sliding sample would fall into the wall, fall back to the wall motion
    qi = np.where(lands_in, qi, ci[ii, jj, kk])
    qj = np.where(lands_in, qj, cj[ii, jj, kk])
    qk = np.where(lands_in, qk, kk.astype(np.float32))
    hu[ii, jj, kk] = ndimage.map_coordinates(ref.hu, (qi, qj, qk), order=1, mode="nearest")
    del ci, cj, ck, qi, qj, qk, rx, ry, rz, px, py, pz, ii, jj, kk, lands_in
    # lungs hold more air on inspiration
    s_si = model.signals(t)[0]
    factor = np.float32(1.0 / (1.0 + 0.85 * model.diaphragm_mm / 150.0 * s_si))
    lungish = interior & (hu < -500.0)
    hu[lungish] = -1000.0 + (hu[lungish] + 1000.0) * factor
    # the tumor, moved by the interior field at its centre
    c = tumor.center
    d = model.displacement(*(np.float32(v) for v in c), t, interior=True)
    center = c + np.array([float(v) for v in d])
    gtv = np.zeros(shape, dtype=np.uint8)
    drawn = tumor.render(grid, spacing, center)
    if drawn is not None:
        sl, label, frac, thu = drawn
        inside = interior[sl]
        label &= inside
        frac *= inside
        view = hu[sl]
        view += frac * (thu - view)
        gtv[sl] = label
    if not gtv.any():  # tiny tumor on a coarse grid: keep at least the voxel at its centre
        ijk = np.clip(np.rint((center - origin) / sp).astype(int), 0, np.array(shape) - 1)
        gtv[tuple(ijk)] = 1
    # scanner: point-spread function and slice profile, correlated noise, FOV circle
    hu = partial_volume(hu, spacing, (1.1, 1.1, float(spacing[2])))
    hu += textured_noise(shape, spacing, noise_std, 0.7, rng)
    radius = 0.5 * min(shape[0] * spacing[0], shape[1] * spacing[1])
    outside = (x * x + y * y) > radius * radius
    hu[np.broadcast_to(outside, shape)] = _HU_MIN
    np.clip(hu, _HU_MIN, _HU_MAX, out=hu)
    return np.rint(hu).astype(np.int16), gtv, center


def _centroid_mm(label: Volume) -> np.ndarray:
    """Centroid (LPS mm) of a label's nonzero voxel centres."""
    idx = np.argwhere(label.array > 0)
    return label.index_to_world(idx.mean(axis=0))


def _grid_shape(shape: Sequence[int] | None, spacing: Vec3) -> tuple[int, int, int]:
    return grid_shape_for_fov(shape, spacing, DEFAULT_FOV_MM)


# ----------------------------------------------------------------------------- public API
def make_lung_4dct(
    seed: int,
    name: str = "case_000",
    n_phases: int = 10,
    shape: Sequence[int] | None = None,
    spacing: Sequence[float] = DEFAULT_SPACING,
) -> Lung4DCase:
    """Make one synthetic 4D lung CT case, deterministic by ``seed``.

    Args:
        seed: the patient; the same seed gives the same patient, tumor and breathing at every
            grid (only voxel-level texture and noise depend on the grid).
        name: case name (folder name when written).
        n_phases: respiratory phases over one cycle (≥ 2); phase 0 = end-inhale.
        shape: voxels (ni, nj, nk); None = the 350×350×250 mm field of view at ``spacing``.
        spacing: voxel size (mm) along x, y, z.

    Returns:
        a :class:`Lung4DCase`; all volumes share one grid centred on the origin (LPS mm),
        direction identity.
    """
    if n_phases < 2:
        raise ValueError(f"n_phases must be at least 2, got {n_phases}")
    sp = tuple(float(v) for v in spacing)
    if len(sp) != 3 or min(sp) <= 0:
        raise ValueError(f"spacing must be 3 positive values, got {spacing}")
    spacing3: Vec3 = (sp[0], sp[1], sp[2])
    grid_shape = _grid_shape(shape, spacing3)
    grid = mm_grid(grid_shape, spacing3)
    origin = tuple(float(g.ravel()[0]) for g in grid)
    fov_z = (float(grid[2].ravel()[0]), float(grid[2].ravel()[-1]))

    thorax = ThoraxParams.sample(seed)
    center, diameter, kind, lobe = _place_tumor(thorax, seed, fov_z)
    tumor = _make_tumor(seed, center, diameter, kind)
    rng = sub_stream(seed, "breathing")
    si_target = float(rng.uniform(5.0, 20.0))
    ap_target = float(rng.uniform(1.0, 4.0))
    model = BreathingModel.for_tumor(thorax, center, rng, si_target, ap_target)
    ref = build_thorax(grid_shape, spacing3, thorax)
    noise_std = float(sub_stream(seed, "scanner").uniform(15.0, 25.0))

    phases, gtvs, model_centers = [], [], []
    times = [p / n_phases for p in range(n_phases)]
    for p, t in enumerate(times):
        hu, gtv, c = _render_phase(ref, model, tumor, t, grid, spacing3, noise_std,
                                   sub_stream(seed, f"noise-{p}"))
        phases.append(Volume(hu, spacing3, origin, modality="CT"))
        gtvs.append(Volume(gtv, spacing3, origin, modality="SEG"))
        model_centers.append(c)
    itv = Volume(np.logical_or.reduce([g.array > 0 for g in gtvs]).astype(np.uint8), spacing3,
                 origin, modality="SEG")
    centroids = np.array([_centroid_mm(g) for g in gtvs])
    amplitude = centroids.max(axis=0) - centroids.min(axis=0)
    s_si = [model.signals(t)[0] for t in times]
    end_exhale = int(np.argmin(s_si))
    voxel_ml = float(np.prod(spacing3)) / 1000.0
    info = {
        "seed": int(seed),
        "name": name,
        "kind": "lung-4dct",
        "n_phases": n_phases,
        "phase_cycle_fraction": [round(t, 4) for t in times],
        "end_inhale_phase": 0,
        "end_exhale_phase": end_exhale,
        "shape": list(grid_shape),
        "spacing_mm": list(spacing3),
        "origin_mm": list(origin),
        "labels": dict(LABELS),
        "tumor": {**tumor.info, "lobe": lobe,
                  "reference_center_mm": [round(float(v), 3) for v in center],
                  "gtv_volume_ml": [round(float(g.array.sum()) * voxel_ml, 3) for g in gtvs],
                  "itv_volume_ml": round(float(itv.array.sum()) * voxel_ml, 3),
                  "model_center_mm": [[round(float(v), 3) for v in c] for c in model_centers]},
        "motion": {**model.to_json(), "target_si_amplitude_mm": round(si_target, 3),
                   "target_ap_amplitude_mm": round(ap_target, 3),
                   "signals_si_ap_lr": [[round(v, 4) for v in model.signals(t)]
                                        for t in times]},
        "centroids_mm": [[round(float(v), 6) for v in c] for c in centroids],
        "amplitude_mm": [round(float(v), 4) for v in amplitude],
        "ct_noise_std_hu": round(noise_std, 2),
        "anatomy": ref.info,
    }
    return Lung4DCase(name=name, phases=tuple(phases), gtv=tuple(gtvs), itv=itv,
                      centroids_mm=centroids, amplitude_mm=amplitude, info=info)


def write_lung_4dct_case(case: Lung4DCase, out_dir: str | Path) -> Path:
    """Write ``case`` into ``out_dir/<case.name>/`` and return that folder.

    Files: ``phase_YY.nii.gz`` (YY = 00…N−1, int16 HU), ``gtv_phase_YY.nii.gz`` and
    ``itv.nii.gz`` (uint8), ``motion.csv`` (phase, x_mm, y_mm, z_mm: the GTV centroids, LPS,
    full precision) and ``case.json`` (``case.info``). Every file is written atomically.
    """
    folder = Path(out_dir) / case.name
    folder.mkdir(parents=True, exist_ok=True)
    for p, (ct, gtv) in enumerate(zip(case.phases, case.gtv, strict=True)):
        write_volume(ct, folder / f"phase_{p:02d}.nii.gz", dtype=np.int16)
        write_volume(gtv, folder / f"gtv_phase_{p:02d}.nii.gz", dtype=np.uint8)
    write_volume(case.itv, folder / "itv.nii.gz", dtype=np.uint8)
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["phase", "x_mm", "y_mm", "z_mm"])
    for p, c in enumerate(case.centroids_mm):
        writer.writerow([p] + [repr(float(v)) for v in c])
    atomic_write_text(folder / "motion.csv", buf.getvalue())
    atomic_write_text(folder / "case.json", json.dumps(case.info, indent=2) + "\n")
    return folder


def write_lung_4dct_layout_json(out: str | Path, case_names: Sequence[str],
                                seed: int | None = None) -> Path:
    """Write ``out/dataset.json`` describing the 4D layout and the cases found in ``out``."""
    out = Path(out)
    cases = []
    for name in case_names:
        folder = out / name
        phases = sorted(p.name for p in folder.glob("phase_*.nii.gz"))
        cases.append({
            "name": name,
            "phases": [f"./{name}/{p}" for p in phases],
            "gtv": [f"./{name}/gtv_{p}" for p in phases],
            "itv": f"./{name}/itv.nii.gz",
            "motion": f"./{name}/motion.csv",
            "info": f"./{name}/case.json",
        })
    doc = {
        "name": "tumorseg-lung-4dct",
        "description": "Synthetic 4D lung CT: one folder per case with every respiratory "
                       "phase (phase_00 = end-inhale), per-phase GTV labels, the ITV and the "
                       "true tumor centroids (motion.csv, LPS mm).",
        "reference": "tumorseg synthetic phantom (tumorseg.phantoms.lung_4dct); exact labels",
        "licence": "CC0 (synthetic)",
        "layout": "4d",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "channel_names": {"0": "CT"},
        "labels": dict(LABELS),
        "file_ending": ".nii.gz",
        "seed": seed,
        "numCases": len(cases),
        "cases": cases,
    }
    path = out / "dataset.json"
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


def write_lung_4dct_dataset(
    out: str | Path,
    n_cases: int,
    seed: int = 0,
    n_phases: int = 10,
    shape: Sequence[int] | None = None,
    spacing: Sequence[float] = DEFAULT_SPACING,
) -> list[Path]:
    """Write ``n_cases`` cases (``case_000`` …) and ``dataset.json`` into ``out``.

    Case *k* uses the seed :func:`tumorseg.phantoms.generate.case_seed` ``(seed, k)`` — the
    same cases ``tumorseg phantom --kind lung-4dct`` writes — so adding cases never changes
    earlier ones. Returns the case folders.
    """
    folders = []
    for k in range(n_cases):
        from tumorseg.phantoms.generate import case_seed

        case = make_lung_4dct(case_seed(seed, k), f"case_{k:03d}", n_phases, shape, spacing)
        folders.append(write_lung_4dct_case(case, out))
    write_lung_4dct_layout_json(out, [f.name for f in folders], seed=seed)
    return folders


# --------------------------------------------------------------------------------- montage
def save_lung_4dct_montage(case: Lung4DCase, path: str | Path, title: str | None = None
                           ) -> Path:
    """PNG: end-exhale axial slices (lung window, GTV contour), end-inhale vs end-exhale
    coronal and sagittal views through the tumor with the ITV, and the tumor trajectory.

    Axial views are radiological (patient right on the image left, anterior up); coronal and
    sagittal views have superior at the top. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ex = int(case.info.get("end_exhale_phase", case.n_phases // 2))
    ct_in, ct_ex = case.phases[0], case.phases[ex]
    g_in, g_ex = case.gtv[0].array, case.gtv[ex].array
    itv = case.itv.array
    sx, sy, sz = ct_ex.spacing
    win = (-1350.0, 150.0)
    idx = np.argwhere(itv > 0)
    ci, cj, ck = (round(v) for v in idx.mean(axis=0))
    ks_t = np.flatnonzero(g_ex.any(axis=(0, 1)))
    nk = ct_ex.shape[2]
    k_t = round(float(ks_t.mean()))
    others = [k for k in (round(nk * f) for f in (0.78, 0.6, 0.42, 0.28, 0.9))
              if abs(k - k_t) > max(2, nk // 20)]
    ks = sorted([k_t, *others[:3]], reverse=True)
    fig = plt.figure(figsize=(16.5, 8.6), facecolor="black")
    gs = fig.add_gridspec(2, 4, height_ratios=[1.0, 1.15])

    def show(ax, img, aspect, name, contours=()):
        ax.imshow(img, cmap="gray", vmin=win[0], vmax=win[1], aspect=aspect,
                  interpolation="bilinear")
        for m, colour, style in contours:
            if m.any():
                ax.contour(m.astype(float), levels=[0.5], colors=colour, linewidths=1.0,
                           linestyles=style)
        ax.set_title(name, color="white", fontsize=9)
        ax.axis("off")

    for n, k in enumerate(ks):
        ax = fig.add_subplot(gs[0, n])
        show(ax, ct_ex.array[:, :, k].T, sy / sx,
             f"end-exhale (phase {ex}) axial k={k}", [(g_ex[:, :, k].T, "#ff3030", "-")])
    views = [
        ("end-inhale (phase 0) coronal", ct_in, g_in, "cor"),
        (f"end-exhale (phase {ex}) coronal", ct_ex, g_ex, "cor"),
        (f"end-exhale (phase {ex}) sagittal", ct_ex, g_ex, "sag"),
    ]
    for n, (name, ct, g, kind) in enumerate(views):
        ax = fig.add_subplot(gs[1, n])
        if kind == "cor":
            img, m, it = (np.flipud(a[:, cj, :].T) for a in (ct.array, g, itv))
            aspect = sz / sx
        else:
            img, m, it = (np.flipud(a[ci, :, :].T) for a in (ct.array, g, itv))
            aspect = sz / sy
        show(ax, img, aspect, name, [(it, "#ffd000", "--"), (m, "#ff3030", "-")])
        if kind == "cor":
            ax.axhline(nk - 1 - ck, color="#30ff60", lw=0.6, alpha=0.7)
    ax = fig.add_subplot(gs[1, 3], facecolor="black")
    c = case.centroids_mm
    ax.plot(c[:, 1] - c[:, 1].mean(), c[:, 2] - c[:, 2].mean(), "-o", color="#ffd000", ms=3)
    ax.plot(c[0, 1] - c[:, 1].mean(), c[0, 2] - c[:, 2].mean(), "o", color="#ff3030", ms=6,
            label="end-inhale")
    ax.plot(c[ex, 1] - c[:, 1].mean(), c[ex, 2] - c[:, 2].mean(), "o", color="#30a0ff", ms=6,
            label="end-exhale")
    ax.set_xlabel("y (mm, +posterior)", color="white", fontsize=8)
    ax.set_ylabel("z (mm, +superior)", color="white", fontsize=8)
    ax.tick_params(colors="white", labelsize=7)
    for spine in ax.spines.values():
        spine.set_color("white")
    ax.set_aspect("equal", adjustable="datalim")
    amp = case.amplitude_mm
    ax.set_title(f"GTV centroid path: amplitude x {amp[0]:.1f}, y {amp[1]:.1f}, "
                 f"z {amp[2]:.1f} mm", color="white", fontsize=8)
    ax.legend(fontsize=7, facecolor="black", labelcolor="white")
    if title:
        fig.suptitle(title, color="white", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)

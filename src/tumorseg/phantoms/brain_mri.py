"""Synthetic multi-sequence brain MRI (T1, T1c, T2, FLAIR) with a glioma, deterministic by seed.

Channels (order 0000–0003): T1, T1c (T1 after gadolinium), T2, FLAIR; float32 in arbitrary MR
units on a 0–1000 scale (white matter ≈ 700 on T1), non-negative, modality "MR".

Label (uint8), BraTS 2021+ convention (the old ET value 4 is renamed 3):

* 1 = NCR — necrotic (and non-enhancing) tumor core: dark on T1/T1c, bright on T2;
* 2 = ED — peritumoral edema: bright on T2 and FLAIR, spreading along white matter;
* 3 = ET — enhancing tumor: a bright rim on T1c.

Some cases have no necrosis (no label 1); every case has enhancing tumor. The whole tumor
(1 ∪ 2 ∪ 3) is 15–60 mm across, in one hemisphere's white matter, and pushes the nearby
ventricle and deep structures away (mass effect).

Anatomy (:mod:`tumorseg.phantoms.brain_anatomy`): scalp (skin, fat), skull (dark on every
sequence, with fatty diploë), CSF (dark T1, bright T2, suppressed on FLAIR), folded cortex,
white matter, deep gray nuclei, ventricles, cerebellum, brainstem, falx and dura (enhancing on
T1c), sagittal sinus, orbits. Contrasts: T1 WM > GM > CSF; T2 CSF > GM > WM; FLAIR GM > WM with
CSF dark. Acquisition: partial volume (blur by the voxel size), a smooth multiplicative bias
field per sequence, Rician noise.

Default grid: 160×192×144 voxels of 1 mm (x × y × z = left–right × anterior–posterior ×
inferior–superior). ``extras["brain"]`` is the intracranial mask (brain, CSF, ventricles,
tumor; uint8). The internal tissue map is available from :func:`brain_tissue_map`
(codes :data:`TISSUE_LABELS`).

Example:
    >>> case = make_brain_mri(seed=1, shape=(64, 80, 60), spacing=(2.5, 2.5, 2.5))
    >>> len(case.channels), int(case.label.array.max()), case.channels[0].modality
    (4, 3, 'MR')
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from tumorseg.io import Volume
from tumorseg.phantoms.brain_anatomy import (
    TISSUES,
    BrainParams,
    _polyline_sd,
    brain_tissues,
    envelope_sd,
    sub_stream,
    ventricle_paths,
)
from tumorseg.phantoms.dataset import PhantomCase
from tumorseg.phantoms.montage import save_figure
from tumorseg.phantoms.primitives import (
    bias_field,
    grid_shape_for_fov,
    irregular_blob,
    mm_grid,
    rician_noise,
    smooth_field,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_SPACING",
    "LABELS",
    "TISSUE_LABELS",
    "brain_tissue_map",
    "make_brain_mri",
    "save_brain_mri_montage",
]

Vec3 = tuple[float, float, float]

#: Channel order of :attr:`PhantomCase.channels`.
CHANNELS: tuple[str, ...] = ("T1", "T1c", "T2", "FLAIR")
#: Label values (BraTS 2021+: ET is 3).
LABELS: dict[str, int] = {"background": 0, "NCR": 1, "ED": 2, "ET": 3}
#: Codes of the internal tissue map (see :func:`brain_tissue_map`).
TISSUE_LABELS: dict[str, int] = dict(TISSUES)
#: Default voxel size (mm).
DEFAULT_SPACING: Vec3 = (1.0, 1.0, 1.0)
#: Field of view (mm) used when ``shape`` is None.
DEFAULT_FOV_MM: Vec3 = (160.0, 192.0, 144.0)

# Tissue signal per sequence (T1, T1c, T2, FLAIR), arbitrary units on a 0–1000 scale.
_SIGNAL: dict[str, tuple[float, float, float, float]] = {
    "air": (0.0, 0.0, 0.0, 0.0),
    "skin": (380.0, 400.0, 430.0, 380.0),
    "fat": (860.0, 860.0, 620.0, 520.0),
    "bone": (40.0, 40.0, 35.0, 35.0),
    "marrow": (330.0, 350.0, 260.0, 230.0),
    "csf": (160.0, 170.0, 950.0, 70.0),
    "gm": (470.0, 485.0, 570.0, 560.0),
    "wm": (700.0, 705.0, 400.0, 420.0),
    "deep_gm": (540.0, 555.0, 480.0, 500.0),
    "ventricle": (150.0, 160.0, 960.0, 60.0),
    "dura": (300.0, 700.0, 260.0, 260.0),
    "vessel": (180.0, 880.0, 110.0, 140.0),
    "muscle": (400.0, 420.0, 280.0, 300.0),
    "vitreous": (120.0, 130.0, 930.0, 90.0),
    "choroid_plexus": (430.0, 820.0, 620.0, 460.0),
}
_TUMOR_SIGNAL = {  # by label value
    1: (230.0, 240.0, 880.0, 380.0),  # necrosis
    2: (530.0, 540.0, 760.0, 820.0),  # edema
    3: (440.0, 950.0, 630.0, 650.0),  # enhancing rim
}
_NOISE_SIGMA = 14.0


def _grid_shape(shape: Sequence[int] | None, spacing: Vec3) -> tuple[int, int, int]:
    return grid_shape_for_fov(shape, spacing, DEFAULT_FOV_MM)


def _check_spacing(spacing: Sequence[float]) -> Vec3:
    sp = tuple(float(v) for v in spacing)
    if len(sp) != 3 or min(sp) <= 0:
        raise ValueError(f"spacing must be 3 positive values, got {spacing}")
    return (sp[0], sp[1], sp[2])


# ---------------------------------------------------------------------------------- tumor
def _tumor_plan(seed: int, params: BrainParams) -> dict:
    """Position and sizes of the glioma (mm), independent of the grid.

    The centre lies in the deep white matter of one hemisphere (frontal, parietal, centrum
    semiovale or temporal); the core is made small enough to stay ≥ 4 mm below the cortex
    surface and not to swallow the ventricle.
    """
    r = sub_stream(seed, "glioma")
    s = params.scale
    side = 1.0 if r.random() < 0.5 else -1.0
    regions = [((28, -34, 14), (8, 10, 8)), ((28, 24, 20), (8, 12, 8)),
               ((30, 0, 26), (6, 14, 6)), ((34, -2, -12), (5, 10, 5))]
    wt = float(r.uniform(15.0, 60.0))
    core = max(10.0, wt * float(r.uniform(0.42, 0.75)))
    best = None
    for _ in range(24):
        k = int(r.integers(len(regions)))
        (cx, cy, cz), (rx, ry, rz) = regions[k]
        head = (np.array([side * cx, cy, cz]) + r.uniform(-1, 1, 3) * np.array([rx, ry, rz])) * s
        pts = [np.array([v], dtype=np.float32) for v in head]
        depth = -float(envelope_sd(params, *pts)[0][0])
        vent = min(float(_polyline_sd(*pts, path, radii, st)[0])
                   for sg in (-1.0, 1.0)
                   for (path, radii), st in zip(ventricle_paths(params, sg),
                                                ((1.5, 1.0, 0.9), (1.0, 1.0, 1.0)), strict=True))
        room = min(depth - 4.0, vent + 3.0)
        if best is None or room > best[0]:
            best = (room, k, head)
        if room >= core / 2.0:
            break
    room, k, head = best
    core = max(8.0, min(core, 2.0 * room))
    wt = max(wt, core + 5.0)
    p_necrosis = 0.9 if core >= 20.0 else (0.5 if core >= 14.0 else 0.1)
    necrosis = bool(r.random() < p_necrosis)
    nec = core * float(r.uniform(0.4, 0.65)) if necrosis else 0.0
    return {"center_mm": params.head_to_world(head), "hemisphere": "left" if side > 0 else
            "right", "region": ["frontal", "parietal", "centrum semiovale", "temporal"][k],
            "whole_tumor_diameter_mm": wt, "core_diameter_mm": core,
            "necrosis": necrosis, "necrosis_diameter_mm": nec,
            "edema_reach_mm": max(3.0, (wt - core) / 2.0) * 1.35,
            "push_mm": float(min(9.0, 0.22 * wt + 1.0)),
            "shape_rng_seed": int(r.integers(2**31))}


def _world_grid(shape: tuple[int, int, int], spacing: Vec3) -> tuple[np.ndarray, ...]:
    return mm_grid(shape, spacing)


def _tumor_labels(plan: dict, params: BrainParams, tissue: np.ndarray, spacing: Vec3
                  ) -> np.ndarray:
    """Label map (uint8): core (ET rim + necrosis) and edema along the white matter of the
    tumor's hemisphere (the falx stops it at the midline)."""
    shape = tissue.shape
    grid = _world_grid(shape, spacing)
    rng = np.random.default_rng(plan["shape_rng_seed"])
    c = tuple(float(v) for v in plan["center_mm"])
    core = irregular_blob(grid, spacing, c, plan["core_diameter_mm"], rng, irregularity=float(
        rng.uniform(0.18, 0.32)), elongation=0.25)
    brainish = np.isin(tissue, [TISSUES[n] for n in ("wm", "gm", "deep_gm", "csf")])
    core &= brainish
    label = np.zeros(shape, dtype=np.uint8)
    if not core.any():  # coarse grid: at least the centre voxel
        ijk = [int(np.argmin(np.abs(g.ravel() - v))) for g, v in zip(grid, c, strict=True)]
        core[tuple(ijk)] = True
    # distances in the tumor's bounding box only
    reach = plan["edema_reach_mm"] * 1.6 + plan["core_diameter_mm"]
    sl = tuple(slice(max(0, int(np.searchsorted(g.ravel(), v - reach))),
                     int(np.searchsorted(g.ravel(), v + reach, side="right")))
               for g, v in zip(grid, c, strict=True))
    sub_core = core[sl]
    d_out = ndimage.distance_transform_edt(~sub_core, sampling=spacing)
    d_in = ndimage.distance_transform_edt(sub_core, sampling=spacing)
    sub_shape = sub_core.shape
    wobble = smooth_field(sub_shape, spacing, 8.0, rng)
    if plan["necrosis"]:
        rim = plan["core_diameter_mm"] / 2.0 - plan["necrosis_diameter_mm"] / 2.0
        rim_local = np.maximum(1.6 * max(spacing), rim * (1.0 + 0.45 * wobble))
        necrotic = sub_core & (d_in > rim_local)
    else:
        necrotic = np.zeros(sub_shape, dtype=bool)
    et = sub_core & ~necrotic
    if not et.any():
        et = sub_core.copy()
        necrotic[:] = False
    t = tissue[sl]
    wm_like = np.isin(t, [TISSUES["wm"], TISSUES["deep_gm"]])
    gm = t == TISSUES["gm"]
    reach_local = plan["edema_reach_mm"] * np.maximum(
        0.35, 1.0 + 0.55 * smooth_field(sub_shape, spacing, 10.0, rng))
    reach_local = np.maximum(reach_local, 1.5 * max(spacing))
    gm_reach = max(3.0, 1.5 * max(spacing))
    edema = ~sub_core & (((d_out < reach_local) & wm_like) | ((d_out < gm_reach) & gm))
    ang = np.deg2rad(params.tilt_deg)
    sub_grid = [g[tuple(sl[a] if a == b else slice(None) for b in range(3))]
                for a, g in enumerate(grid)]
    x_head = np.cos(ang) * sub_grid[0] - np.sin(ang) * sub_grid[1] - params.center[0]
    side = 1.0 if plan["hemisphere"] == "left" else -1.0
    edema &= np.broadcast_to(side * x_head > 1.0, sub_shape)
    sub = np.zeros(sub_shape, dtype=np.uint8)
    sub[edema] = LABELS["ED"]
    sub[et] = LABELS["ET"]
    sub[necrotic] = LABELS["NCR"]
    label[sl] = sub
    return label


# ---------------------------------------------------------------------------- anatomy
@functools.lru_cache(maxsize=2)
def _scene(seed: int, shape: tuple[int, int, int], spacing: Vec3
           ) -> tuple[BrainParams, dict, np.ndarray, np.ndarray, np.ndarray]:
    """(params, tumor plan, tissue map, label map, intracranial mask) — cached, read-only."""
    params = BrainParams.sample(seed)
    plan = _tumor_plan(seed, params)
    push = (tuple(float(v) for v in plan["center_mm"]), plan["push_mm"],
            plan["whole_tumor_diameter_mm"] / 2.0 + 8.0)
    tissue, extra = brain_tissues(params, shape, spacing, push=push)
    label = _tumor_labels(plan, params, tissue, spacing)
    intracranial = extra["intracranial"] | (label > 0)
    for a in (tissue, label, intracranial):
        a.setflags(write=False)
    return params, plan, tissue, label, intracranial


def brain_tissue_map(seed: int, shape: Sequence[int] | None = None,
                     spacing: Sequence[float] = DEFAULT_SPACING) -> Volume:
    """The tissue map (uint8, codes :data:`TISSUE_LABELS`) behind ``make_brain_mri(seed,
    shape=shape, spacing=spacing)``, on the same grid — before the tumor is drawn (tumor
    voxels keep the tissue they replaced; the label map says where the tumor is)."""
    sp = _check_spacing(spacing)
    grid_shape = _grid_shape(shape, sp)
    _, _, tissue, _, _ = _scene(int(seed), grid_shape, sp)
    return Volume(tissue.copy(), sp, _origin(grid_shape, sp), modality="SEG")


def _origin(shape: tuple[int, int, int], spacing: Vec3) -> Vec3:
    return tuple(-(n - 1) / 2.0 * s for n, s in zip(shape, spacing, strict=True))


# ---------------------------------------------------------------------------- rendering
def make_brain_mri(
    seed: int,
    name: str = "case_000",
    shape: Sequence[int] | None = None,
    spacing: Sequence[float] = DEFAULT_SPACING,
) -> PhantomCase:
    """Make one synthetic brain MRI case (T1, T1c, T2, FLAIR + glioma labels), by ``seed``.

    Args:
        seed: the patient; the same seed gives the same head and tumor position and sizes at
            every grid (voxel-level texture, tumor outline and noise depend on the grid).
        name: case name.
        shape: voxels (ni, nj, nk); None = the 160×192×144 mm field of view at ``spacing``.
        spacing: voxel size (mm).

    Returns:
        a :class:`PhantomCase` with four channels (float32, modality "MR", channel names in
        ``info["channels"]``), ``label`` (uint8: 1 NCR, 2 ED, 3 ET), ``extras["brain"]`` (uint8
        intracranial mask) and ``info`` (seed, tumor facts, label volumes in mL, …). The grid
        is centred on the origin (LPS mm), direction identity.
    """
    sp = _check_spacing(spacing)
    grid_shape = _grid_shape(shape, sp)
    params, plan, tissue, label, intracranial = _scene(int(seed), grid_shape, sp)
    origin = _origin(grid_shape, sp)
    rng = sub_stream(seed, "mri-texture")
    table = np.zeros((256, 4), dtype=np.float32)
    names = {v: k for k, v in TISSUES.items()}
    for code, tname in names.items():
        table[code] = _SIGNAL[tname]
    # shared tissue texture (biological) and a little per-sequence variation
    tex = 0.035 * smooth_field(grid_shape, sp, 4.0, rng) + 0.03 * smooth_field(grid_shape, sp,
                                                                                  20.0, rng)
    tumor_tex = smooth_field(grid_shape, sp, 3.0, rng)
    fwhm = tuple(max(1.0, 1.0 * s) for s in sp)
    sigma_px = [f / 2.3548 / s for f, s in zip(fwhm, sp, strict=True)]
    channels = []
    noise_rng = sub_stream(seed, "mri-noise")
    bias_strength = float(noise_rng.uniform(0.08, 0.2))
    for c in range(len(CHANNELS)):
        img = table[tissue, c] * (1.0 + tex)
        for value, sig in _TUMOR_SIGNAL.items():
            m = label == value
            if m.any():
                amp = 0.12 if value != 2 else 0.06
                img[m] = sig[c] * (1.0 + amp * tumor_tex[m])
        img = ndimage.gaussian_filter(img, sigma_px, mode="nearest")
        img *= bias_field(grid_shape, sp, noise_rng, strength=bias_strength, scale_mm=90.0)
        img = rician_noise(img, _NOISE_SIGMA, noise_rng)
        channels.append(Volume(img.astype(np.float32), sp, origin, modality="MR"))
    voxel_ml = float(np.prod(sp)) / 1000.0
    counts = {k: int((label == v).sum()) for k, v in LABELS.items() if v}
    info = {
        "seed": int(seed),
        "name": name,
        "kind": "brain-mri",
        "channels": list(CHANNELS),
        "labels": dict(LABELS),
        "label_convention": "BraTS 2021+: 1 NCR, 2 ED, 3 ET (ET was 4 before 2021)",
        "shape": list(grid_shape),
        "spacing_mm": list(sp),
        "tumor": {
            "center_mm": [round(float(v), 2) for v in plan["center_mm"]],
            "hemisphere": plan["hemisphere"],
            "region": plan["region"],
            "whole_tumor_diameter_mm": round(plan["whole_tumor_diameter_mm"], 2),
            "core_diameter_mm": round(plan["core_diameter_mm"], 2),
            "necrosis": bool(counts["NCR"] > 0),
            "mass_effect_mm": round(plan["push_mm"], 2),
            "volume_ml": {k: round(n * voxel_ml, 3) for k, n in counts.items()},
        },
        "head": {"scale": round(params.scale, 3), "ventricle_scale": round(
            params.ventricle_scale, 3), "tilt_deg": round(params.tilt_deg, 2)},
        "bias_strength": round(bias_strength, 3),
        "noise_sigma": _NOISE_SIGMA,
        "tissue_labels": dict(TISSUE_LABELS),
    }
    brain = Volume(intracranial.astype(np.uint8), sp, origin, modality="SEG")
    return PhantomCase(
        name=name,
        channels=tuple(channels),
        label=Volume(label.copy(), sp, origin, modality="SEG"),
        extras={"brain": brain},
        info=info,
    )


# -------------------------------------------------------------------------------- montage
def save_brain_mri_montage(case: PhantomCase, path: str | Path, title: str | None = None
                           ) -> Path:
    """PNG: the four sequences on the axial slice through the tumor centre (top row, label
    contours on T1c and FLAIR in the bottom row), plus coronal T1c and sagittal FLAIR.

    Axial views are radiological (patient right on the image left, anterior up); coronal
    and sagittal views have superior at the top. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lab = case.label.array
    idx = np.argwhere(lab > 0)
    ci, cj, ck = (round(v) for v in idx.mean(axis=0)) if len(idx) else (
        s // 2 for s in lab.shape)
    sx, sy, sz = case.label.spacing
    colours = {1: "#ff3030", 2: "#ffd000", 3: "#30a0ff"}
    fig, axes = plt.subplots(2, 4, figsize=(13.5, 8.2), facecolor="black")

    def window(a: np.ndarray) -> tuple[float, float]:
        v = a[a > np.percentile(a, 40)]
        return 0.0, float(np.percentile(v, 99.7)) if v.size else float(a.max() or 1)

    def show(ax, img, labimg, aspect, name):
        lo, hi = window(img)
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="bilinear")
        if labimg is not None:
            for v in (2, 3, 1):  # edema first, so ET and NCR outlines stay on top
                col = colours[v]
                m = labimg == v
                if m.any():
                    ax.contour(m.astype(float), levels=[0.5], colors=col, linewidths=0.9)
        ax.set_title(name, color="white", fontsize=9)
        ax.axis("off")

    for c, ch in enumerate(case.channels):
        show(axes[0, c], ch.array[:, :, ck].T, None, sy / sx, f"{CHANNELS[c]} axial k={ck}")
    t1c, flair = case.channels[1].array, case.channels[3].array
    show(axes[1, 0], t1c[:, :, ck].T, lab[:, :, ck].T, sy / sx, "T1c + labels")
    show(axes[1, 1], flair[:, :, ck].T, lab[:, :, ck].T, sy / sx, "FLAIR + labels")
    show(axes[1, 2], np.flipud(t1c[:, cj, :].T), np.flipud(lab[:, cj, :].T), sz / sx,
         f"T1c coronal j={cj}")
    show(axes[1, 3], np.flipud(case.channels[2].array[ci, :, :].T), np.flipud(lab[ci, :, :].T),
         sz / sy, f"T2 sagittal i={ci}")
    fig.text(0.5, 0.01, "contours: red NCR (1), yellow ED (2), blue ET (3)", color="white",
             ha="center", fontsize=9)
    if title:
        fig.suptitle(title, color="white", fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return save_figure(fig, path, dpi=90)

"""Synthetic contrast-enhanced abdominal CT with liver, kidney and pancreas lesions.

:func:`make_abdomen_ct` draws one patient from a seed (:mod:`~tumorseg.phantoms.anatomy_abdomen`:
body wall, spine, ribs, pelvis, lung bases, heart, vessels, liver, kidneys, spleen, pancreas,
stomach, bowel…), turns tissues into HU for a contrast phase (portal-venous, arterial or
non-contrast, :mod:`~tumorseg.phantoms.ct_contrast`), adds 0–5 lesions, and forms the image
like a scanner: smooth intra-organ heterogeneity, partial volume (Gaussian point-spread
function of max(1 mm, voxel) in-plane and the slice thickness through-plane) and correlated
noise (10–18 HU at 0.8 × 0.8 × 2.5 mm, lower for larger voxels, at least 6 HU), then rounds to
int16 HU clipped to [−1024, 3071].

Sizes (:data:`SIZES`)
    ``"full"``  512 × 512 × 96 voxels at 0.8 × 0.8 × 2.5 mm (410 × 410 × 240 mm, a clinical
    abdomen field of view; ≈ 10 s of CPU); ``"small"`` 128 × 128 × 64 at 3 × 3 × 4 mm
    (384 × 384 × 256 mm, for training and demos; < 1 s); ``"tiny"`` 96 × 96 × 48 at
    4 × 4 × 5 mm (tests; ≈ 0.5 s). Any other shape and spacing works: anatomy is in mm about
    the volume centre (which sits at anatomical Z = +5 mm, just above the L1/L2 disc, so a
    240 mm field runs from the iliac crests to the lung bases and the lower heart), and a field
    of view too small for the body shrinks the whole patient to fit (``info["scale"]`` < 1).

Lesions
    0–5 per case (``n_lesions`` overrides; fewer when an organ is out of view) in the liver
    (50 %), a kidney (30 %) or the pancreas (20 %): 5–60 mm (log-uniform, at least ~2.5 voxels,
    at most 60 / 45 / 32 mm and 0.9 / 1.3 / 1.6 × the organ's thickness), irregular
    (:func:`~tumorseg.phantoms.primitives.irregular_blob`), of four kinds: ``hypo`` and
    ``hyper`` (35–75 HU below / above the parenchyma, textured, slightly ill-defined), ``cyst``
    (0–18 HU, round, sharp) and ``necrotic`` (≥ 18 mm; enhancing rim, fluid centre). Liver
    lesions stay in the liver (possibly flattened against its capsule); kidney and pancreas
    lesions may bulge into the surrounding fat (exophytic). Lesions never touch each other.

Labels
    ``label``: all lesions = 1 (uint8). ``extras["organs"]``: :data:`ORGAN_LABELS` (1 liver,
    2 right kidney, 3 left kidney, 4 spleen, 5 pancreas, 6 aorta, 7 IVC, 8 bone, 9 gallbladder,
    10 stomach, 11 bowel, 12 lung, 13 bladder, 14 heart, 15 portal/splenic vein, 16 lymph node);
    intrahepatic vessels belong to the liver, and an organ's label includes the lesions growing
    in it.

Info
    ``info["lesions"]``: one dict per lesion (``organ``, ``kind``, ``diameter_mm`` drawn,
    ``equivalent_diameter_mm`` from the voxel volume, ``center_mm`` = LPS centroid, ``voxels``,
    ``inside_fraction`` in the host organ as it was before the lesion, ``hu`` before noise —
    [core, rim] for necrotic ones), plus ``seed``, ``phase``, ``habitus`` (0 thin … 1 obese),
    ``scale``, ``noise_hu``, ``oral_contrast``, ``organ_labels``.

Geometry
    LPS, direction identity; the volume centre is at (0, 0, −295) mm (anatomical Z = 0 at world
    z = −300 mm: a plausible table position). Image ``modality="CT"``, label and organs
    ``modality="SEG"`` on the same grid.

Regenerate the documentation montage (``docs/phantom_abdomen-ct.png``)::

    python -c "from tumorseg.phantoms.abdomen_ct import save_example_montage as s; s()"
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from tumorseg.io import Volume
from tumorseg.phantoms.anatomy_abdomen import Torso, build_torso, fit_scale
from tumorseg.phantoms.anatomy_shapes import Box, Frame, class_lut, fast_smooth_field, sub_rng
from tumorseg.phantoms.anatomy_tissues import ORGAN_LABELS, Tissue
from tumorseg.phantoms.ct_contrast import PHASES, hu_tables
from tumorseg.phantoms.dataset import PhantomCase
from tumorseg.phantoms.primitives import partial_volume, textured_noise
from tumorseg.phantoms.torso_lesions import PlacedLesion, min_lesion_diameter, place_lesion

__all__ = [
    "ABDOMEN_Z_CENTER",
    "LESION_KINDS",
    "ORGAN_LABELS",
    "SIZES",
    "WORLD_Z_OF_L1L2",
    "abdomen_ct_size",
    "build_frame",
    "form_ct_image",
    "lesion_slices",
    "make_abdomen_ct",
    "organ_boxes",
    "save_example_montage",
    "scanner",
    "volume_geometry",
]

T = Tissue
Shape3 = tuple[int, int, int]
Vec3 = tuple[float, float, float]

#: Preset grids: name → (shape, spacing in mm).
SIZES: dict[str, tuple[Shape3, Vec3]] = {
    "full": ((512, 512, 96), (0.8, 0.8, 2.5)),
    "small": ((128, 128, 64), (3.0, 3.0, 4.0)),
    "tiny": ((96, 96, 48), (4.0, 4.0, 5.0)),
}

#: Lesion kinds: hypodense solid, hyperdense solid, simple cyst, necrotic (enhancing rim).
LESION_KINDS = ("hypo", "hyper", "cyst", "necrotic")

#: World z (mm, LPS) of anatomical Z = 0 (the L1/L2 disc): fixes the table position.
WORLD_Z_OF_L1L2 = -300.0
#: Anatomical Z (mm) at the centre of an abdominal CT volume.
ABDOMEN_Z_CENTER = 5.0

_LESION_ORGANS = {"liver": 0.5, "kidney": 0.3, "pancreas": 0.2}
_KIND_P = {
    "liver": (0.4, 0.15, 0.25, 0.2),
    "kidney": (0.3, 0.15, 0.35, 0.2),
    "pancreas": (0.55, 0.05, 0.3, 0.1),
}
_MAX_D = {"liver": 60.0, "kidney": 45.0, "pancreas": 32.0}
# largest lesion diameter as a multiple of the organ's thickness (pancreatic and renal tumours
# may widen their organ; liver lesions stay inside)
_SIZE_VS_ORGAN = {"liver": 0.9, "kidney": 1.3, "pancreas": 1.6}
_N_LESIONS_P = (0.08, 0.25, 0.25, 0.2, 0.13, 0.09)
_PARENCHYMA = {"liver": T.LIVER, "kidney": T.KIDNEY_CORTEX, "pancreas": T.PANCREAS}


def abdomen_ct_size(size: str) -> tuple[Shape3, Vec3]:
    """Shape and spacing (mm) of a preset (:data:`SIZES`)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)}")
    return SIZES[size]


def build_frame(seed: int, shape: Shape3, spacing: Vec3, z_center: float) -> Frame:
    """The grid ↔ anatomy mapping for patient ``seed``: scale < 1 when the body would not fit."""
    from tumorseg.phantoms.anatomy_abdomen import BodyWall

    habitus = float(sub_rng(seed, "habitus").beta(2.0, 2.2))
    wall = BodyWall.draw(seed, habitus)
    fov = (shape[0] * spacing[0], shape[1] * spacing[1])
    half_z = shape[2] * spacing[2] / 2
    scale = fit_scale(wall, fov, (z_center - half_z, z_center + half_z))
    return Frame(tuple(int(n) for n in shape), tuple(float(s) for s in spacing),  # type: ignore[arg-type]
                 scale, z_center)


def volume_geometry(frame: Frame, world_z_center: float) -> tuple[Vec3, np.ndarray]:
    """Origin (LPS mm of voxel 0) and direction (identity) of a volume on ``frame``."""
    origin = tuple(-(n - 1) / 2.0 * s for n, s in zip(frame.shape, frame.spacing, strict=True))
    return (origin[0], origin[1], origin[2] + world_z_center), np.eye(3)


def _draw_lesion_plan(rng: np.random.Generator, n: int) -> list[tuple[str, str, float]]:
    """(organ, kind, diameter mm) for ``n`` lesions."""
    organs = list(_LESION_ORGANS)
    p = np.array(list(_LESION_ORGANS.values()))
    plan = []
    for _ in range(n):
        organ = organs[int(rng.choice(len(organs), p=p / p.sum()))]
        kind = LESION_KINDS[int(rng.choice(4, p=np.array(_KIND_P[organ])))]
        d = float(np.exp(rng.uniform(np.log(5.0), np.log(60.0))))
        if kind == "necrotic":
            d = max(d, 18.0)
        plan.append((organ, kind, d))
    return plan


def _lesion_hu(kind: str, organ_hu: float, phase: str, rng: np.random.Generator
               ) -> tuple[float, float]:
    """(core HU, rim HU) of a lesion in parenchyma of ``organ_hu``; visible by ≥ 35 HU."""
    if kind == "cyst":
        core = float(rng.uniform(0, 18))
        core = min(core, organ_hu - 35.0)
        return core, core
    if kind == "hyper":
        v = organ_hu + float(rng.uniform(35, 75))
        return v, v
    if kind == "hypo":
        v = organ_hu - float(rng.uniform(35, 70))
        return v, v
    core = float(rng.uniform(5, 25))  # necrotic: fluid-like centre
    if phase == "non-contrast":  # no enhancement: a rim just less dark than the centre
        rim = organ_hu - float(rng.uniform(25, 35))
        core = min(core, rim - 12.0)
    else:
        rim = organ_hu + float(rng.uniform(15, 45))
    return core, rim


def organ_boxes(t: Torso) -> dict[int, Box]:
    """Bounding block of every organ label present (one pass over the organ map)."""
    full = t.frame.full()
    out = {}
    for value, sl in enumerate(ndimage.find_objects(t.organs), start=1):
        if sl is None:
            continue
        coords = (full.X.ravel(), full.Y.ravel(), full.Z.ravel())
        lo = [coords[a][sl[a].start] - 0.01 for a in range(3)]
        hi = [coords[a][sl[a].stop - 1] + 0.01 for a in range(3)]
        out[value] = full.sub(lo, hi)
    return out


def _add_ct_lesions(t: Torso, hu: np.ndarray, mean: np.ndarray, phase: str,
                    rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[dict]]:
    """Place ``n`` lesions (fewer if organs are out of view), write their HU into ``hu``.

    Returns the lesion label map (uint8) and the lesion records.
    """
    label = np.zeros(t.frame.shape, np.uint8)
    blocked = np.zeros(t.frame.shape, bool)  # lesions and a one-voxel gap around them
    plan = _draw_lesion_plan(rng, n)
    records: list[dict] = []
    avoid: list[tuple[np.ndarray, float]] = []
    dmin = min_lesion_diameter(t.frame.anat_spacing)
    soft = class_lut([T.VISCERAL_FAT, T.RETRO_FAT])
    boxes = organ_boxes(t)
    for organ, kind, d in plan:
        name = organ
        if organ == "kidney":
            name = "kidney_right" if rng.uniform() < 0.5 else "kidney_left"
        value = ORGAN_LABELS[name]
        hbox = boxes.get(value)
        if hbox is None:
            continue
        host_mask = (t.organs[hbox.sl] == value) & ~blocked[hbox.sl]
        if host_mask.sum() < 20:
            continue
        d = float(np.clip(d, dmin, max(dmin, _MAX_D[organ])))
        if kind == "cyst":
            irr, elong = 0.04, 0.12
        else:
            irr, elong = float(rng.uniform(0.12, 0.3)), 0.3
        depth = {"liver": (0.35, 1.2), "kidney": (-0.4, 0.9), "pancreas": (0.0, 0.8)}[organ]

        def grow(box: Box, value: int = value, organ: str = organ) -> np.ndarray:
            g = t.organs[box.sl] == value
            if organ != "liver":  # kidney and pancreas tumours may bulge into the fat
                g |= soft[t.tissue[box.sl]]
            return g & ~blocked[box.sl]

        placed = place_lesion(t, host_mask, hbox, grow, rng, d, depth, irr, elong, avoid,
                              max_size=_SIZE_VS_ORGAN[organ])
        if placed is None:
            continue
        organ_hu = float(mean[_PARENCHYMA[organ]])
        core, rim = _lesion_hu(kind, organ_hu, phase, rng)
        kind = _write_lesion_hu(hu, placed, kind, core, rim, rng)
        label[placed.box.sl][placed.mask] = 1
        blocked[placed.box.sl] |= ndimage.binary_dilation(placed.mask)
        t.organs[placed.box.sl][placed.mask] = value
        avoid.append((placed.center, placed.diameter_mm / 2))
        records.append(_record(t, placed, name, kind, core, rim if kind == "necrotic" else core))
    return label, records


def _write_lesion_hu(hu: np.ndarray, p: PlacedLesion, kind: str, core: float, rim: float,
                     rng: np.random.Generator) -> str:
    """Blend a lesion's HU (with its own texture) into ``hu`` on its box; returns the kind
    drawn (a "necrotic" lesion too small for a visible centre becomes "hypo", at ``core``)."""
    sub = hu[p.box.sl]
    value = np.full(p.mask.shape, core, np.float32)
    if kind == "necrotic":
        r = p.diameter_mm / 2
        t_rim = float(max(min(rng.uniform(2.0, 5.0), 0.2 * r), 1.2 * max(p.box.spacing[:2])))
        wobble = np.float32(min(1.5, 0.3 * t_rim)) * p.box.field(6.0, rng)
        rim_mask = (p.depth < t_rim + wobble) & p.mask
        if rim_mask.sum() > 0.6 * p.mask.sum():  # no room for a centre at this voxel size
            kind = "hypo"
        else:
            value = np.where(rim_mask, np.float32(rim), value)
            value += np.float32(6.0) * p.box.field(4.0, rng)
    elif kind != "cyst":
        value += np.float32(rng.uniform(4, 10)) * p.box.field(5.0, rng)
    w = p.mask.astype(np.float32)
    if kind in ("hypo", "hyper", "necrotic"):  # slightly ill-defined margin
        edge = np.float32(rng.uniform(0.5, 1.5))
        w = np.clip(p.depth / edge, 0, 1) * 0.35 + w * 0.65
    sub[...] = sub * (1 - w) + value * w
    return kind


def _record(t: Torso, p: PlacedLesion, organ: str, kind: str, core: float, rim: float) -> dict:
    """The lesion's entry in ``info["lesions"]`` (centre in LPS world mm)."""
    vox_mm3 = float(np.prod(t.frame.spacing))
    vol = p.voxels * vox_mm3
    world = t.frame.to_world_offset(p.center)
    return {
        "organ": organ,
        "kind": kind,
        "diameter_mm": round(p.diameter_mm * t.frame.scale, 2),
        "equivalent_diameter_mm": round(float((6 * vol / np.pi) ** (1 / 3)), 2),
        "center_offset_mm": [round(float(v), 2) for v in world],
        "voxels": p.voxels,
        "inside_fraction": round(p.inside_fraction, 3),
        "hu": round(core, 1) if kind != "necrotic" else [round(core, 1), round(rim, 1)],
    }


def form_ct_image(t: Torso, mean: np.ndarray, smooth: np.ndarray, fine: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Noise-free HU (float32) of the tissue map, with smooth and fine tissue texture."""
    sp = t.frame.spacing
    hu = mean[t.tissue]
    f = fast_smooth_field(t.frame.shape, sp, 15.0, rng)
    f *= smooth[t.tissue]
    hu += f
    f = fast_smooth_field(t.frame.shape, sp, 3.0, rng)
    f *= fine[t.tissue]
    hu += f
    return hu


def scanner(hu: np.ndarray, spacing: Vec3, rng: np.random.Generator, noise_hu: float
            ) -> np.ndarray:
    """Partial volume (PSF ≈ max(1 mm, voxel) in-plane, the slice thickness through-plane),
    correlated noise of ``noise_hu`` at 0.8 × 0.8 × 2.5 mm scaled by voxel volume (≥ 6 HU),
    rounding to int16 HU in [−1024, 3071]."""
    fwhm = (max(1.0, spacing[0]), max(1.0, spacing[1]), max(2.0, spacing[2]))
    img = partial_volume(hu, spacing, fwhm)
    ref = 0.8 * 0.8 * 2.5
    std = max(6.0, noise_hu * float(np.sqrt(ref / float(np.prod(spacing)))))
    img += textured_noise(img.shape, spacing, std, 0.7, rng)
    np.clip(img, -1024, 3071, out=img)
    return np.rint(img).astype(np.int16)


def make_abdomen_ct(
    seed: int,
    name: str = "case_000",
    shape: Shape3 | None = None,
    spacing: Vec3 = (0.8, 0.8, 2.5),
    n_lesions: int | None = None,
    phase: str | None = None,
) -> PhantomCase:
    """One synthetic abdominal CT case with lesions in the liver, kidneys or pancreas.

    Args:
        seed: the patient (anatomy, contrast phase, lesions, noise). Same seed and arguments
            → byte-identical arrays; another seed → another patient.
        name: case identifier.
        shape: voxels (i, j, k); None → ``SIZES["full"]`` (512 × 512 × 96).
        spacing: voxel size in mm (i, j, k).
        n_lesions: number of lesions (0–5; None draws it: mostly 1–3). Fewer are drawn when
            an organ is out of the field of view or too crowded.
        phase: ``"portal-venous"``, ``"arterial"`` or ``"non-contrast"``; None draws one
            (:data:`~tumorseg.phantoms.ct_contrast.PHASES`).

    Returns:
        A :class:`PhantomCase` with one CT channel (int16 HU), the lesion label (uint8, 1),
        ``extras["organs"]`` and ``info`` (see the module docstring).
    """
    if shape is None:
        shape, spacing = SIZES["full"][0], spacing
    shape = tuple(int(n) for n in shape)  # type: ignore[assignment]
    if len(shape) != 3 or min(shape) < 8:
        raise ValueError(f"shape must be 3 sizes of at least 8 voxels, got {shape}")
    rng_case = sub_rng(seed, "ct-case")
    if phase is None:
        names = list(PHASES)
        p = np.array(list(PHASES.values()))
        phase = names[int(rng_case.choice(len(names), p=p / p.sum()))]
    if n_lesions is None:
        n_lesions = int(rng_case.choice(6, p=np.array(_N_LESIONS_P)))
    if not 0 <= n_lesions <= 5:
        raise ValueError(f"n_lesions must be 0–5, got {n_lesions}")
    frame = build_frame(seed, shape, spacing, ABDOMEN_Z_CENTER)
    torso = build_torso(frame, seed)
    rng_img = sub_rng(seed, "ct-image")
    cortex = 1.5 / max(torso.frame.anat_spacing[0], 1e-3)
    mean, smooth, fine = hu_tables(phase, rng_img, min(1.0, cortex))
    hu = form_ct_image(torso, mean, smooth, fine, rng_img)
    label, lesions = _add_ct_lesions(torso, hu, mean, phase, sub_rng(seed, "ct-lesions"),
                                     n_lesions)
    noise = float(rng_img.uniform(10, 18))
    img = scanner(hu, frame.spacing, rng_img, noise)
    origin, direction = volume_geometry(frame, ABDOMEN_Z_CENTER + WORLD_Z_OF_L1L2)
    ct = Volume(img, frame.spacing, origin, direction, modality="CT")
    seg = ct.with_array(label, modality="SEG")
    organs = ct.with_array(torso.organs, modality="SEG")
    for les in lesions:
        off = les.pop("center_offset_mm")
        centre = np.asarray(origin) + (np.array(frame.shape) - 1) / 2 * np.array(frame.spacing)
        les["center_mm"] = [round(float(c + o), 2) for c, o in zip(centre, off, strict=True)]
    info = {
        "seed": int(seed),
        "phase": phase,
        "habitus": round(torso.habitus, 3),
        "scale": round(frame.scale, 4),
        "noise_hu": round(noise, 1),
        "oral_contrast": bool(torso.notes.get("oral_contrast", False)),
        "lesions": lesions,
        "organ_labels": dict(ORGAN_LABELS),
    }
    return PhantomCase(name=name, channels=(ct,), label=seg, extras={"organs": organs},
                       info=info)


def lesion_slices(label: np.ndarray, n: int = 4) -> list[int]:
    """Axial slices for a montage: through the middle of each lesion (largest first), then
    evenly between them, at most ``n``."""
    comps, count = ndimage.label(label > 0)
    ks: list[int] = []
    if count:
        sizes = np.bincount(comps.ravel())[1:]
        for c in np.argsort(sizes)[::-1] + 1:
            kk = np.flatnonzero((comps == c).any(axis=(0, 1)))
            k = int(kk[len(kk) // 2])
            if all(abs(k - q) > 1 for q in ks):
                ks.append(k)
    nk = label.shape[2]
    for k in np.linspace(0.2 * nk, 0.85 * nk, n).astype(int):
        if len(ks) >= n:
            break
        if all(abs(int(k) - q) > 3 for q in ks):
            ks.append(int(k))
    return sorted(ks[:n])


def save_example_montage(path: str | Path = "docs/phantom_abdomen-ct.png", seed: int = 6,
                         size: str = "full") -> Path:
    """Render the documentation montage: one case with ≥ 2 lesions, "ct-abdomen" window,
    axial slices through the lesions and a coronal view."""
    from tumorseg.phantoms.montage import save_montage

    shape, spacing = abdomen_ct_size(size)
    case = make_abdomen_ct(seed, shape=shape, spacing=spacing, n_lesions=3,
                           phase="portal-venous")
    kinds = ", ".join(f"{les['organ'].replace('_', ' ')} {les['kind']}"
                      for les in case.info["lesions"])
    return save_montage(case.channels[0], path, label=case.label,
                        slices=lesion_slices(case.label.array), window="ct-abdomen",
                        title=f"abdomen-ct, seed {seed}, portal-venous: {kinds}")

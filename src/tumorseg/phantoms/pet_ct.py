"""Synthetic FDG PET/CT of the torso (pelvis to lower chest) with avid lesions.

:func:`make_pet_ct` draws the same kind of patient as :mod:`~tumorseg.phantoms.abdomen_ct`
over a longer field of view and returns two channels on one grid (same shape, spacing, origin,
direction): ``_0000`` CT (int16 HU, ``modality="CT"``; non-contrast low-dose or portal-venous)
and ``_0001`` PET (float32 SUV, ``modality="PT"``); ``info["channel_names"]`` is
``{"0": "CT", "1": "PET"}``.

Field of view
    The volume starts just below the bladder and femoral heads (anatomical Z = −295 mm,
    :data:`PET_Z_BOTTOM`) and extends upwards: the default 400 × 400 × 450 mm at 2 × 2 × 3 mm
    reaches the lower heart and the lung bases. A shorter field keeps the pelvis and loses the
    top. The brain (and its physiological uptake) is never in this field of view: the highest
    physiological uptake here is the urinary tract and, variably, the myocardium.

PET
    Physiological uptake (SUV, drawn per case): fat ≈ 0.25–0.45, muscle ≈ 0.6–0.9, lung
    ≈ 0.3, blood pool ≈ 1.5–1.9, marrow ≈ 1.0–1.5, spleen ≈ 1.6–2.0, liver ≈ 2.0–2.6, kidney
    parenchyma ≈ 3–5, renal pelvis, ureters and bladder urine 8–25, myocardium 1–10 (fasting
    varies), stomach and bowel wall 1.2–2.8 with patchy colonic uptake. Images are blurred to
    6–7 mm FWHM and get signal-dependent (Poisson-like), spatially correlated noise
    (coefficient of variation in the liver 8–15 %); SUV ≥ 0.

Lesions (label 1, 0–5 per case)
    Liver metastases (hypodense on CT), lymph nodes (para-aortic, paracaval, iliac,
    mesenteric; soft tissue on CT), lung-base nodules and bone metastases (vertebral bodies,
    sacrum, pelvis, femoral heads; lytic, sclerotic or CT-occult). True SUVmax 4–20 and at
    least twice the liver's, heterogeneous, with a photopenic necrotic centre in half of those
    over 24 mm; diameters 12–45 mm so they are resolvable at PET resolution.
    ``info["lesions"]`` lists ``organ`` (liver / lymph_node / lung / bone), ``kind``,
    ``diameter_mm``, ``suv_max`` (true, before blur), ``center_mm`` (LPS), ``voxels``. Organ
    labels as :data:`ORGAN_LABELS`; a lymph-node lesion is labelled ``lymph_node`` there.

Sizes (:data:`PET_SIZES`)
    ``"full"`` 200 × 200 × 150 at 2 × 2 × 3 mm (≈ 5 s); ``"small"`` 96 × 96 × 80 at 4 × 4 × 6
    mm (tests and training, ≈ 1 s).

Regenerate the documentation montage::

    python -c "from tumorseg.phantoms.pet_ct import save_example_montage as s; s()"
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from tumorseg.io import Volume
from tumorseg.phantoms.abdomen_ct import (
    WORLD_Z_OF_L1L2,
    build_frame,
    form_ct_image,
    lesion_slices,
    organ_boxes,
    scanner,
    volume_geometry,
)
from tumorseg.phantoms.anatomy_abdomen import Torso, build_torso
from tumorseg.phantoms.anatomy_shapes import Box, class_lut, fast_smooth_field, sub_rng
from tumorseg.phantoms.anatomy_tissues import ORGAN_LABELS, Tissue
from tumorseg.phantoms.ct_contrast import hu_tables
from tumorseg.phantoms.dataset import PhantomCase
from tumorseg.phantoms.primitives import partial_volume
from tumorseg.phantoms.torso_lesions import PlacedLesion, min_lesion_diameter, place_lesion

__all__ = [
    "ORGAN_LABELS",
    "PET_SIZES",
    "PET_Z_BOTTOM",
    "make_pet_ct",
    "pet_scanner",
    "save_example_montage",
    "suv_table",
]

T = Tissue
Shape3 = tuple[int, int, int]
Vec3 = tuple[float, float, float]

#: Preset grids: name → (shape, spacing in mm).
PET_SIZES: dict[str, tuple[Shape3, Vec3]] = {
    "full": ((200, 200, 150), (2.0, 2.0, 3.0)),
    "small": ((96, 96, 80), (4.0, 4.0, 6.0)),
}
#: Anatomical Z (mm) of the lower edge of a PET/CT field of view (below the bladder and the
#: femoral heads); the field extends upwards from there (to the lower chest for 450 mm), its
#: centre at most at Z = −40 mm.
PET_Z_BOTTOM = -295.0


def pet_z_center(shape: Shape3, spacing: Vec3) -> float:
    """Anatomical Z (mm) of the volume centre: the field starts just below the bladder."""
    return float(min(-40.0, PET_Z_BOTTOM + shape[2] * spacing[2] / 2))

# tissue: (low, high) SUV drawn per case
_SUV: dict[int, tuple[float, float]] = {
    T.SKIN: (0.5, 0.8), T.SUBCUT_FAT: (0.25, 0.4), T.MUSCLE: (0.6, 0.9),
    T.VISCERAL_FAT: (0.3, 0.45), T.RETRO_FAT: (0.3, 0.45), T.CORTICAL: (0.3, 0.5),
    T.CANCELLOUS: (1.0, 1.5), T.DISC: (0.5, 0.8), T.CANAL: (0.5, 0.8), T.CARTILAGE: (0.3, 0.5),
    T.LUNG: (0.25, 0.4), T.LUNG_VESSEL: (1.2, 1.8), T.MYOCARDIUM: (1.0, 10.0),
    T.HEART_BLOOD: (1.5, 1.9), T.ARTERY: (1.5, 1.9), T.VEIN: (1.4, 1.8), T.PORTAL: (1.6, 2.0),
    T.HEPATIC_VEIN: (1.6, 2.0), T.LIVER: (2.0, 2.6), T.GALLBLADDER: (0.3, 0.6),
    T.SPLEEN: (1.6, 2.0), T.PANCREAS: (1.2, 1.7), T.KIDNEY_CORTEX: (3.0, 4.5),
    T.KIDNEY_MEDULLA: (3.5, 5.5), T.URINE: (8.0, 30.0), T.BLADDER_WALL: (2.0, 4.0),
    T.GI_WALL: (1.2, 2.8), T.GI_FLUID: (0.5, 0.9), T.GI_GAS: (0.0, 0.05),
    T.GI_CONTRAST: (0.5, 0.9), T.STOOL: (0.8, 2.0), T.ADRENAL: (1.2, 1.8),
    T.LYMPH_NODE: (1.0, 1.6), T.SMALL_VESSEL: (1.0, 1.5), T.PELVIC_ORGAN: (1.2, 2.0),
    T.MARROW_FAT: (0.5, 0.8), T.CALCIFICATION: (0.5, 1.0), T.CORTICAL_THIN: (0.6, 1.0),
}

_LESION_SITES = {"liver": 0.35, "lymph_node": 0.35, "lung": 0.15, "bone": 0.15}
_N_LESIONS_P = (0.08, 0.25, 0.25, 0.2, 0.13, 0.09)
_NODE_PATHS = ("aorta", "ivc", "iliac_artery_left", "iliac_artery_right", "smv",
               "iliac_vein_left", "iliac_vein_right")


def suv_table(rng: np.random.Generator) -> np.ndarray:
    """Per-case SUV of every tissue class (float32 table of 256); the bladder and renal
    collecting system share the urine value."""
    table = np.zeros(256, np.float32)
    for tissue, (lo, hi) in _SUV.items():
        table[tissue] = float(rng.uniform(lo, hi))
    table[T.URINE] = float(np.exp(rng.uniform(np.log(8.0), np.log(25.0))))
    return table


def _pet_lesion_plan(rng: np.random.Generator, n: int) -> list[tuple[str, float, float]]:
    """(site, diameter mm, true SUVmax) for ``n`` lesions."""
    sites = list(_LESION_SITES)
    p = np.array(list(_LESION_SITES.values()))
    out = []
    for _ in range(n):
        site = sites[int(rng.choice(len(sites), p=p / p.sum()))]
        d = float(np.exp(rng.uniform(np.log(12.0), np.log(45.0))))
        if site == "lung":
            d = min(d, 28.0)
        suv = float(np.exp(rng.uniform(np.log(4.0), np.log(20.0))))
        out.append((site, d, suv))
    return out


def _node_host(t: Torso, rng: np.random.Generator, d: float) -> tuple[Box, np.ndarray] | None:
    """A small host region in the fat beside a vessel (para-aortic, iliac, mesenteric)."""
    names = [n for n in _NODE_PATHS if n in t.paths]
    for _ in range(12):
        path = t.paths[names[int(rng.integers(len(names)))]]
        p = path[int(rng.integers(len(path)))]
        side = rng.normal(size=3) * np.array([1.0, 1.0, 0.15])
        p = p + side / np.linalg.norm(side) * (12.0 + d / 2)
        box = t.box(p - 4.0, p + 4.0)
        if box.empty:
            continue
        fat = class_lut([T.VISCERAL_FAT, T.RETRO_FAT, T.LYMPH_NODE])[t.tissue[box.sl]]
        if fat.mean() > 0.5:
            return box, fat
    return None


def _add_pet_lesions(t: Torso, hu: np.ndarray, suv: np.ndarray, mean_hu: np.ndarray,
                     table: np.ndarray, rng: np.random.Generator, n: int
                     ) -> tuple[np.ndarray, list[dict]]:
    """Place lesions, write their HU into ``hu`` and SUV into ``suv``; label map + records."""
    label = np.zeros(t.frame.shape, np.uint8)
    blocked = np.zeros(t.frame.shape, bool)  # lesions and a one-voxel gap around them
    records: list[dict] = []
    avoid: list[tuple[np.ndarray, float]] = []
    dmin = max(12.0, min_lesion_diameter(t.frame.anat_spacing))
    boxes = organ_boxes(t)
    fat = class_lut([T.VISCERAL_FAT, T.RETRO_FAT, T.LYMPH_NODE, T.SMALL_VESSEL])
    bone = class_lut([T.CANCELLOUS, T.CORTICAL, T.CORTICAL_THIN])
    lung = class_lut([T.LUNG, T.LUNG_VESSEL])
    for site, d, suv_max in _pet_lesion_plan(rng, n):
        d = max(d, dmin)
        if site == "lymph_node":
            found = _node_host(t, rng, d)
            if found is None:
                continue
            hbox, host = found
            depth = (0.0, 50.0)
            organ_value = ORGAN_LABELS["lymph_node"]

            def grow(box: Box) -> np.ndarray:
                return fat[t.tissue[box.sl]] & ~blocked[box.sl]
        else:
            organ_value = ORGAN_LABELS[site]
            hbox = boxes.get(organ_value)
            if hbox is None:
                continue
            host = t.organs[hbox.sl] == organ_value
            if site == "bone":  # vertebral bodies and pelvis: cancellous bone
                host &= t.tissue[hbox.sl] == T.CANCELLOUS
            host &= ~blocked[hbox.sl]
            if host.sum() < 20:
                continue
            depth = {"liver": (0.4, 1.2), "lung": (0.6, 2.0), "bone": (0.0, 1.0)}[site]
            allowed = {"liver": None, "lung": lung, "bone": bone}[site]

            def grow(box: Box, v: int = organ_value, allowed=allowed) -> np.ndarray:
                g = t.organs[box.sl] == v
                if allowed is not None:
                    g &= allowed[t.tissue[box.sl]]
                return g & ~blocked[box.sl]

        placed = place_lesion(t, host, hbox, grow, rng, d, depth, float(rng.uniform(0.1, 0.25)),
                              0.25, avoid, min_fill=0.6)
        if placed is None:
            continue
        suv_max = max(suv_max, 2.0 * float(table[T.LIVER]))
        kind = _write_pet_lesion(t, hu, suv, mean_hu, table, placed, site, suv_max, rng)
        label[placed.box.sl][placed.mask] = 1
        blocked[placed.box.sl] |= ndimage.binary_dilation(placed.mask)
        t.organs[placed.box.sl][placed.mask] = organ_value
        avoid.append((placed.center, placed.diameter_mm / 2))
        records.append({
            "organ": site, "kind": kind,
            "diameter_mm": round(placed.diameter_mm * t.frame.scale, 2),
            "suv_max": round(suv_max, 2), "voxels": placed.voxels,
            "center_offset_mm": [round(float(v), 2) for v in t.frame.to_world_offset(
                placed.center)],
        })
    return label, records


def _write_pet_lesion(t: Torso, hu: np.ndarray, suv: np.ndarray, mean_hu: np.ndarray,
                      table: np.ndarray, p: PlacedLesion, site: str, suv_max: float,
                      rng: np.random.Generator) -> str:
    """Heterogeneous uptake (necrotic centre when large) and the lesion's CT appearance."""
    m = p.mask
    r = p.diameter_mm / 2
    het = np.clip(0.75 + 0.25 * p.box.field(max(3.0, r / 2), rng), 0.4, 1.0)
    uptake = np.float32(suv_max) * het
    necrotic = r > 12 and rng.uniform() < 0.5
    if necrotic:
        core = p.depth > 0.55 * float(p.depth.max())
        uptake = np.where(core, np.float32(rng.uniform(0.5, 1.5)), uptake)
    sub = suv[p.box.sl]
    sub[m] = uptake[m]
    h = hu[p.box.sl]
    if site == "liver":
        h[m] = mean_hu[T.LIVER] - float(rng.uniform(35, 60))
        kind = "necrotic" if necrotic else "hypo"
    elif site == "lymph_node":
        h[m] = float(rng.uniform(30, 50)) + (0.0 if not necrotic else -20.0)
        kind = "node"
    elif site == "lung":
        h[m] = float(rng.uniform(20, 45))
        kind = "nodule"
    else:
        kind = ("lytic", "sclerotic", "occult")[int(rng.integers(3))]
        if kind == "lytic":
            h[m] = float(rng.uniform(20, 60))
        elif kind == "sclerotic":
            h[m] = float(rng.uniform(500, 900))
    if site in ("liver", "lymph_node", "lung"):
        h[m] += (np.float32(5.0) * p.box.field(4.0, rng))[m]
    return kind


def make_pet_ct(
    seed: int,
    name: str = "case_000",
    shape: Shape3 | None = None,
    spacing: Vec3 = (2.0, 2.0, 3.0),
    n_lesions: int | None = None,
) -> PhantomCase:
    """One synthetic FDG PET/CT case: channels CT (``_0000``) and PET in SUV (``_0001``).

    Args:
        seed: the patient; same seed and arguments → byte-identical arrays.
        name: case identifier.
        shape: voxels (i, j, k); None → ``PET_SIZES["full"]`` (200 × 200 × 150).
        spacing: voxel size in mm; both channels share the grid.
        n_lesions: 0–5 (None draws it); fewer when sites are out of the field of view.

    Returns:
        A :class:`PhantomCase` with ``channels=(ct, pet)``, the lesion label (uint8, 1),
        ``extras["organs"]`` and ``info`` (lesions, seed, phase, SUV of liver and blood pool…).
    """
    if shape is None:
        shape = PET_SIZES["full"][0]
    shape = tuple(int(n) for n in shape)  # type: ignore[assignment]
    if len(shape) != 3 or min(shape) < 8:
        raise ValueError(f"shape must be 3 sizes of at least 8 voxels, got {shape}")
    rng_case = sub_rng(seed, "pet-case")
    if n_lesions is None:
        n_lesions = int(rng_case.choice(6, p=np.array(_N_LESIONS_P)))
    if not 0 <= n_lesions <= 5:
        raise ValueError(f"n_lesions must be 0–5, got {n_lesions}")
    phase = "non-contrast" if rng_case.uniform() < 0.6 else "portal-venous"
    z_center = pet_z_center(shape, spacing)
    frame = build_frame(seed, shape, spacing, z_center)
    torso = build_torso(frame, seed)
    rng_img = sub_rng(seed, "pet-ct-image")
    mean, smooth, fine = hu_tables(phase, rng_img, min(1.0, 1.5 / frame.anat_spacing[0]))
    hu = form_ct_image(torso, mean, smooth, fine, rng_img)
    rng_pet = sub_rng(seed, "pet-image")
    table = suv_table(rng_pet)
    suv = table[torso.tissue]
    suv *= 1.0 + np.float32(0.1) * fast_smooth_field(frame.shape, frame.spacing, 20.0, rng_pet)
    colon = (torso.organs == ORGAN_LABELS["bowel"]) & (torso.tissue == T.GI_WALL)
    patchy = fast_smooth_field(frame.shape, frame.spacing, 25.0, rng_pet)
    suv[colon] *= np.clip(1.0 + 0.6 * patchy[colon], 0.5, 2.5)
    label, lesions = _add_pet_lesions(torso, hu, suv, mean, table, sub_rng(seed, "pet-lesions"),
                                      n_lesions)
    ct_img = scanner(hu, frame.spacing, rng_img, float(rng_img.uniform(14, 24)))
    pet_img = pet_scanner(suv, frame.spacing, rng_pet, float(table[T.LIVER]))
    origin, direction = volume_geometry(frame, z_center + WORLD_Z_OF_L1L2)
    ct = Volume(ct_img, frame.spacing, origin, direction, modality="CT")
    pet = ct.with_array(pet_img, modality="PT")
    centre = np.asarray(origin) + (np.array(frame.shape) - 1) / 2 * np.array(frame.spacing)
    for les in lesions:
        off = les.pop("center_offset_mm")
        les["center_mm"] = [round(float(c + o), 2) for c, o in zip(centre, off, strict=True)]
    info = {
        "seed": int(seed),
        "phase": phase,
        "channel_names": {"0": "CT", "1": "PET"},
        "habitus": round(torso.habitus, 3),
        "scale": round(frame.scale, 4),
        "suv_liver": round(float(table[T.LIVER]), 2),
        "suv_blood_pool": round(float(table[T.ARTERY]), 2),
        "suv_urine": round(float(table[T.URINE]), 2),
        "lesions": lesions,
        "organ_labels": dict(ORGAN_LABELS),
        "brain_in_fov": False,
    }
    return PhantomCase(name=name, channels=(ct, pet), label=ct.with_array(label, modality="SEG"),
                       extras={"organs": ct.with_array(torso.organs, modality="SEG")},
                       info=info)


def pet_scanner(suv: np.ndarray, spacing: Vec3, rng: np.random.Generator, liver_suv: float
                ) -> np.ndarray:
    """PET image formation: blur to 6–7 mm FWHM, then Poisson-like correlated noise whose
    variance grows with the local signal (liver coefficient of variation 8–15 %). SUV ≥ 0."""
    fwhm = float(rng.uniform(6.0, 7.0))
    img = partial_volume(suv, spacing, (fwhm, fwhm, fwhm))
    np.maximum(img, 0, out=img)
    cov = float(rng.uniform(0.08, 0.15))
    noise = rng.standard_normal(size=img.shape, dtype=np.float32)
    corr = [max(0.5, 4.0 / 2.3548 / s) for s in spacing]
    noise = ndimage.gaussian_filter(noise, corr, mode="wrap")
    noise /= np.float32(noise.std() or 1.0)
    img += noise * np.float32(cov) * np.sqrt(img * np.float32(liver_suv))
    np.maximum(img, 0, out=img)
    return img.astype(np.float32)


def save_example_montage(path: str | Path = "docs/phantom_pet-ct.png", seed: int = 3,
                         size: str = "full") -> Path:
    """Render the documentation montage: CT with the PET overlay and lesion contours."""
    from tumorseg.phantoms.montage import save_montage

    shape, spacing = PET_SIZES[size]
    case = make_pet_ct(seed, shape=shape, spacing=spacing, n_lesions=4)
    sites = ", ".join(f"{les['organ']} SUVmax {les['suv_max']}" for les in case.info["lesions"])
    return save_montage(case.channels[0], path, label=case.label, overlay=case.channels[1],
                        window="ct-abdomen", slices=lesion_slices(case.label.array),
                        title=f"pet-ct, seed {seed} (PET SUV overlay): {sites}")

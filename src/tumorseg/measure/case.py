"""Measure every lesion of a case: size, RECIST axes, position, intensity, SUV, organ.

:func:`measure_case` is the one entry point. Everything is computed on the volumes
reoriented to LPS (:func:`tumorseg.io.to_lps`; exact axis permutations and flips, no
interpolation), so the RECIST axial plane is the k plane; positions are reported in LPS mm
and bounding boxes also as voxel indices **of the input file's grid**.

Per lesion (:class:`LesionMeasurement`, units in the field names): voxels, volume (mL),
maximal 3D diameter and RECIST 1.1 long/short axes (mm, :mod:`tumorseg.measure.diameters`),
centroid (mean voxel centre, LPS mm), bounding box (voxel indices inclusive, and the LPS box
enclosing the whole voxel cubes in mm), image intensity statistics over the lesion's voxels
(HU for CT; the first channel of a multi-channel image), and when given: PET SUV statistics
(:mod:`tumorseg.measure.pet`), the organ (:mod:`tumorseg.measure.organs`) and the mean voxel
uncertainty.

Per case (:class:`CaseSummary`): lesion count, total volume, total MTV and TLG, and the
lesion spread Dmax: the largest distance between two lesion centroids (mm; 0 with fewer than
two lesions). An empty mask is a valid finding (no lesion): zero lesions, totals 0.

Lesions are numbered 1…n by decreasing volume (ties: by position).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cc3d
import numpy as np

from tumorseg.io import Volume, align_to_grid, to_lps
from tumorseg.measure.diameters import boundary_voxels, max_diameter_3d, recist_axes
from tumorseg.measure.instances import InstanceMode, lesion_instances
from tumorseg.measure.organs import OUTSIDE_ORGANS, majority_organ
from tumorseg.measure.pet import (
    SUV_PEAK_RADIUS_MM,
    pet_on_grid,
    pet_stats,
    sphere_kernel,
)

__all__ = ["CaseMeasurements", "CaseSummary", "LesionMeasurement", "measure_case"]

Point = tuple[float, float, float]


@dataclass(frozen=True)
class LesionMeasurement:
    """The numbers of one lesion (see the module docstring; None = not available)."""

    lesion_id: int
    mask_value: int
    voxels: int
    volume_ml: float
    max_diameter_3d_mm: float
    recist_long_mm: float
    recist_short_mm: float
    centroid_x_mm: float
    centroid_y_mm: float
    centroid_z_mm: float
    bbox_i0: int
    bbox_j0: int
    bbox_k0: int
    bbox_i1: int
    bbox_j1: int
    bbox_k1: int
    bbox_x0_mm: float
    bbox_y0_mm: float
    bbox_z0_mm: float
    bbox_x1_mm: float
    bbox_y1_mm: float
    bbox_z1_mm: float
    intensity_mean: float
    intensity_std: float
    intensity_min: float
    intensity_median: float
    intensity_max: float
    suv_max: float | None = None
    suv_mean: float | None = None
    suv_peak: float | None = None
    mtv_ml: float | None = None
    tlg: float | None = None
    organ_label: int | None = None
    organ_name: str | None = None
    organ_fraction: float | None = None
    mean_uncertainty: float | None = None
    #: RECIST end points in LPS mm: ((x, y, z), (x, y, z)) each (JSON only, not in the CSV).
    recist_long_points_mm: tuple[Point, Point] | None = field(default=None, repr=False)
    recist_short_points_mm: tuple[Point, Point] | None = field(default=None, repr=False)

    @property
    def centroid_mm(self) -> np.ndarray:
        """Centroid (x, y, z) in LPS mm."""
        return np.array([self.centroid_x_mm, self.centroid_y_mm, self.centroid_z_mm])

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-ready values (points as nested lists)."""
        d = asdict(self)
        for key in ("recist_long_points_mm", "recist_short_points_mm"):
            if d[key] is not None:
                d[key] = [list(p) for p in d[key]]
        return d


@dataclass(frozen=True)
class CaseSummary:
    """Per-case totals (see the module docstring)."""

    lesion_count: int
    total_volume_ml: float
    dmax_mm: float
    total_mtv_ml: float | None
    total_tlg: float | None
    instance_map: bool
    modality: str
    intensity_unit: str
    spacing_mm: tuple[float, float, float]
    pet_resampled: bool | None
    suv_peak_radius_mm: float | None


@dataclass(frozen=True)
class CaseMeasurements:
    """The result of :func:`measure_case`.

    ``image_lps`` is the image reoriented to LPS and ``lesions_lps`` a label map on that grid
    whose values are the lesion ids (for figures); ``pet_lps`` and ``uncertainty_lps`` are on
    it too when given. ``file_affine`` maps the image file's own voxel indices (homogeneous
    ``(i, j, k, 1)``) to LPS mm, so figures can name slices as the file numbers them.
    """

    lesions: list[LesionMeasurement]
    summary: CaseSummary
    image_lps: Volume
    lesions_lps: Volume
    pet_lps: Volume | None = None
    uncertainty_lps: Volume | None = None
    notes: tuple[str, ...] = ()
    file_affine: np.ndarray | None = None

    def file_slice(self, lps_index: Sequence[float], lps_axis: int) -> tuple[str, int]:
        """The image file's axis (``"i"``, ``"j"`` or ``"k"``) that runs closest to LPS grid
        axis ``lps_axis`` (0 i, 1 j, 2 k of ``image_lps``), and the file's index along it at
        the ``image_lps`` voxel ``lps_index``: the slice number a viewer of the file shows."""
        affine = self.image_lps.affine if self.file_affine is None else self.file_affine
        world = self.image_lps.index_to_world(np.asarray(lps_index, dtype=float))
        index = np.linalg.solve(affine, np.append(world, 1.0))[:3]
        axis_lps = self.image_lps.direction[:, lps_axis]
        file_dirs = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
        a = int(np.argmax(np.abs(axis_lps @ file_dirs)))
        return "ijk"[a], int(np.rint(index[a]))


def _stats(values: np.ndarray) -> dict[str, float]:
    v = values.astype(np.float64)
    return {"intensity_mean": float(v.mean()), "intensity_std": float(v.std()),
            "intensity_min": float(v.min()), "intensity_median": float(np.median(v)),
            "intensity_max": float(v.max())}


def _original_bbox(original: Volume, lps: Volume, lo: np.ndarray, hi: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Voxel box (inclusive) on ``original``'s grid of the LPS-grid box lo…hi."""
    corners = np.array([[(lo, hi)[c][a] for a, c in enumerate(bits)]
                        for bits in itertools.product((0, 1), repeat=3)], dtype=float)
    idx = np.rint(original.world_to_index(lps.index_to_world(corners))).astype(int)
    return idx.min(axis=0), idx.max(axis=0)


def _dmax(centroids: list[np.ndarray]) -> float:
    if len(centroids) < 2:
        return 0.0
    c = np.asarray(centroids)
    return float(np.sqrt(((c[:, None] - c[None]) ** 2).sum(-1)).max())


def measure_case(
    image: Volume,
    mask: Volume,
    pet: Volume | None = None,
    organs: Volume | None = None,
    organ_names: Mapping[int, str] | None = None,
    uncertainty: Volume | None = None,
    instances: InstanceMode = "auto",
    connectivity: int = 26,
) -> CaseMeasurements:
    """Measure every lesion of ``mask`` on ``image`` (see the module docstring).

    Args:
        image: the scan (CT in HU, MR, or PET); its first channel when multi-channel.
        mask: lesion mask on the image's exact grid (binary, semantic or instance map).
        pet: SUV volume; resampled linearly onto the mask's grid when its grid differs.
        organs: organ label map on the mask's voxel grid (axis order and signs may differ).
        organ_names: organ label → name.
        uncertainty: voxel uncertainty (0–1) on the mask's grid.
        instances: how lesions are told apart (:mod:`tumorseg.measure.instances`).
        connectivity: 6, 18 or 26, for connected components.

    Raises:
        GeometryMismatchError: the mask, organs or uncertainty are on another grid.
    """
    image = image.channel(0) if image.is_multichannel else image
    # the same lattice stored in another axis order or sign (a flipped save) is rearranged
    mask = align_to_grid(mask, image, mask.source or "mask", image.source or "image")
    notes: list[str] = []
    if uncertainty is not None:
        uncertainty = align_to_grid(uncertainty, mask, uncertainty.source or "uncertainty",
                                    mask.source or "mask")
    if organs is not None:
        organs = align_to_grid(organs, mask)
    pet_resampled = None
    pet_inside = None  # voxels inside the PET's field of view (None: all of them)
    if pet is not None:
        pet = pet.channel(0) if pet.is_multichannel else pet
        pet, covered = pet_on_grid(pet, mask)
        pet_resampled = covered is not None
        if covered is not None:
            notes.append("the PET grid differs from the mask's: PET resampled onto the mask "
                         "grid (SimpleITK linear interpolation)")
            pet_inside = to_lps(mask.with_array(covered)).array
    img = to_lps(image)
    msk = to_lps(mask)
    pet_l = None if pet is None else to_lps(pet)
    org_l = None if organs is None else to_lps(organs)
    unc_l = None if uncertainty is None else to_lps(uncertainty)
    inst, is_instance_map = lesion_instances(msk.array, instances, connectivity)
    spacing = np.asarray(msk.spacing)
    m = msk.direction @ np.diag(spacing)
    half_voxel = 0.5 * np.abs(m).sum(axis=1)
    kernel_pad = np.array(sphere_kernel(spacing).shape) // 2
    n = int(inst.max())
    raw: list[tuple[tuple[int, int, int], dict[str, Any], np.ndarray]] = []
    boxes = cc3d.statistics(inst)["bounding_boxes"] if n else []
    for lesion in range(1, n + 1):
        box = boxes[lesion]
        start = np.array([s.start for s in box])
        sub = inst[box] == lesion
        if not sub.any():
            continue
        idx = np.argwhere(sub) + start
        centroid = msk.index_to_world(idx.mean(axis=0))
        world = msk.index_to_world(boundary_voxels(sub) + start)
        lo_mm, hi_mm = world.min(axis=0) - half_voxel, world.max(axis=0) + half_voxel
        stop = np.array([s.stop - 1 for s in box])
        b0, b1 = _original_bbox(mask, msk, start, stop)
        values = dict(mask_value=int(np.bincount(msk.array[box][sub].astype(np.int64)).argmax()),
                      voxels=int(sub.sum()),
                      volume_ml=float(sub.sum()) * msk.voxel_volume_mm3 / 1000.0,
                      max_diameter_3d_mm=max_diameter_3d(sub, spacing))
        axes = recist_axes(sub, spacing)
        assert axes is not None
        k = axes.k + start[2]
        ends = [[(p[0] + start[0], p[1] + start[1], k) for p in pair]
                for pair in (axes.long_ij, axes.short_ij)]
        long_w, short_w = (tuple(tuple(map(float, p)) for p in msk.index_to_world(e))
                           for e in ends)
        values.update(recist_long_mm=axes.long_mm, recist_short_mm=axes.short_mm,
                      recist_long_points_mm=long_w, recist_short_points_mm=short_w)
        values.update(centroid_x_mm=float(centroid[0]), centroid_y_mm=float(centroid[1]),
                      centroid_z_mm=float(centroid[2]))
        values.update({f"bbox_{a}0": int(v) for a, v in zip("ijk", b0, strict=True)})
        values.update({f"bbox_{a}1": int(v) for a, v in zip("ijk", b1, strict=True)})
        values.update({f"bbox_{a}0_mm": float(v) for a, v in zip("xyz", lo_mm, strict=True)})
        values.update({f"bbox_{a}1_mm": float(v) for a, v in zip("xyz", hi_mm, strict=True)})
        values.update(_stats(img.array[box][sub]))
        outside = 0.0 if pet_inside is None else float(1.0 - pet_inside[box][sub].mean())
        if pet_l is not None and outside == 0.0:
            plo = np.maximum(start - kernel_pad, 0)
            phi = np.minimum(stop + kernel_pad + 1, msk.shape)
            pbox = tuple(slice(a, b) for a, b in zip(plo, phi, strict=True))
            s = pet_stats(pet_l.array[pbox], inst[pbox] == lesion, spacing)
            values.update(asdict(s))
        if org_l is not None:
            label, fraction = majority_organ(org_l.array[box], sub)
            names = dict(organ_names or {})
            values.update(organ_label=label, organ_fraction=fraction,
                          organ_name=names.get(label, f"label {label}") if label
                          else OUTSIDE_ORGANS)
        if unc_l is not None:
            values["mean_uncertainty"] = float(np.asarray(unc_l.array[box])[sub].mean())
        raw.append((tuple(int(v) for v in idx[0]), values, idx,  # type: ignore[arg-type]
                    outside))
    raw.sort(key=lambda r: (-r[1]["voxels"], r[0]))
    lesions: list[LesionMeasurement] = []
    ids = np.zeros(inst.shape, dtype=np.int32)
    for lesion_id, (_, values, idx, outside) in enumerate(raw, start=1):
        lesions.append(LesionMeasurement(lesion_id=lesion_id, **values))
        ids[tuple(idx.T)] = lesion_id
        if outside > 0.0:
            notes.append(f"lesion {lesion_id}: {100.0 * outside:.0f} % of its voxels lie "
                         "outside the PET's field of view: no SUV values for it (the case "
                         "totals of MTV and TLG leave it out)")
    has_pet = pet is not None
    summary = CaseSummary(
        lesion_count=len(lesions),
        total_volume_ml=float(sum(x.volume_ml for x in lesions)),
        dmax_mm=_dmax([x.centroid_mm for x in lesions]),
        total_mtv_ml=float(sum(x.mtv_ml or 0.0 for x in lesions)) if has_pet else None,
        total_tlg=float(sum(x.tlg or 0.0 for x in lesions)) if has_pet else None,
        instance_map=is_instance_map,
        modality=image.modality,
        intensity_unit="HU" if image.modality == "CT" else "",
        spacing_mm=tuple(float(s) for s in mask.spacing),  # type: ignore[arg-type]
        pet_resampled=pet_resampled,
        suv_peak_radius_mm=SUV_PEAK_RADIUS_MM if has_pet else None,
    )
    return CaseMeasurements(lesions, summary, img, msk.with_array(ids, modality="SEG"),
                            pet_l, unc_l, tuple(notes), file_affine=image.affine)

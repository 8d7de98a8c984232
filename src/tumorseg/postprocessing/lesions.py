"""The per-lesion table: one row per connected component of each label, written as CSV.

A lesion is a connected component (26-connected by default) of one label value; lesions
are numbered 1…n sorted by label, then by decreasing volume, then by first voxel.

CSV columns (:data:`LESION_COLUMNS`), one row per lesion:

=====================  =======================================================================
``lesion_id``          1…n, in the order above
``label``              label value; ``label_name`` its name (empty when unknown)
``voxels``             voxel count
``volume_ml``          voxels × voxel volume, in mL (1 mL = 1000 mm³)
``centroid_x_mm`` …    centre of mass of the voxel centres, LPS mm (``Volume.index_to_world``)
``bbox_i0`` … ``k1``   voxel bounding box, first and last index along i, j, k (**inclusive**)
``bbox_x0_mm`` …       LPS-axis-aligned box enclosing the lesion's voxels (whole voxel cubes,
                       not only their centres), min x/y/z then max x/y/z, in mm; exact for
                       oblique grids too
``mean_probability``   mean predicted probability of the lesion's own label over its voxels
                       (empty when no probabilities are given)
``mean_uncertainty``   mean voxel uncertainty (normalised entropy, 0–1) over its voxels
                       (empty when no uncertainty map is given)
=====================  =======================================================================
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import cc3d
import numpy as np

from tumorseg.io import Volume, atomic_write_text
from tumorseg.postprocessing.components import component_labels, label_components

__all__ = ["LESION_COLUMNS", "Lesion", "lesion_table", "lesion_table_csv", "write_lesion_table"]


@dataclass(frozen=True)
class Lesion:
    """One row of the lesion table (units in the field names; see the module docstring)."""

    lesion_id: int
    label: int
    label_name: str
    voxels: int
    volume_ml: float
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
    mean_probability: float | None = None
    mean_uncertainty: float | None = None

    @property
    def centroid_mm(self) -> np.ndarray:
        """Centroid (x, y, z) in LPS mm."""
        return np.array([self.centroid_x_mm, self.centroid_y_mm, self.centroid_z_mm])

    @property
    def bbox_voxels(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """First and last voxel index (inclusive) along i, j, k."""
        return ((self.bbox_i0, self.bbox_j0, self.bbox_k0),
                (self.bbox_i1, self.bbox_j1, self.bbox_k1))


#: Column names of the CSV, in order.
LESION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Lesion))


def _per_component_means(components: np.ndarray, n: int, counts: np.ndarray,
                         labels: np.ndarray, probabilities: np.ndarray | None,
                         uncertainty: np.ndarray | None
                         ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mean own-label probability and mean uncertainty per component (index 1…n)."""
    if probabilities is None and uncertainty is None:
        return None, None
    flat = components.reshape(-1)
    fg = np.flatnonzero(flat)
    comp = flat[fg]
    denom = np.maximum(counts, 1).astype(np.float64)
    mean_p = mean_u = None
    if probabilities is not None:
        lab = labels.reshape(-1)[fg].astype(np.intp)
        if lab.size and lab.max() >= probabilities.shape[0]:
            raise ValueError(f"label {int(lab.max())} has no probability channel "
                             f"({probabilities.shape[0]} channels)")
        p = probabilities.reshape(probabilities.shape[0], -1)[lab, fg]
        mean_p = np.bincount(comp, weights=p, minlength=n + 1) / denom
    if uncertainty is not None:
        u = uncertainty.reshape(-1)[fg]
        mean_u = np.bincount(comp, weights=u, minlength=n + 1) / denom
    return mean_p, mean_u


def _world_extent(mask: np.ndarray, start: Sequence[int], m: np.ndarray,
                  origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact min and max LPS coordinates (mm) of the voxel centres of ``mask`` (a crop whose
    first voxel has index ``start``) under ``p = origin + m @ ijk``.

    A linear function of k is extreme at a column's first or last voxel, so only those two
    voxels per (i, j) column are mapped: memory and time stay ~ the crop, not its voxels × 3.
    """
    present = mask.any(axis=2)
    ii, jj = np.nonzero(present)
    first = np.argmax(mask, axis=2)[ii, jj]
    last = mask.shape[2] - 1 - np.argmax(mask[:, :, ::-1], axis=2)[ii, jj]
    idx = np.concatenate([np.stack([ii, jj, first], axis=1), np.stack([ii, jj, last], axis=1)])
    world = (idx + np.asarray(start)) @ m.T + origin
    return world.min(axis=0), world.max(axis=0)


def lesion_table(labels: Volume, probabilities: Volume | None = None,
                 uncertainty: Volume | None = None,
                 label_names: Mapping[int, str] | None = None,
                 connectivity: int = 26) -> list[Lesion]:
    """Measure every lesion of ``labels`` (see the module docstring for the columns).

    Args:
        labels: integer label map on its grid (0 = background).
        probabilities: channel-first [c, i, j, k] class probabilities on the same grid
            (channel ``v`` = label value ``v``), or None.
        uncertainty: [i, j, k] voxel uncertainty on the same grid, or None.
        label_names: label value → name, for the ``label_name`` column.
        connectivity: 6, 18 or 26.

    Returns:
        One :class:`Lesion` per component, numbered as described above.
    """
    lab = np.asarray(labels.array)
    for other, what in ((probabilities, "probabilities"), (uncertainty, "uncertainty")):
        if other is not None and tuple(other.array.shape[-3:]) != lab.shape:
            raise ValueError(f"{what} of shape {other.array.shape} do not fit labels {lab.shape}")
    components, n = label_components(lab, connectivity)
    if n == 0:
        return []
    stats = cc3d.statistics(components)
    counts = np.asarray(stats["voxel_counts"], dtype=np.int64)
    centroids = np.asarray(stats["centroids"], dtype=float)
    boxes = stats["bounding_boxes"]
    owner = component_labels(components, lab, n)
    mean_p, mean_u = _per_component_means(
        components, n, counts, lab,
        None if probabilities is None else np.asarray(probabilities.array),
        None if uncertainty is None else np.asarray(uncertainty.array))
    m = labels.direction @ np.diag(labels.spacing)
    half_voxel = 0.5 * np.abs(m).sum(axis=1)  # LPS half-extent of one voxel cube
    names = dict(label_names or {})
    first_voxel = {}
    for c in range(1, n + 1):
        box = boxes[c]
        first_voxel[c] = tuple(s.start for s in box)
    order = sorted(range(1, n + 1), key=lambda c: (owner[c], -counts[c], first_voxel[c]))
    rows: list[Lesion] = []
    for lesion_id, c in enumerate(order, start=1):
        box = boxes[c]
        lo, hi = _world_extent(components[box] == c, [s.start for s in box], m,
                               np.asarray(labels.origin))
        lo, hi = lo - half_voxel, hi + half_voxel
        centre = labels.index_to_world(centroids[c])
        rows.append(Lesion(
            lesion_id=lesion_id, label=int(owner[c]), label_name=names.get(int(owner[c]), ""),
            voxels=int(counts[c]), volume_ml=float(counts[c]) * labels.voxel_volume_mm3 / 1000.0,
            centroid_x_mm=float(centre[0]), centroid_y_mm=float(centre[1]),
            centroid_z_mm=float(centre[2]),
            bbox_i0=box[0].start, bbox_j0=box[1].start, bbox_k0=box[2].start,
            bbox_i1=box[0].stop - 1, bbox_j1=box[1].stop - 1, bbox_k1=box[2].stop - 1,
            bbox_x0_mm=float(lo[0]), bbox_y0_mm=float(lo[1]), bbox_z0_mm=float(lo[2]),
            bbox_x1_mm=float(hi[0]), bbox_y1_mm=float(hi[1]), bbox_z1_mm=float(hi[2]),
            mean_probability=None if mean_p is None else float(mean_p[c]),
            mean_uncertainty=None if mean_u is None else float(mean_u[c]),
        ))
    return rows


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"
    return str(value)


def lesion_table_csv(lesions: Sequence[Lesion]) -> str:
    """The CSV text of a lesion table (header line even when there are no lesions).

    Floats have 4 decimals (mm, mL, probabilities); values below 0.001 keep 6 significant
    digits; missing probabilities/uncertainties are empty cells.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LESION_COLUMNS)
    for lesion in lesions:
        writer.writerow([_fmt(v) for v in astuple(lesion)])
    return buf.getvalue()


def write_lesion_table(lesions: Sequence[Lesion], path: str | os.PathLike[str]) -> Path:
    """Write the lesion table to ``path`` atomically (temp file, then rename)."""
    return atomic_write_text(path, lesion_table_csv(lesions))

"""Restrict a lesion label map to an organ mask (e.g. TotalSegmentator's liver/kidneys).

The organ mask must be on the label map's grid. Which organ values count is chosen by
``organ_labels`` (default: every nonzero value). Holes in the organ mask are filled first
(3D), because organ segmentations often leave tumors out as holes.

Two modes:

* ``"drop"`` (default): each lesion component (per label, see
  :mod:`~tumorseg.postprocessing.components`) is kept whole when more than
  ``min_overlap`` of its voxels lie inside the organ, and removed otherwise. With the
  default ``min_overlap=0`` a lesion touching the organ by one voxel is kept, so tumors
  bulging beyond the organ outline are not cut.
* ``"mask"``: every lesion voxel outside the organ is set to 0 (lesions are cut at the
  organ outline).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import ndimage

from tumorseg.postprocessing.components import label_components

__all__ = ["OrganMode", "organ_region", "restrict_to_organ"]

OrganMode = Literal["drop", "mask"]


def organ_region(organ: np.ndarray, organ_labels: Sequence[int] | None = None,
                 fill_holes: bool = True) -> np.ndarray:
    """Boolean [i, j, k] mask of the organ voxels (values in ``organ_labels``, or nonzero)."""
    organ = np.asarray(organ)
    if organ_labels is None:
        region = organ != 0
    else:
        region = np.isin(organ, np.asarray(list(organ_labels)))
    if not fill_holes or not region.any():
        return region
    # fill holes inside the organ's bounding box (+1 voxel, so the outside stays connected)
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(region.any(axis=other))
        box.append(slice(max(int(idx[0]) - 1, 0), int(idx[-1]) + 2))
    out = region.copy()
    out[tuple(box)] = ndimage.binary_fill_holes(region[tuple(box)])
    return out


def restrict_to_organ(labels: np.ndarray, organ: np.ndarray,
                      organ_labels: Sequence[int] | None = None, mode: OrganMode = "drop",
                      min_overlap: float = 0.0, connectivity: int = 26,
                      fill_holes: bool = True) -> np.ndarray:
    """Remove lesions outside an organ (see the module docstring for the two modes).

    Args:
        labels: integer lesion label map [i, j, k]; not modified.
        organ: organ label map or mask of the same shape (same grid).
        organ_labels: organ values that count; None = every nonzero value.
        mode: "drop" whole components or "mask" voxels.
        min_overlap: "drop" mode: fraction of a component's voxels (0–1) that must lie
            strictly more than this inside the organ for it to be kept.
        connectivity: 6, 18 or 26 (components of "drop" mode).
        fill_holes: fill holes in the organ region first.

    Returns:
        A new label map.
    """
    labels = np.asarray(labels)
    organ = np.asarray(organ)
    if labels.shape != organ.shape:
        raise ValueError(f"organ mask of shape {organ.shape} does not fit labels {labels.shape}")
    if mode not in ("drop", "mask"):
        raise ValueError(f"mode must be 'drop' or 'mask', got {mode!r}")
    if not 0.0 <= min_overlap < 1.0:
        raise ValueError(f"min_overlap must be in [0, 1), got {min_overlap}")
    region = organ_region(organ, organ_labels, fill_holes)
    out = labels.copy()
    if mode == "mask":
        out[~region] = 0
        return out
    components, n = label_components(labels, connectivity)
    if n == 0:
        return out
    flat = components.reshape(-1)
    total = np.bincount(flat, minlength=n + 1)
    inside = np.bincount(flat, weights=region.reshape(-1), minlength=n + 1)
    fraction = inside / np.maximum(total, 1)
    drop = fraction <= min_overlap
    drop[0] = False
    if drop.any():
        out[drop[components]] = 0
    return out

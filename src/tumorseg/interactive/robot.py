"""The standard click robot: where a user would click, given the target and the current mask.

Used to evaluate every click-guided method with the same clicks (``tumorseg
evaluate-interactive``). Distances are Euclidean and in mm (the voxel ``spacing`` is taken into
account), so on anisotropic scans a click lands where the target is thickest in millimetres,
not in voxels. Arrays are ``[i, j, k]`` (see :mod:`tumorseg.io`); clicks are voxel indices.

- :func:`first_click`: the point of the target farthest from its boundary (maximum of the
  distance transform in mm; the volume border counts as boundary).
- :func:`next_click`: the farthest-inside point of the largest error region (by volume in mm³),
  positive when the region is a miss (false negative), negative when it is a false positive.

Error regions: false negatives and false positives are split into connected components
(26-connectivity) *separately*, so every region is either all miss or all false positive and
the click's sign is never ambiguous (a miss touching a false positive is two regions).

Ties are broken deterministically: among equally deep points, the one closest (in mm) to the
region's centroid, then the lowest index in C order; among equally large regions, the first
in cc3d's raster-scan numbering; a miss and a false positive of equal size: the miss.

Example:
    >>> import numpy as np
    >>> target = np.zeros((9, 9, 9), bool); target[2:7, 2:7, 2:7] = True
    >>> first_click(target, (1.0, 1.0, 1.0)).index
    (4, 4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.interactive.prompts import Click

__all__ = ["deepest_point", "first_click", "next_click"]

#: Distances within this many mm of the maximum count as a tie.
_TIE_MM = 1e-6


def _bbox(mask: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Tight bounding-box slices of ``mask``, or None when it is empty."""
    slices = ndimage.find_objects(mask.astype(np.uint8))
    return slices[0] if slices else None  # type: ignore[return-value]


def deepest_point(mask: np.ndarray, spacing: Sequence[float]) -> tuple[int, int, int]:
    """The voxel of ``mask`` farthest (Euclidean, in mm) from any voxel outside it.

    Voxels outside the array count as outside the mask (the volume border is boundary).
    Ties: closest to the mask's centroid in mm, then lowest C-order index.

    Args:
        mask: boolean array ``[i, j, k]``, not empty.
        spacing: voxel size in mm along i, j, k.

    Raises:
        ValueError: when ``mask`` is empty or not 3D.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3D mask, got shape {mask.shape}")
    box = _bbox(mask)
    if box is None:
        raise ValueError("the mask is empty: no point to click")
    crop = np.pad(mask[box], 1)  # the padding is outside: boundary
    dist = ndimage.distance_transform_edt(crop, sampling=tuple(float(s) for s in spacing))
    dist = dist[1:-1, 1:-1, 1:-1]
    best = np.argwhere(dist >= dist.max() - _TIE_MM)
    if len(best) > 1:
        sp = np.asarray(spacing, dtype=float)
        centroid = np.argwhere(mask[box]).mean(axis=0)
        d2 = (((best - centroid) * sp) ** 2).sum(axis=1)
        best = best[d2 <= d2.min() + _TIE_MM]  # argwhere is in C order: first is lowest
    offset = np.array([s.start for s in box])
    i, j, k = (best[0] + offset).tolist()
    return (int(i), int(j), int(k))


def first_click(target: np.ndarray, spacing: Sequence[float], lesion: int = 1) -> Click:
    """The robot's first click: a positive click at the point deepest inside ``target``.

    Args:
        target: boolean mask ``[i, j, k]`` of the object to segment (not empty).
        spacing: voxel size in mm along i, j, k.
        lesion: the lesion number the click is given for.
    """
    return Click(deepest_point(target, spacing), positive=True, lesion=lesion)


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """26-connected components of ``mask``: labels and voxel counts (index 0 = background)."""
    labels = cc3d.connected_components(mask.astype(np.uint8), connectivity=26)
    counts = np.bincount(labels.reshape(-1))
    return labels, counts


def next_click(pred: np.ndarray, target: np.ndarray, spacing: Sequence[float],
               lesion: int = 1) -> Click | None:
    """The robot's next click: deepest point of the largest error region, or None if perfect.

    Args:
        pred: boolean mask ``[i, j, k]`` the method predicts now.
        target: boolean reference mask on the same grid.
        spacing: voxel size in mm along i, j, k (uniform voxels: the largest region in mm³
            is the one with most voxels).
        lesion: the lesion number the click is given for.

    Returns:
        A positive click inside the largest missed region, a negative one inside the largest
        false-positive region (misses win ties), or None when ``pred`` equals ``target``.
    """
    pred = np.asarray(pred, dtype=bool)
    target = np.asarray(target, dtype=bool)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} differ in shape")
    box = _bbox(pred != target)
    if box is None:
        return None
    pred, target = pred[box], target[box]  # work on the errors' bounding box only
    best: tuple[int, bool, np.ndarray, int] | None = None  # (voxels, positive, labels, id)
    for errors, positive in ((target & ~pred, True), (pred & ~target, False)):
        if not errors.any():
            continue
        labels, counts = _components(errors)
        counts[0] = 0
        idx = int(np.argmax(counts))  # equal sizes: the first in cc3d's raster numbering
        if best is None or counts[idx] > best[0]:
            best = (int(counts[idx]), positive, labels, idx)
    assert best is not None
    _, positive, labels, idx = best
    offset = np.array([s.start for s in box])
    index = np.asarray(deepest_point(labels == idx, spacing)) + offset
    return Click(tuple(int(v) for v in index), positive=positive, lesion=lesion)  # type: ignore[arg-type]

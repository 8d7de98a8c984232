"""Binary masks: checks, bounding boxes, border voxels and dilation (fast, exact).

Every function takes arrays indexed ``[i, j, k]`` (see :mod:`tumorseg.io`); none mutates
its input. Non-zero voxels are foreground.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "Box",
    "as_mask",
    "border_voxels",
    "bounding_box",
    "check_pair",
    "check_spacing",
    "dilate",
    "union_box",
]

#: A box of array indices, one slice per axis (``stop`` exclusive).
Box = tuple[slice, ...]


def as_mask(array: np.ndarray) -> np.ndarray:
    """``array`` as a boolean mask (non-zero = foreground); a bool array is returned as is."""
    array = np.asarray(array)
    return array if array.dtype == bool else array != 0


def check_pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as 3D boolean masks; ``ValueError`` unless they are 3D of one shape."""
    pred, ref = as_mask(pred), as_mask(ref)
    if pred.ndim != 3 or pred.shape != ref.shape:
        raise ValueError(f"need two 3D masks of one shape, got {pred.shape} and {ref.shape}")
    return pred, ref


def check_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    """``spacing`` (mm, along i, j, k) as three positive finite floats, else ``ValueError``."""
    values = tuple(float(s) for s in np.asarray(spacing, dtype=float).reshape(-1))
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be 3 positive numbers (mm), got {spacing}")
    return values  # type: ignore[return-value]


def _extent(any_along: np.ndarray) -> tuple[int, int] | None:
    nz = np.flatnonzero(any_along)
    return None if nz.size == 0 else (int(nz[0]), int(nz[-1]) + 1)


def union_box(masks: Sequence[np.ndarray], margin: int = 0) -> Box | None:
    """Smallest box holding every non-zero voxel of ``masks``, grown by ``margin`` voxels.

    ``masks`` are arrays of one shape (any dtype; no full-size temporary is made). The box is
    clipped to the array. Returns ``None`` when all are empty.
    """
    shape = masks[0].shape
    box: list[slice] = []
    for axis in range(len(shape)):
        others = tuple(a for a in range(len(shape)) if a != axis)
        along = np.zeros(shape[axis], dtype=bool)
        for m in masks:
            along |= np.any(m, axis=others)
        ext = _extent(along)
        if ext is None:
            return None
        box.append(slice(max(ext[0] - margin, 0), min(ext[1] + margin, shape[axis])))
    return tuple(box)


def bounding_box(mask: np.ndarray, margin: int = 0) -> Box | None:
    """Smallest box holding the foreground of ``mask`` grown by ``margin``; ``None`` if empty."""
    return union_box([as_mask(mask)], margin)


def _edge(ndim: int, axis: int, index: slice | int) -> tuple[slice | int, ...]:
    sl: list[slice | int] = [slice(None)] * ndim
    sl[axis] = index
    return tuple(sl)


def border_voxels(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with at least one face neighbour (6-connectivity) in the background.

    Equal to ``mask ^ scipy.ndimage.binary_erosion(mask)`` (cross-shaped structuring element,
    voxels outside the array count as background): the edge definition of MONAI's
    ``get_mask_edges``, computed here with array shifts, about 5× faster.
    """
    m = as_mask(mask)
    interior = m.copy()
    nd = m.ndim
    for axis in range(nd):
        interior[_edge(nd, axis, slice(1, None))] &= m[_edge(nd, axis, slice(None, -1))]
        interior[_edge(nd, axis, slice(None, -1))] &= m[_edge(nd, axis, slice(1, None))]
        interior[_edge(nd, axis, 0)] = False
        interior[_edge(nd, axis, -1)] = False
    return m & ~interior


def _dilate_once(m: np.ndarray, connectivity: int) -> np.ndarray:
    nd = m.ndim
    head, tail = slice(1, None), slice(None, -1)
    if connectivity == 26:  # the cube is separable: grow one axis after the other
        out = m.copy()
        for axis in range(nd):
            src = out.copy()
            out[_edge(nd, axis, head)] |= src[_edge(nd, axis, tail)]
            out[_edge(nd, axis, tail)] |= src[_edge(nd, axis, head)]
        return out
    if connectivity == 6:
        out = m.copy()
        for axis in range(nd):
            out[_edge(nd, axis, head)] |= m[_edge(nd, axis, tail)]
            out[_edge(nd, axis, tail)] |= m[_edge(nd, axis, head)]
        return out
    return ndi.binary_dilation(m, structure=ndi.generate_binary_structure(nd, 2))


def dilate(mask: np.ndarray, connectivity: int = 26, iterations: int = 1) -> np.ndarray:
    """Binary dilation by ``iterations`` voxels (a new array; nothing grows past the array).

    Args:
        mask: 3D mask.
        connectivity: structuring element: 26 = 3×3×3 cube, 18 = cube without its 8 corners,
            6 = cross. Same result as ``scipy.ndimage.binary_dilation`` with
            ``generate_binary_structure(3, {26: 3, 18: 2, 6: 1}[connectivity])``.
        iterations: number of voxels to grow (0 returns a copy).
    """
    if connectivity not in (6, 18, 26):
        raise ValueError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    out = as_mask(mask).copy()
    for _ in range(int(iterations)):
        out = _dilate_once(out, connectivity)
    return out

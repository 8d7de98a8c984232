"""Exact reorientation (axis permutations and flips, no interpolation) between grids.

Two files often hold the same voxel lattice stored in different orders — a DICOM series
read top-down and a NIfTI label written with the row axis flipped, say. These functions
rearrange voxels without resampling so the arrays line up; anything that would need
interpolation raises :class:`~tumorseg.errors.GeometryMismatchError`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tumorseg.errors import GeometryMismatchError
from tumorseg.io.grid import grid_differences
from tumorseg.io.volume import Volume

__all__ = ["align_to_grid", "reorient", "to_lps"]


def reorient(volume: Volume, target_direction: np.ndarray) -> Volume:
    """Permute and flip ``volume``'s axes so its direction matrix is ``target_direction``.

    The physical position of every voxel is kept: origin moves to the new first voxel.
    Only possible when both directions are the same set of axes up to order and sign;
    otherwise raises :class:`GeometryMismatchError`.
    """
    d = volume.direction
    t = np.asarray(target_direction, dtype=float).reshape(3, 3)
    # m[a, b] = cos angle between source axis a and target axis b
    m = d.T @ t
    perm = np.abs(m).argmax(axis=0)  # source axis for each target axis
    if sorted(perm.tolist()) != [0, 1, 2] or not np.allclose(np.abs(m[perm, [0, 1, 2]]), 1,
                                                            atol=1e-4):
        raise GeometryMismatchError(
            f"{volume.source or 'volume'}: direction cannot be matched by flipping or permuting "
            "axes (an oblique difference needs resampling)"
        )
    signs = np.sign(m[perm, [0, 1, 2]])
    offset = 1 if volume.is_multichannel else 0
    arr = volume.array
    if offset:
        arr = arr.transpose(0, *(p + 1 for p in perm))
    else:
        arr = arr.transpose(*perm)
    spacing = tuple(volume.spacing[p] for p in perm)
    index0 = np.zeros(3)
    for b in range(3):
        if signs[b] < 0:
            arr = np.flip(arr, axis=b + offset)
            index0[perm[b]] = volume.shape[perm[b]] - 1
    origin = volume.index_to_world(index0)
    new_dir = d[:, perm] * signs
    return replace(volume, array=np.ascontiguousarray(arr), spacing=spacing,
                   origin=tuple(origin), direction=new_dir)


def to_lps(volume: Volume) -> Volume:
    """Reorient to the axis-aligned orientation closest to identity (i→L, j→P, k→S).

    For display and for comparing files stored in different orders. Oblique volumes keep
    their small rotation (the closest axis order and signs are chosen).
    """
    d = volume.direction
    perm = np.abs(d).argmax(axis=1)  # for each world axis, which array axis is closest
    if sorted(perm.tolist()) != [0, 1, 2]:
        return volume
    target = d[:, perm] * np.sign(d[[0, 1, 2], perm])
    if np.allclose(target, d):
        return volume
    return reorient(volume, target)


def align_to_grid(volume: Volume, reference: Volume, what: str | None = None,
                  what_reference: str | None = None) -> Volume:
    """Rearrange ``volume`` onto ``reference``'s grid exactly, or raise.

    Succeeds when both hold the same voxel lattice in a different axis order or sign
    (as the real DICOM series and its organ-label NIfTI do, or a mask saved flipped).
    Raises :class:`GeometryMismatchError` naming ``what`` (default ``volume.source``) and
    ``what_reference`` (default ``reference.source``) otherwise, ``volume``'s values first.
    """
    if not grid_differences(volume, reference):
        return volume
    try:
        moved = reorient(volume, reference.direction)
    except GeometryMismatchError:
        moved = volume
    diffs = grid_differences(moved, reference)
    if diffs:
        raise GeometryMismatchError(
            f"{what or volume.source or 'volume'}: grid differs from "
            f"{what_reference or reference.source or 'the reference'}: " + "; ".join(diffs)
        )
    return moved

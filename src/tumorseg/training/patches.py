"""Where to cut a training patch, and cutting it with padding (pure functions of arrays).

Placement follows nnU-Net's data loader. Along an axis of size ``s`` and patch size ``p``
(voxels): when ``s ≥ p`` the patch's first voxel ``L`` is uniform in ``[0, s - p]`` (the patch
lies inside the volume); when ``s < p`` the patch is centred and padded. A foreground patch
puts a random voxel of a random present label at the patch centre, shifted (clipped to the
same range) so it never leaves the volume more than a random patch would; the chosen voxel
always lies inside the patch.

Spatial augmentation needs context around the patch: :func:`region_size` gives the bigger
box to cut (same centre), which the augmentation rotates/scales and crops back to the patch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["choose_patch", "crop_with_padding", "region_size"]


def _lower_range(s: int, p: int) -> tuple[int, int]:
    if s >= p:
        return 0, s - p
    low = -((p - s) // 2)
    return low, low


def choose_patch(shape: Sequence[int], patch_size: Sequence[int], rng: np.random.Generator,
                 foreground: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """First voxel (i, j, k) of a patch of ``patch_size`` in a volume of ``shape``.

    Args:
        shape: spatial size of the volume (voxels).
        patch_size: spatial size of the patch (voxels).
        rng: the random generator (the only source of randomness).
        foreground: for a foreground patch, label value → int [n, 3] voxel indices (labels
            without voxels are skipped); None or no voxels at all: a random patch.

    Returns:
        int [3] lower corner; may be negative or run past ``shape`` (pad there).
    """
    ranges = [_lower_range(int(s), int(p)) for s, p in zip(shape, patch_size, strict=True)]
    present = [v for v, ijk in (foreground or {}).items() if len(ijk)]
    if present:
        voxels = foreground[present[int(rng.integers(len(present)))]]  # type: ignore[index]
        voxel = voxels[int(rng.integers(len(voxels)))]
        lower = [int(np.clip(int(v) - int(p) // 2, lo, hi))
                 for v, p, (lo, hi) in zip(voxel, patch_size, ranges, strict=True)]
    else:
        lower = [int(rng.integers(lo, hi + 1)) for lo, hi in ranges]
    return np.asarray(lower, dtype=np.int64)


def crop_with_padding(array: np.ndarray, lower: Sequence[int], size: Sequence[int],
                      pad_value: float = 0) -> np.ndarray:
    """The box ``[lower, lower + size)`` of ``array``'s last three axes, padded with
    ``pad_value`` where it leaves the array. Leading axes (channels) are kept.

    Returns:
        A new contiguous array (never a view of ``array``) of shape ``(*lead, *size)``.
    """
    spatial = array.shape[-3:]
    out = np.full((*array.shape[:-3], *[int(s) for s in size]), pad_value, dtype=array.dtype)
    src, dst = [], []
    for lo, n, s in zip(lower, size, spatial, strict=True):
        a, b = max(int(lo), 0), min(int(lo) + int(n), int(s))
        if b <= a:
            return out
        src.append(slice(a, b))
        dst.append(slice(a - int(lo), b - int(lo)))
    out[(..., *dst)] = array[(..., *src)]
    return out


def _rotated_extent(extent: np.ndarray, axis: int, angle: float) -> np.ndarray:
    a, b = [d for d in range(3) if d != axis]
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    out = extent.copy()
    out[a] = extent[a] * c + extent[b] * s
    out[b] = extent[a] * s + extent[b] * c
    return out


def region_size(patch_size: Sequence[int], rotation_deg: Sequence[float] = (0.0, 0.0, 0.0),
                scale: float = 0.0) -> tuple[int, int, int]:
    """Size of the box to cut so that rotating by up to ``rotation_deg`` about any one of the
    axes i, j, k, and zooming out by up to ``1 + scale``, keep the patch inside it (nnU-Net's
    ``get_patch_size``: rotations about several axes at once may reach slightly past it,
    where zeros are padded).

    The result is never smaller than the patch and differs from it by an even number of
    voxels per axis, so that a centred crop of the patch needs no interpolation.
    """
    patch = np.asarray(patch_size, dtype=float)
    extent = patch.copy()
    for axis, deg in enumerate(rotation_deg):
        for angle in np.linspace(0.0, math.radians(min(max(deg, 0.0), 90.0)), 16):
            extent = np.maximum(extent, _rotated_extent(patch, axis, angle))
    extent = extent * (1.0 + max(scale, 0.0))
    size = np.maximum(np.ceil(extent).astype(int), patch.astype(int))
    size += (size - patch.astype(int)) % 2
    return (int(size[0]), int(size[1]), int(size[2]))

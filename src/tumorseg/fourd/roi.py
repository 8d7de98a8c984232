"""Regions of interest around the tumor: boxes in voxel indices, SimpleITK crops that keep
their patient position, and binning to a coarser working grid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk

from tumorseg.io import Volume

__all__ = ["Box3", "box_around", "box_touches_edge", "crop_sitk", "working_image"]

Box3 = tuple[slice, slice, slice]


def box_around(mask: np.ndarray, spacing: Sequence[float], margin_mm: float) -> tuple[Box3, bool]:
    """The bounding box of ``mask`` (``[i, j, k]``) grown by ``margin_mm`` on every side,
    clipped to the array; returns (slices, True when the clipping cut the margin)."""
    idx = np.argwhere(mask)
    if idx.size == 0:
        raise ValueError("empty mask has no bounding box")
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    pad = np.ceil(margin_mm / np.asarray(spacing, dtype=float)).astype(int)
    a, b = lo - pad, hi + pad
    shape = np.asarray(mask.shape)
    clipped = bool(np.any(a < 0) or np.any(b > shape))
    a, b = np.maximum(a, 0), np.minimum(b, shape)
    box = (slice(int(a[0]), int(b[0])), slice(int(a[1]), int(b[1])), slice(int(a[2]), int(b[2])))
    return box, clipped


def box_touches_edge(mask: np.ndarray) -> bool:
    """True when ``mask`` has a voxel on any face of its array."""
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
                or mask[:, :, 0].any() or mask[:, :, -1].any())


def crop_sitk(volume: Volume, array: np.ndarray, box: Box3, dtype: type = np.float32
              ) -> sitk.Image:
    """``array[box]`` (on ``volume``'s grid) as a SimpleITK image placed where it lies in the
    patient (origin of the box's first voxel, same spacing and direction)."""
    sub = np.ascontiguousarray(array[box].astype(dtype, copy=False).transpose(2, 1, 0))
    image = sitk.GetImageFromArray(sub)
    image.SetSpacing(volume.spacing)
    lo = [s.start for s in box]
    image.SetOrigin(tuple(float(v) for v in volume.index_to_world(lo)))
    image.SetDirection(tuple(float(v) for v in volume.direction.reshape(-1)))
    return image


def working_image(image: sitk.Image, spacing_mm: float) -> sitk.Image:
    """Average ``image`` over blocks of whole voxels so its spacing is about ``spacing_mm``
    (never finer than it was): anti-aliased and cheap (``sitk.BinShrink``)."""
    factors = [max(1, round(spacing_mm / s)) for s in image.GetSpacing()]
    if all(f == 1 for f in factors):
        return image
    return sitk.BinShrink(image, factors)

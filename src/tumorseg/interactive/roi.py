"""Regions of interest: cut a box of the image out and resample it to the model grid, and back.

An :class:`Roi` is a box of ``size`` voxels starting at voxel ``lo`` of the image array (it
may stick out of the array; outside voxels repeat the nearest edge voxel), shown to the network
as ``shape`` voxels of the model spacing. Both grids share the box's extent in array index
space, so the mapping is exact for any direction matrix (the model grid is aligned with the
image axes; only the spacing changes): model voxel ``u`` along an axis has its centre at image
index ``lo + (u + 0.5) * size / shape - 0.5`` — the convention of
``torch.nn.functional.interpolate(..., align_corners=False)``, which does the resampling
(trilinear for images and probabilities, nearest for labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Roi", "extract", "make_roi", "paste_probability"]


@dataclass(frozen=True)
class Roi:
    """A box of the image array and its size on the model grid.

    Attributes:
        lo: first image index of the box along i, j, k (may be negative).
        size: box size in image voxels.
        shape: box size on the model grid (voxels).
    """

    lo: tuple[int, int, int]
    size: tuple[int, int, int]
    shape: tuple[int, int, int]

    @property
    def hi(self) -> tuple[int, int, int]:
        """One past the last image index of the box."""
        return tuple(a + n for a, n in zip(self.lo, self.size, strict=True))  # type: ignore[return-value]

    def to_model(self, index: Sequence[float]) -> tuple[float, float, float]:
        """Image index → model-grid index (fractional)."""
        return tuple((float(p) - a + 0.5) * m / n - 0.5 for p, a, n, m in
                     zip(index, self.lo, self.size, self.shape, strict=True))  # type: ignore[return-value]

    def contains(self, index: Sequence[float], margin: float = 0.0) -> bool:
        """Whether an image index lies inside the box, at least ``margin`` (a fraction of the
        box size) from its faces."""
        return all(a + margin * n <= float(p) <= a + n - 1 - margin * n
                   for p, a, n in zip(index, self.lo, self.size, strict=True))

    def clipped(self, array_shape: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """Slices of the image array inside the box, and the same voxels in box coordinates."""
        img, box = [], []
        for a, n, total in zip(self.lo, self.size, array_shape, strict=True):
            s, e = max(a, 0), min(a + n, int(total))
            img.append(slice(s, max(s, e)))
            box.append(slice(s - a, max(s, e) - a))
        return tuple(img), tuple(box)


def make_roi(centre: Sequence[float], spacing: Sequence[float], model_spacing: Sequence[float],
             shape: Sequence[int]) -> Roi:
    """The box centred on image index ``centre`` covering ``shape × model_spacing`` mm."""
    size = tuple(max(1, round(m * ms / s)) for m, ms, s in
                 zip(shape, model_spacing, spacing, strict=True))
    lo = tuple(round(float(c) - n / 2.0 + 0.5) for c, n in zip(centre, size, strict=True))
    return Roi(lo, size, tuple(int(m) for m in shape))  # type: ignore[arg-type]


def _crop(array: np.ndarray, roi: Roi) -> np.ndarray:
    """The box's voxels (edge-replicated where it leaves the array); ``array`` may have leading
    channel axes."""
    lead = array.ndim - 3
    idx = [np.clip(np.arange(a, a + n), 0, total - 1) for a, n, total in
           zip(roi.lo, roi.size, array.shape[lead:], strict=True)]
    inside = all(i[0] == a and i[-1] == a + n - 1 for i, a, n in
                 zip(idx, roi.lo, roi.size, strict=True))
    if inside:
        return array[(Ellipsis, *(slice(a, a + n) for a, n in zip(roi.lo, roi.size, strict=True)))]
    return array[(Ellipsis, *np.ix_(*idx))]


def extract(array: np.ndarray, roi: Roi, label: bool = False) -> np.ndarray:
    """The box of ``array`` (``[i, j, k]`` or ``[c, i, j, k]``) on the model grid.

    Images are resampled trilinearly (float32); label maps (``label=True``) by nearest
    neighbour, keeping their dtype. Returns a new array.
    """
    crop = np.ascontiguousarray(_crop(array, roi))
    if tuple(crop.shape[-3:]) == tuple(roi.shape):
        return crop.astype(np.float32) if not label else crop.copy()
    t = torch.from_numpy(crop.astype(np.float32))
    t = t.reshape(-1, 1, *crop.shape[-3:]) if crop.ndim == 3 else t[None]
    if label:
        out = F.interpolate(t, size=roi.shape, mode="nearest-exact")
        res = out.numpy().reshape(*crop.shape[:-3], *roi.shape).astype(array.dtype)
        return res
    out = F.interpolate(t, size=roi.shape, mode="trilinear", align_corners=False)
    return out.numpy().reshape(*crop.shape[:-3], *roi.shape)


def paste_probability(prob: np.ndarray, roi: Roi, array_shape: Sequence[int]
                      ) -> tuple[tuple[slice, ...], np.ndarray]:
    """A model-grid probability back on the image grid, inside the array.

    Returns:
        ``(slices, values)``: the image-array slices the box covers (clipped to the array)
        and the probability there (float32, trilinear).
    """
    t = torch.from_numpy(np.ascontiguousarray(prob, dtype=np.float32))[None, None]
    if tuple(prob.shape) != tuple(roi.size):
        t = F.interpolate(t, size=roi.size, mode="trilinear", align_corners=False)
    full = t[0, 0].numpy()
    img, box = roi.clipped(array_shape)
    return img, full[box]

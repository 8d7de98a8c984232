"""Crop a volume to the bounding box of its nonzero voxels (as nnU-Net does) and paste back.

The nonzero mask is the union over channels of ``value != 0`` with holes filled, so that
e.g. air inside the body (exactly 0 in some MRI) does not split it. The crop box is recorded
in voxel indices of the original grid, so that a prediction on the cropped grid can be pasted
back exactly with :func:`paste`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from tumorseg.io import Volume

__all__ = ["CropBox", "crop_to_nonzero", "crop_volume", "nonzero_bbox", "nonzero_mask", "paste"]


@dataclass(frozen=True)
class CropBox:
    """A box of voxels ``[start, stop)`` per axis (i, j, k) inside a grid of ``full_shape``."""

    start: tuple[int, int, int]
    stop: tuple[int, int, int]
    full_shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        for name in ("start", "stop", "full_shape"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if not all(0 <= a < b <= n for a, b, n in
                   zip(self.start, self.stop, self.full_shape, strict=True)):
            raise ValueError(f"bad crop box {self.start}–{self.stop} in {self.full_shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Size of the box in voxels (i, j, k)."""
        return tuple(b - a for a, b in zip(self.start, self.stop, strict=True))  # type: ignore[return-value]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Index with ``array[..., *box.slices]`` to cut the box out."""
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop, strict=True))  # type: ignore[return-value]

    @property
    def is_full(self) -> bool:
        """True when the box is the whole grid (cropping changes nothing)."""
        return self.start == (0, 0, 0) and self.stop == self.full_shape

    @classmethod
    def full(cls, shape: tuple[int, int, int]) -> CropBox:
        """The box covering the whole grid."""
        return cls((0, 0, 0), tuple(shape), tuple(shape))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"start": list(self.start), "stop": list(self.stop),
                "full_shape": list(self.full_shape)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CropBox:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["start"]), tuple(d["stop"]), tuple(d["full_shape"]))


def nonzero_mask(array: np.ndarray) -> np.ndarray:
    """Voxels that are nonzero in any channel, holes filled; bool [i, j, k].

    ``array`` is [i, j, k] or channel-first [c, i, j, k]; it is not modified.
    """
    arr = np.asarray(array)
    mask = arr != 0 if arr.ndim == 3 else np.any(arr != 0, axis=0)
    return ndimage.binary_fill_holes(mask)


def nonzero_bbox(mask: np.ndarray) -> CropBox:
    """The tightest box around the True voxels of ``mask``; the whole grid when none is True."""
    shape = tuple(int(s) for s in mask.shape)
    if not mask.any():
        return CropBox.full(shape)  # type: ignore[arg-type]
    start, stop = [], []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(mask.any(axis=other))
        start.append(int(idx[0]))
        stop.append(int(idx[-1]) + 1)
    return CropBox(tuple(start), tuple(stop), shape)  # type: ignore[arg-type]


def crop_volume(volume: Volume, box: CropBox) -> Volume:
    """The part of ``volume`` inside ``box``, with its origin moved to the box's first voxel.

    Spacing and direction are unchanged; the array is a copy (contiguous).
    """
    if box.full_shape != volume.shape:
        raise ValueError(f"crop box for a {box.full_shape} grid used on a {volume.shape} volume")
    if box.is_full:
        return volume
    origin = volume.index_to_world(np.asarray(box.start, dtype=float))
    array = np.ascontiguousarray(volume.array[(..., *box.slices)])
    return Volume(array, spacing=volume.spacing, origin=origin,
                  direction=volume.direction.copy(), modality=volume.modality,
                  source=volume.source, channel_names=volume.channel_names)


def crop_to_nonzero(volume: Volume) -> tuple[Volume, CropBox, np.ndarray]:
    """Crop ``volume`` to the bounding box of :func:`nonzero_mask`.

    Returns:
        The cropped volume (a new object; ``volume`` is not modified), the crop box in the
        original grid's voxel indices, and the nonzero mask cut to the box (bool [i, j, k]).
    """
    mask = nonzero_mask(volume.array)
    box = nonzero_bbox(mask)
    return crop_volume(volume, box), box, mask[box.slices]


def paste(array: np.ndarray, box: CropBox, fill: float | np.ndarray = 0) -> np.ndarray:
    """Put ``array`` (box-shaped, [i, j, k] or [c, i, j, k]) back into a full-grid array.

    Voxels outside the box get ``fill``: a scalar, or for channel-first arrays one value per
    channel (e.g. ``[1, 0, 0]`` for probabilities whose channel 0 is background).
    Returns a new array of dtype ``array.dtype``.
    """
    array = np.asarray(array)
    if tuple(array.shape[-3:]) != box.shape:
        raise ValueError(f"array of shape {array.shape} does not fit crop box {box.shape}")
    lead = array.shape[:-3]
    out = np.empty((*lead, *box.full_shape), dtype=array.dtype)
    fill_arr = np.asarray(fill, dtype=array.dtype)
    if fill_arr.ndim == 1 and lead:
        out[...] = fill_arr.reshape(-1, 1, 1, 1)
    else:
        out[...] = fill_arr
    out[(..., *box.slices)] = array
    return out

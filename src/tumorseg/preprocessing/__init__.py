"""Preprocessing driven by a plan: crop to nonzero, normalise, resample — and back.

* :mod:`~tumorseg.preprocessing.crop`: nonzero bounding box, crop and paste back.
* :mod:`~tumorseg.preprocessing.normalize`: per-channel CT / z-score / SUV normalisation.
* :mod:`~tumorseg.preprocessing.resample`: to a target spacing, or onto a reference grid.
* :mod:`~tumorseg.preprocessing.pipeline`: :func:`preprocess_case` and
  :func:`restore_to_original`, the forward and inverse paths of a case.

Arrays are [i, j, k] or channel-first [c, i, j, k]; spacings in mm in the same order
(conventions in :mod:`tumorseg.io`).
"""

from __future__ import annotations

from tumorseg.preprocessing.crop import (
    CropBox,
    crop_to_nonzero,
    crop_volume,
    nonzero_bbox,
    nonzero_mask,
    paste,
)
from tumorseg.preprocessing.grid import Grid
from tumorseg.preprocessing.normalize import (
    SCHEMES,
    ChannelNormalization,
    ct_normalize,
    normalize,
    normalize_channel,
    zscore_normalize,
)
from tumorseg.preprocessing.pipeline import PreprocessedCase, preprocess_case, restore_to_original
from tumorseg.preprocessing.resample import (
    ResamplingConfig,
    anisotropic_axis,
    compute_new_shape,
    resample_array,
    resample_to_grid,
    resample_to_spacing,
)

__all__ = [
    "SCHEMES",
    "ChannelNormalization",
    "CropBox",
    "Grid",
    "PreprocessedCase",
    "ResamplingConfig",
    "anisotropic_axis",
    "compute_new_shape",
    "crop_to_nonzero",
    "crop_volume",
    "ct_normalize",
    "nonzero_bbox",
    "nonzero_mask",
    "normalize",
    "normalize_channel",
    "paste",
    "preprocess_case",
    "resample_array",
    "resample_to_grid",
    "resample_to_spacing",
    "restore_to_original",
    "zscore_normalize",
]

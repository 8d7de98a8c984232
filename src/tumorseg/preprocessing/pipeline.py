"""Preprocess a case as a plan says, and map predictions back onto the original grid.

Forward (:func:`preprocess_case`, nnU-Net's order): crop to the nonzero bounding box →
normalise each channel (:mod:`~tumorseg.preprocessing.normalize`) → resample image and label
to the plan's target spacing (:mod:`~tumorseg.preprocessing.resample`).

Inverse (:func:`restore_to_original`): resample the prediction from the preprocessed grid onto
the cropped grid (labels label-wise linear, probabilities linear) → paste into the original
size. The result's size, spacing, origin and direction are the input's, copied exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tumorseg.io import Volume, check_same_grid
from tumorseg.preprocessing.crop import CropBox, crop_to_nonzero, crop_volume, nonzero_mask, paste
from tumorseg.preprocessing.grid import Grid
from tumorseg.preprocessing.normalize import normalize
from tumorseg.preprocessing.resample import ResamplingConfig, resample_to_grid, resample_to_spacing

if TYPE_CHECKING:
    from tumorseg.planning.plan import Plan

__all__ = ["PreprocessedCase", "preprocess_case", "restore_to_original"]


@dataclass(frozen=True, eq=False)
class PreprocessedCase:
    """A case ready for the network, and what is needed to undo the preprocessing.

    Attributes:
        array: float32 [c, i, j, k], normalised, at the plan's target spacing.
        label: uint8 [i, j, k] on the same grid, or None.
        grid: the grid of ``array`` (target spacing; origin of the crop box's first voxel).
        original: the input's grid, exactly as it came.
        crop: the nonzero crop box in the original grid's voxel indices.
        cropped: the original grid restricted to ``crop`` (original spacing).
        resampling: the interpolation settings used (reused for the inverse).
        channel_names: input channel names.
        source: where the input was read from, if known.
    """

    array: np.ndarray
    label: np.ndarray | None
    grid: Grid
    original: Grid
    crop: CropBox
    cropped: Grid
    resampling: ResamplingConfig
    channel_names: tuple[str, ...] | None = None
    source: str | None = None

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size of ``array`` in mm (i, j, k)."""
        return self.grid.spacing

    def image_volume(self) -> Volume:
        """``array`` as a :class:`Volume` on :attr:`grid`."""
        return self.grid.volume(self.array, channel_names=self.channel_names,
                                source=self.source)

    def properties(self) -> dict[str, Any]:
        """JSON-ready inversion info (grids, crop box, resampling), e.g. to store beside
        preprocessed arrays on disk."""
        return {"grid": self.grid.to_dict(), "original": self.original.to_dict(),
                "crop": self.crop.to_dict(), "cropped": self.cropped.to_dict(),
                "resampling": self.resampling.to_dict(),
                "channel_names": None if self.channel_names is None else list(self.channel_names),
                "source": self.source}


def preprocess_case(volume: Volume, plan: Plan, label: Volume | None = None) -> PreprocessedCase:
    """Crop, normalise and resample ``volume`` (and ``label``) as ``plan`` says.

    Args:
        volume: the image, [i, j, k] (one channel) or channel-first [c, i, j, k] with the
            plan's channels in order. Not modified.
        plan: from :func:`tumorseg.planning.make_plan` (or ``Plan.load``).
        label: optional label map on the same grid (integer values).

    Raises:
        InputError: wrong number of channels, or a label on another grid.
    """
    from tumorseg.errors import InputError

    where = volume.source or "input volume"
    image = volume if volume.is_multichannel else volume.with_array(volume.array[None])
    if image.n_channels != len(plan.normalization):
        raise InputError(f"{where}: {image.n_channels} channel(s), the plan expects "
                         f"{len(plan.normalization)} ({', '.join(plan.channel_names)})")
    if label is not None:
        check_same_grid(volume, label, what_a=where, what_b=label.source or "label")
    original = Grid.of(volume)
    if plan.crop_to_nonzero:
        cropped, box, mask = crop_to_nonzero(image)
    else:
        cropped, box = image, CropBox.full(image.shape)
        mask = (nonzero_mask(image.array)
                if any(n.use_nonzero_mask for n in plan.normalization) else None)
    normalized = cropped.with_array(normalize(cropped.array, plan.normalization, mask))
    resampled = resample_to_spacing(normalized, plan.target_spacing, config=plan.resampling)
    out_label = None
    if label is not None:
        lab = crop_volume(label.with_array(np.asarray(label.array).astype(np.uint8)), box)
        out_label = resample_to_spacing(lab, plan.target_spacing, is_label=True,
                                        config=plan.resampling).array
    array = np.ascontiguousarray(resampled.array, dtype=np.float32)
    names = volume.channel_names or tuple(plan.channel_names)
    return PreprocessedCase(array=array, label=out_label, grid=Grid.of(resampled),
                            original=original, crop=box, cropped=Grid.of(cropped),
                            resampling=plan.resampling, channel_names=names,
                            source=volume.source)


def restore_to_original(prediction: np.ndarray | Volume, case: PreprocessedCase,
                        is_label: bool | None = None,
                        fill: float | np.ndarray | None = None) -> Volume:
    """Bring a prediction on the preprocessed grid back onto the input's original grid.

    Args:
        prediction: on ``case.grid``: a label map [i, j, k] (integer or bool), or
            probabilities / scores, [i, j, k] or channel-first [c, i, j, k] (float).
        case: what :func:`preprocess_case` returned for this input.
        is_label: treat as a label map (label-wise linear) or as continuous values (linear);
            None decides from the dtype (integer or bool → label map).
        fill: value outside the crop box; default 0 for label maps and single-channel
            values, and ``[1, 0, 0, …]`` (background certain) for multi-channel probabilities.

    Returns:
        A new :class:`Volume` whose size, spacing, origin and direction equal the original
        input's exactly: uint8 (or the input's integer dtype) labels, or float32 values.
    """
    array = prediction.array if isinstance(prediction, Volume) else np.asarray(prediction)
    if tuple(array.shape[-3:]) != case.grid.shape:
        raise ValueError(f"prediction of shape {array.shape} is not on the preprocessed grid "
                         f"{case.grid.shape}")
    if is_label is None:
        is_label = array.dtype == bool or np.issubdtype(array.dtype, np.integer)
    if is_label:
        if array.ndim != 3:
            raise ValueError("a label map must be [i, j, k]")
        if array.dtype == bool:
            array = array.astype(np.uint8)
        on_crop = resample_to_grid(case.grid.volume(array), case.cropped, is_label=True,
                                   config=case.resampling).array
        full = paste(on_crop, case.crop, 0 if fill is None else fill)
        return case.original.volume(full, modality="SEG", source=case.source)
    config = replace(case.resampling, order_image=1)
    values = case.grid.volume(array.astype(np.float32, copy=False))
    on_crop = resample_to_grid(values, case.cropped, config=config).array
    if fill is None:
        fill = (np.eye(1, array.shape[0], 0, dtype=np.float32)[0]
                if array.ndim == 4 and array.shape[0] > 1 else 0.0)
    full = paste(on_crop.astype(np.float32, copy=False), case.crop, fill)
    return case.original.volume(full, source=case.source)

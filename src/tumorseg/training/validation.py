"""Validation during training: loss and Dice per label on a fold's validation cases.

Two modes:

* :func:`validate_sliding` — sliding-window inference (MONAI, Gaussian weighting, overlap 0.5)
  over each whole preprocessed validation volume; true/false positives and false negatives
  summed over the cases, then one Dice per label (None when the label occurs in neither).
  Summing first keeps a lesion-free case from counting as Dice 0 (one false-positive voxel)
  or 1 (none) — with two validation cases either swamps the mean.
* :func:`validate_patches` — nnU-Net's "pseudo Dice": a few batches of patches (foreground
  oversampled, no augmentation); true/false positives and false negatives summed over every
  patch, then one Dice per label (None when a label never occurs in reference or prediction).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from monai.inferers import sliding_window_inference

from tumorseg.training.cache import CachedCase

__all__ = ["ValidationResult", "dice_per_label", "validate_patches", "validate_sliding"]


@dataclass(frozen=True)
class ValidationResult:
    """Validation summary.

    Attributes:
        loss: mean validation loss (the training loss on full-resolution output).
        dice: foreground label name → Dice (None when not measurable).
        mean_dice: mean over labels with a value (None when none has one).
        n_cases: cases (sliding) or batches (patches) evaluated.
    """

    loss: float | None
    dice: dict[str, float | None]
    mean_dice: float | None
    n_cases: int


def _confusion(pred: torch.Tensor, ref: torch.Tensor, values: Sequence[int]) -> np.ndarray:
    """int64 [labels, 3]: true positives, false positives, false negatives."""
    out = np.zeros((len(values), 3), dtype=np.int64)
    for n, v in enumerate(values):
        p, r = pred == v, ref == v
        out[n] = [int((p & r).sum()), int((p & ~r).sum()), int((~p & r).sum())]
    return out


def dice_per_label(pred: torch.Tensor | np.ndarray, ref: torch.Tensor | np.ndarray,
                   values: Sequence[int], empty: float | None = 1.0) -> list[float | None]:
    """Dice of label maps ``pred`` and ``ref`` for each label value; ``empty`` when the label
    is absent from both."""
    conf = _confusion(torch.as_tensor(np.asarray(pred)), torch.as_tensor(np.asarray(ref)),
                      values)
    return [_dice(tp, fp, fn, empty) for tp, fp, fn in conf]


def _dice(tp: int, fp: int, fn: int, empty: float | None) -> float | None:
    denom = 2 * tp + fp + fn
    return empty if denom == 0 else float(2.0 * tp / denom)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def validate_sliding(network: torch.nn.Module, cases: Sequence[CachedCase],
                     patch_size: Sequence[int], labels: Mapping[str, int], device: torch.device,
                     loss_fn: torch.nn.Module, amp: bool = False, sw_batch_size: int = 2,
                     overlap: float = 0.5) -> ValidationResult:
    """Sliding-window validation of ``network`` (its eval-mode output) on whole volumes.

    Args:
        network: the plain (not DDP-wrapped) network; switched to eval mode and back.
        cases: validation cases from the cache.
        patch_size: the window (the training patch), voxels.
        labels: label name → value (background included; Dice for the others).
        device: where to run; ``amp``: float16 autocast on CUDA.
        loss_fn: called as ``loss_fn(logits, label[None, None])``.
    """
    fg = {k: v for k, v in labels.items() if v != 0}
    was_training = network.training
    network.eval()
    losses = []
    conf = np.zeros((len(fg), 3), dtype=np.int64)
    try:
        with torch.inference_mode():
            for case in cases:
                image = torch.from_numpy(np.array(case.image()))[None].to(device)
                label = torch.from_numpy(np.array(case.label()).astype(np.int64))
                with _autocast(device, amp):
                    logits = sliding_window_inference(
                        image, roi_size=tuple(patch_size), sw_batch_size=sw_batch_size,
                        predictor=network, overlap=overlap, mode="gaussian")
                logits = torch.as_tensor(logits).as_subclass(torch.Tensor).float()
                target = label[None, None].to(logits.device)
                losses.append(float(loss_fn(logits, target)))
                pred = logits.argmax(1)[0].cpu()
                conf += _confusion(pred, label, list(fg.values()))
    finally:
        network.train(was_training)
    dice = {name: _dice(*conf[n], None) for n, name in enumerate(fg)}
    return ValidationResult(_mean(losses), dice, _mean(list(dice.values())), len(cases))


def validate_patches(network: torch.nn.Module, batches: Iterator[Mapping[str, torch.Tensor]],
                     iterations: int, labels: Mapping[str, int], device: torch.device,
                     loss_fn: torch.nn.Module, amp: bool = False) -> ValidationResult:
    """Pseudo-Dice validation on ``iterations`` batches ``{"image", "label"}`` (see the module
    docstring). ``network`` is switched to eval mode and back."""
    fg = {k: v for k, v in labels.items() if v != 0}
    was_training = network.training
    network.eval()
    conf = np.zeros((len(fg), 3), dtype=np.int64)
    losses = []
    try:
        with torch.inference_mode():
            for _ in range(iterations):
                batch = next(batches)
                image = batch["image"].to(device, non_blocking=True)
                label = batch["label"].to(device, non_blocking=True).long()
                with _autocast(device, amp):
                    logits = network(image)
                logits = logits.float()
                losses.append(float(loss_fn(logits, label)))
                conf += _confusion(logits.argmax(1, keepdim=True).cpu(), label.cpu(),
                                   list(fg.values()))
    finally:
        network.train(was_training)
    dice = {name: _dice(*conf[n], empty=None) for n, name in enumerate(fg)}
    return ValidationResult(_mean(losses), dice, _mean(list(dice.values())), iterations)

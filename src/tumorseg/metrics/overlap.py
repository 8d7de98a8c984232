"""Voxel-overlap metrics of one binary prediction against one binary reference.

Edge conventions (a ratio 0/0 is decided here, never left to a division warning):

=====================  ===========  ==================  ==================
metric                 both empty   reference empty     prediction empty
=====================  ===========  ==================  ==================
Dice, IoU              1            0                   0
precision              1            0                   NaN (undefined)
sensitivity (recall)   1            NaN (undefined)     0
false-negative rate    0            NaN (undefined)     1
false-positive rate    0            1                   NaN (undefined)
relative volume diff.  0            +inf                -1
=====================  ===========  ==================  ==================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tumorseg.metrics.masks import check_pair, check_spacing

__all__ = ["OverlapMetrics", "dice", "iou", "overlap_from_counts", "overlap_metrics"]

_NAN = math.nan


@dataclass(frozen=True)
class OverlapMetrics:
    """Overlap of a prediction with a reference (see the module docstring for empty masks).

    Attributes:
        tp_voxels, fp_voxels, fn_voxels: true-positive, false-positive and false-negative
            voxel counts.
        dice: 2·TP / (|pred| + |ref|).
        iou: TP / |pred ∪ ref| (Jaccard index).
        precision: TP / |pred| (positive predictive value).
        sensitivity: TP / |ref| (recall, true-positive rate).
        fnr: false-negative rate FN / |ref| (= 1 − sensitivity).
        fp_rate: false-positive voxel rate FP / |pred| (= 1 − precision; a false discovery
            rate, not 1 − specificity).
        volume_pred_ml, volume_ref_ml: volumes in mL (1 mL = 1000 mm³).
        abs_volume_diff_ml: ``|volume_pred_ml − volume_ref_ml|`` in mL.
        rel_volume_diff: (volume_pred − volume_ref) / volume_ref, signed, unitless.
    """

    tp_voxels: int
    fp_voxels: int
    fn_voxels: int
    dice: float
    iou: float
    precision: float
    sensitivity: float
    fnr: float
    fp_rate: float
    volume_pred_ml: float
    volume_ref_ml: float
    abs_volume_diff_ml: float
    rel_volume_diff: float


def _ratio(num: int, den: int, if_zero: float) -> float:
    """num / den, or ``if_zero`` (the convention value) when ``den`` is 0."""
    return num / den if den else if_zero


def overlap_from_counts(tp: int, fp: int, fn: int, voxel_volume_mm3: float) -> OverlapMetrics:
    """Overlap metrics from voxel counts and the volume of one voxel in mm³."""
    n_pred, n_ref = tp + fp, tp + fn
    both_empty = n_pred == 0 and n_ref == 0
    v_pred = n_pred * voxel_volume_mm3 / 1000.0
    v_ref = n_ref * voxel_volume_mm3 / 1000.0
    if n_ref:
        rel = (n_pred - n_ref) / n_ref
    else:
        rel = 0.0 if both_empty else math.inf
    return OverlapMetrics(
        tp_voxels=int(tp),
        fp_voxels=int(fp),
        fn_voxels=int(fn),
        dice=1.0 if both_empty else 2.0 * tp / (n_pred + n_ref),
        iou=1.0 if both_empty else tp / (tp + fp + fn),
        precision=_ratio(tp, n_pred, 1.0 if both_empty else _NAN),
        sensitivity=_ratio(tp, n_ref, 1.0 if both_empty else _NAN),
        fnr=_ratio(fn, n_ref, 0.0 if both_empty else _NAN),
        fp_rate=_ratio(fp, n_pred, 0.0 if both_empty else _NAN),
        volume_pred_ml=v_pred,
        volume_ref_ml=v_ref,
        abs_volume_diff_ml=abs(v_pred - v_ref),
        rel_volume_diff=rel,
    )


def overlap_metrics(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float]) -> OverlapMetrics:
    """Dice, IoU, precision, sensitivity, error rates and volumes of ``pred`` vs ``ref``.

    Args:
        pred: predicted 3D mask ``[i, j, k]`` (non-zero = foreground).
        ref: reference mask of the same shape.
        spacing: voxel size in mm along i, j, k (only volumes depend on it).

    Example:
        >>> a = np.zeros((4, 4, 4), bool); a[:2] = True
        >>> overlap_metrics(a, a, (1, 1, 2)).dice, overlap_metrics(a, a, (1, 1, 2)).volume_ref_ml
        (1.0, 0.064)
    """
    pred, ref = check_pair(pred, ref)
    spacing = check_spacing(spacing)
    n_pred, n_ref = int(np.count_nonzero(pred)), int(np.count_nonzero(ref))
    tp = int(np.count_nonzero(pred & ref)) if n_pred and n_ref else 0
    return overlap_from_counts(tp, n_pred - tp, n_ref - tp, math.prod(spacing))


def _counts(pred: np.ndarray, ref: np.ndarray) -> tuple[int, int, int]:
    pred, ref = check_pair(pred, ref)
    tp = int(np.count_nonzero(pred & ref))
    return tp, int(np.count_nonzero(pred)) - tp, int(np.count_nonzero(ref)) - tp


def dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """Dice coefficient 2·|pred ∩ ref| / (|pred| + |ref|); 1 when both are empty."""
    tp, fp, fn = _counts(pred, ref)
    return 1.0 if tp + fp + fn == 0 else 2.0 * tp / (2 * tp + fp + fn)


def iou(pred: np.ndarray, ref: np.ndarray) -> float:
    """Intersection over union |pred ∩ ref| / |pred ∪ ref|; 1 when both are empty."""
    tp, fp, fn = _counts(pred, ref)
    return 1.0 if tp + fp + fn == 0 else tp / (tp + fp + fn)

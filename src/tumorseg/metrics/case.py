"""All metrics of one case: per label value, overlap + surface + lesion-wise.

A label map holds integer labels (0 = background); every other value present in the
prediction or the reference is evaluated as a binary mask ``array == label`` (or the values
of ``MetricsConfig.labels``). A boolean mask is label 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tumorseg.metrics.config import MetricsConfig
from tumorseg.metrics.lesionwise import LesionwiseMetrics, lesion_metrics
from tumorseg.metrics.masks import check_spacing, union_box
from tumorseg.metrics.overlap import OverlapMetrics, overlap_metrics
from tumorseg.metrics.surface import SurfaceMetrics, surface_metrics

__all__ = ["CaseMetrics", "LabelMetrics", "evaluate_binary", "evaluate_labels", "labels_present"]


@dataclass(frozen=True)
class LabelMetrics:
    """Every metric of one label of one case.

    Attributes:
        label: the label value (1 for a binary mask).
        overlap: voxel-overlap metrics and volumes.
        surface: HD95, ASSD (mm) and NSD.
        lesions: lesion-wise metrics, or ``None`` when they were turned off.
    """

    label: int
    overlap: OverlapMetrics
    surface: SurfaceMetrics
    lesions: LesionwiseMetrics | None

    def as_row(self) -> dict[str, Any]:
        """The scalar metrics as one flat dict (column name → value), label first."""
        o, s = self.overlap, self.surface
        row: dict[str, Any] = {
            "label": self.label,
            "dice": o.dice, "iou": o.iou, "precision": o.precision,
            "sensitivity": o.sensitivity, "fnr": o.fnr, "fp_rate": o.fp_rate,
            "hd95_mm": s.hd95_mm, "assd_mm": s.assd_mm, "nsd": s.nsd,
            "volume_pred_ml": o.volume_pred_ml, "volume_ref_ml": o.volume_ref_ml,
            "abs_volume_diff_ml": o.abs_volume_diff_ml, "rel_volume_diff": o.rel_volume_diff,
            "tp_voxels": o.tp_voxels, "fp_voxels": o.fp_voxels, "fn_voxels": o.fn_voxels,
        }
        if self.lesions is not None:
            le = self.lesions
            row.update({
                "lesion_n_ref": le.n_ref_lesions, "lesion_n_pred": le.n_pred_lesions,
                "lesion_tp": le.tp, "lesion_fn": le.fn, "lesion_fp": le.fp,
                "lesion_sensitivity": le.sensitivity, "lesion_precision": le.precision,
                "lesionwise_dice": le.lesionwise_dice,
                "lesionwise_hd95_mm": le.lesionwise_hd95_mm,
            })
        return row


@dataclass(frozen=True)
class CaseMetrics:
    """The metrics of one case (a prediction/reference pair), one entry per label.

    Attributes:
        name: case name (file name without its image suffix).
        labels: per-label metrics, in increasing label order.
        spacing: voxel size in mm along i, j, k.
        pred_source, ref_source: where the prediction and the reference were read from.
    """

    name: str
    labels: tuple[LabelMetrics, ...]
    spacing: tuple[float, float, float]
    pred_source: str | None = None
    ref_source: str | None = None


def _label_values(array: np.ndarray) -> set[int]:
    """Non-zero values of a label map, read in slabs so that no full-size mask is made."""
    if array.dtype == bool:
        return {1} if array.any() else set()
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"label map must hold integers, got dtype {array.dtype}")
    found: set[int] = set()
    step = max(1, (1 << 22) // max(1, math.prod(array.shape[1:])))
    for start in range(0, array.shape[0], step):
        slab = array[start:start + step]
        values = slab[slab != 0]
        if values.size == 0:
            continue
        if np.issubdtype(values.dtype, np.floating):
            if not np.array_equal(values, np.round(values)):
                raise ValueError("label map has non-integer values (a probability map?)")
            values = values.astype(np.int64)
        if values.min() >= 0 and values.max() < 1 << 16:  # counting beats sorting
            found.update(int(v) for v in np.flatnonzero(np.bincount(values)))
        else:
            found.update(int(v) for v in np.unique(values))
    return found


def labels_present(pred: np.ndarray, ref: np.ndarray) -> list[int]:
    """Sorted non-zero label values found in ``pred`` or ``ref`` (bool arrays: label 1)."""
    return sorted(_label_values(np.asarray(pred)) | _label_values(np.asarray(ref)))


def evaluate_binary(
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float],
    config: MetricsConfig | None = None,
    label: int = 1,
    index_offset: Sequence[int] = (0, 0, 0),
) -> LabelMetrics:
    """Overlap, surface and (unless turned off) lesion-wise metrics of two binary masks.

    Args:
        pred: predicted 3D mask ``[i, j, k]`` (non-zero = foreground).
        ref: reference mask of the same shape.
        spacing: voxel size in mm along i, j, k.
        config: settings (:class:`MetricsConfig` defaults when ``None``).
        label: the label value recorded in the result.
        index_offset: where ``pred[0, 0, 0]`` lies in the whole image when the masks are a
            crop (lesion centroids are then indices of the whole image).
    """
    config = config or MetricsConfig()
    spacing = check_spacing(spacing)
    pred = np.asarray(pred)
    ref = np.asarray(ref)
    if pred.shape != ref.shape or pred.ndim != 3:
        raise ValueError(f"need two 3D masks of one shape, got {pred.shape} and {ref.shape}")
    pred = pred if pred.dtype == bool else pred != 0
    ref = ref if ref.dtype == bool else ref != 0
    margin = max(1, config.match_dilation_iterations + 1)
    box = union_box([pred, ref], margin=margin)
    offset = np.asarray(index_offset, dtype=int)
    if box is not None:  # every metric is unchanged by cropping (centroids are shifted back)
        pred, ref = pred[box], ref[box]
        offset = offset + [s.start for s in box]
    return LabelMetrics(
        label=int(label),
        overlap=overlap_metrics(pred, ref, spacing),
        surface=surface_metrics(pred, ref, spacing, config.nsd_tolerance_mm),
        lesions=(lesion_metrics(pred, ref, spacing, config, index_offset=tuple(offset))
                 if config.lesionwise else None),
    )


def evaluate_labels(
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float],
    config: MetricsConfig | None = None,
) -> list[LabelMetrics]:
    """Metrics for every label of two label maps (see the module docstring).

    Args:
        pred: predicted label map ``[i, j, k]`` (integers, 0 = background; bool = label 1).
        ref: reference label map of the same shape.
        spacing: voxel size in mm along i, j, k.
        config: settings; ``config.labels`` fixes the labels (a label absent from both maps
            then gets the both-empty values), else every label present in either is used
            (label 1, with the both-empty values, when both maps are empty).

    Returns:
        One :class:`LabelMetrics` per label, in increasing label order.

    Example:
        >>> ref = np.zeros((6, 6, 6), np.uint8); ref[1:3, 1:3, 1:3] = 1; ref[4, 4, 4] = 2
        >>> [m.label for m in evaluate_labels(ref, ref, (1.0, 1.0, 1.0))]
        [1, 2]
    """
    config = config or MetricsConfig()
    pred, ref = np.asarray(pred), np.asarray(ref)
    if pred.shape != ref.shape or pred.ndim != 3:
        raise ValueError(f"need two 3D label maps of one shape, got {pred.shape} and {ref.shape}")
    if pred.dtype == bool:
        pred = pred.view(np.uint8)
    if ref.dtype == bool:
        ref = ref.view(np.uint8)
    margin = max(1, config.match_dilation_iterations + 1)
    box = union_box([pred, ref], margin=margin)  # all labels lie inside: work in the crop
    offset = (0, 0, 0)
    if box is not None:
        pred, ref = pred[box], ref[box]
        offset = tuple(s.start for s in box)
    if config.labels is not None:
        labels = list(config.labels)
    elif box is None:
        labels = [1]  # both maps empty: a true negative case (Dice 1, HD95 0), not dropped
    else:
        labels = sorted(_label_values(pred) | _label_values(ref))
    return [evaluate_binary(pred == v, ref == v, spacing, config, label=v, index_offset=offset)
            for v in labels]

"""Evaluation metrics that tumour-segmentation papers report, in mm and mL.

Pure functions of numpy arrays indexed ``[i, j, k]`` with ``spacing`` in mm along i, j, k
(conventions of :mod:`tumorseg.io`), plus a thin file layer (:func:`evaluate_files`).
Argument order is always ``(pred, ref, spacing)``; non-zero voxels are foreground.

Modules, one idea each:

* :mod:`.overlap` — Dice, IoU, precision, sensitivity, FNR, FP rate, volumes (mL).
* :mod:`.surface` — HD95, ASSD (mm) and NSD: MONAI's border-voxel definitions, computed once
  per direction in the bounding box of pred ∪ ref.
* :mod:`.lesionwise` — connected-component detection counts and BraTS-2023 lesion-wise Dice
  and HD95, per-lesion table, sensitivity per size bin.
* :mod:`.case` — all of it per label of two label maps.
* :mod:`.summary`, :mod:`.report`, :mod:`.evaluate` — statistics over cases, CSV/JSON,
  files and folders.

Edge conventions (both masks empty / exactly one empty): Dice, IoU 1 / 0; NSD 1 / 0;
HD95, ASSD 0 / ∞ (as scikit-image's ``hausdorff_distance``); sensitivity, precision 1 / the
one with a zero denominator is NaN (undefined) and the other 0; FNR, FP rate 0 / NaN or 1.
Summaries leave NaN and ∞ out of the statistics and count them. Each module's docstring
gives the details.

Example:
    >>> import numpy as np
    >>> from tumorseg.metrics import evaluate_binary
    >>> ref = np.zeros((20, 20, 10), bool); ref[5:10, 5:10, 3:6] = True
    >>> m = evaluate_binary(np.roll(ref, 1, axis=0), ref, spacing=(0.8, 0.8, 2.5))
    >>> round(m.overlap.dice, 3), round(m.surface.hd95_mm, 3), m.lesions.tp
    (0.8, 0.8, 1)
"""

from __future__ import annotations

from tumorseg.metrics.case import (
    CaseMetrics,
    LabelMetrics,
    evaluate_binary,
    evaluate_labels,
    labels_present,
)
from tumorseg.metrics.config import DEFAULT_SIZE_BINS_MM, MetricsConfig
from tumorseg.metrics.evaluate import (
    CaseMatching,
    CasePair,
    EvaluationResult,
    UnmatchedCasesWarning,
    evaluate_files,
    evaluate_pair,
    match_cases,
)
from tumorseg.metrics.lesionwise import (
    LesionRecord,
    LesionwiseMetrics,
    SizeBinSensitivity,
    lesion_metrics,
)
from tumorseg.metrics.masks import border_voxels, bounding_box, dilate
from tumorseg.metrics.overlap import OverlapMetrics, dice, iou, overlap_metrics
from tumorseg.metrics.report import ReportPaths, write_reports
from tumorseg.metrics.sizes import equivalent_diameter_mm
from tumorseg.metrics.summary import PooledLesions, SummaryStats, summarize_values
from tumorseg.metrics.surface import (
    SurfaceDistances,
    SurfaceMetrics,
    average_symmetric_surface_distance,
    hausdorff_distance,
    normalized_surface_dice,
    surface_distances,
    surface_metrics,
)

__all__ = [
    "DEFAULT_SIZE_BINS_MM",
    "CaseMatching",
    "CaseMetrics",
    "CasePair",
    "EvaluationResult",
    "LabelMetrics",
    "LesionRecord",
    "LesionwiseMetrics",
    "MetricsConfig",
    "OverlapMetrics",
    "PooledLesions",
    "ReportPaths",
    "SizeBinSensitivity",
    "SummaryStats",
    "SurfaceDistances",
    "SurfaceMetrics",
    "UnmatchedCasesWarning",
    "average_symmetric_surface_distance",
    "border_voxels",
    "bounding_box",
    "dice",
    "dilate",
    "equivalent_diameter_mm",
    "evaluate_binary",
    "evaluate_files",
    "evaluate_labels",
    "evaluate_pair",
    "hausdorff_distance",
    "iou",
    "labels_present",
    "lesion_metrics",
    "match_cases",
    "normalized_surface_dice",
    "overlap_metrics",
    "summarize_values",
    "surface_distances",
    "surface_metrics",
    "write_reports",
]

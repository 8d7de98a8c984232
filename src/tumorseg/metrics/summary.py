"""Statistics over cases: per metric and label, and pooled lesion detection counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tumorseg.metrics.case import LabelMetrics

__all__ = ["PooledLesions", "SummaryStats", "pool_lesions", "summarize_rows", "summarize_values"]


@dataclass(frozen=True)
class SummaryStats:
    """Distribution of one metric over cases; non-finite values (NaN, ±inf) are left out.

    Attributes:
        count: number of finite values used.
        mean, median, min, max: in the metric's unit (NaN when ``count`` is 0).
        std: sample standard deviation (ddof = 1; NaN when ``count`` < 2).
        q1, q3: 25th and 75th percentiles (linear interpolation); ``iqr`` = q3 − q1.
        n_nonfinite: values left out because they are NaN or ±inf (e.g. an infinite HD95
            when one mask is empty, or an undefined sensitivity).
        n_inf: how many of those were ±inf.
    """

    count: int
    mean: float
    std: float
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    n_nonfinite: int
    n_inf: int


def summarize_values(values: Iterable[float]) -> SummaryStats:
    """Mean, std, median, quartiles, range and counts of the finite ``values``."""
    arr = np.asarray([float(v) for v in values], dtype=float)
    finite = arr[np.isfinite(arr)]
    n_inf = int(np.count_nonzero(np.isinf(arr)))
    n_bad = int(arr.size - finite.size)
    if finite.size == 0:
        nan = math.nan
        return SummaryStats(0, nan, nan, nan, nan, nan, nan, nan, nan, n_bad, n_inf)
    q1, median, q3 = (float(v) for v in np.percentile(finite, [25, 50, 75]))
    return SummaryStats(
        count=int(finite.size),
        mean=float(finite.mean()),
        std=float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
        median=median,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        min=float(finite.min()),
        max=float(finite.max()),
        n_nonfinite=n_bad,
        n_inf=n_inf,
    )


def summarize_rows(
    rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]
) -> dict[int, dict[str, SummaryStats]]:
    """Per label (``row["label"]``) and metric, the :class:`SummaryStats` over the rows.

    A metric missing from a row (e.g. lesion-wise metrics turned off) is skipped.
    """
    by_label: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_label.setdefault(int(row["label"]), []).append(row)
    return {
        label: {m: summarize_values(r[m] for r in group if m in r)
                for m in metrics if any(m in r for r in group)}
        for label, group in sorted(by_label.items())
    }


@dataclass(frozen=True)
class PooledLesions:
    """Lesion detection of one label pooled over cases (sums, then ratios).

    Attributes:
        n_cases: cases with this label evaluated lesion-wise.
        n_ref_lesions, tp, fn, fp, tp_pred: summed counts (see :class:`LesionwiseMetrics`).
        sensitivity: tp / n_ref_lesions over all cases (NaN without reference lesions).
        precision: tp_pred / (tp_pred + fp) over all cases (NaN without predicted lesions).
        fp_per_case: fp / n_cases.
        size_bins: per size bin, ``{"name", "lower_mm", "upper_mm", "n_lesions",
            "n_detected", "sensitivity"}`` summed over cases.
    """

    n_cases: int
    n_ref_lesions: int
    tp: int
    fn: int
    fp: int
    tp_pred: int
    sensitivity: float
    precision: float
    fp_per_case: float
    size_bins: tuple[dict[str, Any], ...]


def _pool(items: Sequence[LabelMetrics]) -> PooledLesions:
    les = [m.lesions for m in items if m.lesions is not None]
    n_ref = sum(x.n_ref_lesions for x in les)
    tp, fp, tp_pred = sum(x.tp for x in les), sum(x.fp for x in les), sum(x.tp_pred for x in les)
    bins: list[dict[str, Any]] = []
    if les:
        for n, b in enumerate(les[0].size_bins):
            lesions = sum(x.size_bins[n].n_lesions for x in les)
            found = sum(x.size_bins[n].n_detected for x in les)
            bins.append({"name": b.name, "lower_mm": b.lower_mm, "upper_mm": b.upper_mm,
                         "n_lesions": lesions, "n_detected": found,
                         "sensitivity": found / lesions if lesions else math.nan})
    return PooledLesions(
        n_cases=len(les),
        n_ref_lesions=n_ref,
        tp=tp,
        fn=n_ref - tp,
        fp=fp,
        tp_pred=tp_pred,
        sensitivity=tp / n_ref if n_ref else math.nan,
        precision=tp_pred / (tp_pred + fp) if tp_pred + fp else math.nan,
        fp_per_case=fp / len(les) if les else math.nan,
        size_bins=tuple(bins),
    )


def pool_lesions(items: Iterable[LabelMetrics]) -> dict[int, PooledLesions]:
    """Per label, lesion counts summed over cases (all :class:`LabelMetrics` of all cases)."""
    by_label: dict[int, list[LabelMetrics]] = {}
    for m in items:
        by_label.setdefault(m.label, []).append(m)
    return {label: _pool(group) for label, group in sorted(by_label.items())}

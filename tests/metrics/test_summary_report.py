"""Summary statistics and the CSV/JSON text."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from tests.metrics.shapes import SPACING, blob_pair
from tumorseg.metrics import CaseMetrics, MetricsConfig, evaluate_labels, summarize_values
from tumorseg.metrics.report import (
    CASE_COLUMNS,
    LESION_COLUMNS,
    case_rows,
    csv_text,
    json_text,
    lesion_rows,
    summary_dict,
)


def test_summary_leaves_out_and_counts_non_finite_values():
    s = summarize_values([1.0, 2.0, 3.0, math.nan, math.inf])
    assert (s.count, s.n_nonfinite, s.n_inf) == (3, 2, 1)
    assert (s.mean, s.median, s.q1, s.q3, s.iqr, s.min, s.max) == pytest.approx(
        (2.0, 2.0, 1.5, 2.5, 1.0, 1.0, 3.0))
    assert s.std == pytest.approx(1.0)  # sample standard deviation


def test_summary_of_nothing_is_nan():
    s = summarize_values([math.nan])
    assert s.count == 0 and s.n_nonfinite == 1 and math.isnan(s.mean) and math.isnan(s.std)
    assert math.isnan(summarize_values([4.0]).std)


def test_json_has_no_nan_or_infinity_literals():
    text = json_text({"a": math.nan, "b": [math.inf, -math.inf], "c": 1.5})
    assert json.loads(text) == {"a": None, "b": ["inf", "-inf"], "c": 1.5}


def _cases():
    out = []
    for seed in range(3):
        pred, ref = blob_pair(seed)
        out.append(CaseMetrics(f"case{seed}", tuple(evaluate_labels(pred, ref, SPACING)),
                               SPACING))
    return out


def test_tables_and_summary():
    cases = _cases()
    rows = list(csv.DictReader(io.StringIO(csv_text(case_rows(cases), CASE_COLUMNS))))
    assert [r["case"] for r in rows] == ["case0", "case1", "case2"]
    assert float(rows[1]["dice"]) == cases[1].labels[0].overlap.dice  # full precision
    lesions = list(csv.DictReader(io.StringIO(csv_text(lesion_rows(cases), LESION_COLUMNS))))
    n_lesions = sum(len(m.lesions.lesions) for c in cases for m in c.labels)
    assert len(lesions) == n_lesions and set(lesions[0]) == set(LESION_COLUMNS)

    summary = json.loads(json_text(summary_dict(cases, MetricsConfig(), {"tool": "x"})))
    assert summary["tool"] == "x" and summary["n_cases"] == 3
    dice = summary["labels"]["1"]["metrics"]["dice"]
    values = [c.labels[0].overlap.dice for c in cases]
    assert dice["mean"] == pytest.approx(sum(values) / 3) and dice["count"] == 3
    assert set(dice) == {"count", "mean", "std", "median", "q1", "q3", "iqr", "min", "max",
                         "n_nonfinite", "n_inf"}
    pooled = summary["labels"]["1"]["lesions_pooled"]
    assert pooled["tp"] == sum(c.labels[0].lesions.tp for c in cases)
    assert summary["config"]["size_bins_mm"][-1] == "inf"

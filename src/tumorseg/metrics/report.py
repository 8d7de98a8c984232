"""Result tables and summary as text: per-case CSV, per-lesion CSV, summary JSON.

CSV: one row per case × label (per-case) or per lesion (per-lesion); floats are written at
full precision, ``inf``/``nan`` as such. JSON: NaN becomes ``null`` and ±∞ the strings
``"inf"``/``"-inf"`` (plain JSON has neither). Writes are atomic.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.io import atomic_write_text
from tumorseg.metrics.case import CaseMetrics
from tumorseg.metrics.config import MetricsConfig
from tumorseg.metrics.summary import pool_lesions, summarize_rows

__all__ = [
    "CASE_COLUMNS",
    "LESION_COLUMNS",
    "ReportPaths",
    "case_rows",
    "csv_text",
    "json_text",
    "lesion_rows",
    "summary_dict",
    "write_reports",
]

#: Columns of the per-case CSV (lesion columns are empty when lesion-wise metrics are off).
CASE_COLUMNS: tuple[str, ...] = (
    "case", "label",
    "dice", "iou", "precision", "sensitivity", "fnr", "fp_rate",
    "hd95_mm", "assd_mm", "nsd",
    "volume_pred_ml", "volume_ref_ml", "abs_volume_diff_ml", "rel_volume_diff",
    "tp_voxels", "fp_voxels", "fn_voxels",
    "lesion_n_ref", "lesion_n_pred", "lesion_tp", "lesion_fn", "lesion_fp",
    "lesion_sensitivity", "lesion_precision", "lesionwise_dice", "lesionwise_hd95_mm",
)

#: Columns of the per-lesion CSV.
LESION_COLUMNS: tuple[str, ...] = (
    "case", "label", "kind", "lesion_id", "voxels", "volume_ml", "diameter_mm", "size_bin",
    "detected", "dice", "hd95_mm", "n_matched", "centroid_i", "centroid_j", "centroid_k",
)

#: Names of the files :func:`write_reports` writes in the output folder.
PER_CASE_CSV = "metrics_per_case.csv"
PER_LESION_CSV = "metrics_per_lesion.csv"
SUMMARY_JSON = "metrics_summary.json"


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_reports` wrote its three files."""

    per_case_csv: Path
    per_lesion_csv: Path
    summary_json: Path


def case_rows(cases: Sequence[CaseMetrics]) -> list[dict[str, Any]]:
    """One dict per case × label, keys from :data:`CASE_COLUMNS`."""
    return [{"case": c.name, **m.as_row()} for c in cases for m in c.labels]


def lesion_rows(cases: Sequence[CaseMetrics]) -> list[dict[str, Any]]:
    """One dict per reference lesion and per false-positive component, keys from
    :data:`LESION_COLUMNS`."""
    rows = []
    for c in cases:
        for m in c.labels:
            for les in m.lesions.lesions if m.lesions is not None else ():
                row = asdict(les)
                ci, cj, ck = row.pop("centroid_ijk")
                rows.append({"case": c.name, "label": m.label, **row,
                             "centroid_i": ci, "centroid_j": cj, "centroid_k": ck})
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text (header + rows) of ``rows`` with ``columns``; a missing key is an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return buf.getvalue()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return _jsonable(asdict(obj))
    if isinstance(obj, Path):
        return str(obj)
    return obj


def json_text(obj: Any) -> str:
    """Indented JSON of ``obj`` (dataclasses and paths allowed); NaN → null, ∞ → "inf"."""
    return json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n"


def summary_dict(
    cases: Sequence[CaseMetrics], config: MetricsConfig, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The summary: ``meta`` entries, the config, and per label the statistics of every
    per-case metric (:class:`SummaryStats`) plus lesion counts pooled over cases."""
    rows = case_rows(cases)
    metrics = [c for c in CASE_COLUMNS if c not in ("case", "label")]
    stats = summarize_rows(rows, metrics)
    pooled = pool_lesions(m for c in cases for m in c.labels)
    labels: dict[str, Any] = {}
    for label, per_metric in stats.items():
        entry: dict[str, Any] = {
            "n_cases": sum(1 for r in rows if r["label"] == label),
            "metrics": per_metric,
        }
        if label in pooled and pooled[label].n_cases:
            entry["lesions_pooled"] = pooled[label]
        labels[str(label)] = entry
    return {
        **(meta or {}),
        "config": config.to_dict(),
        "n_cases": len(cases),
        "cases": [c.name for c in cases],
        "labels": labels,
    }


def write_reports(
    cases: Sequence[CaseMetrics],
    out_dir: str | Path,
    config: MetricsConfig,
    meta: Mapping[str, Any] | None = None,
) -> ReportPaths:
    """Write the per-case CSV, per-lesion CSV and summary JSON into ``out_dir`` (atomically).

    Returns:
        The three paths (``metrics_per_case.csv``, ``metrics_per_lesion.csv``,
        ``metrics_summary.json``).
    """
    out = Path(out_dir)
    paths = ReportPaths(out / PER_CASE_CSV, out / PER_LESION_CSV, out / SUMMARY_JSON)
    atomic_write_text(paths.per_case_csv, csv_text(case_rows(cases), CASE_COLUMNS))
    atomic_write_text(paths.per_lesion_csv, csv_text(lesion_rows(cases), LESION_COLUMNS))
    atomic_write_text(paths.summary_json, json_text(summary_dict(cases, config, meta)))
    return paths

"""The per-epoch training log (``training_log.csv``), rewritten atomically after each epoch.

Columns: ``epoch`` (1-based), ``train_loss``, ``val_loss``, ``val_dice_<label>`` per
foreground label, ``val_dice_mean``, ``val_dice_ema`` (smoothed, used to pick the best
epoch), ``lr``, ``seconds`` (the whole epoch, validation included), ``iterations_per_s``
(training steps only). Empty cells mean "not measured" (e.g. a label absent from validation).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tumorseg.io import atomic_write_text

__all__ = ["log_columns", "read_training_log", "write_training_log"]


def log_columns(label_names: Sequence[str]) -> list[str]:
    """Column names for foreground labels ``label_names`` (background excluded)."""
    return ["epoch", "train_loss", "val_loss", *[f"val_dice_{n}" for n in label_names],
            "val_dice_mean", "val_dice_ema", "lr", "seconds", "iterations_per_s"]


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_training_log(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]],
                       label_names: Sequence[str]) -> Path:
    """Write ``rows`` (dicts keyed by :func:`log_columns`) as CSV, atomically."""
    columns = log_columns(label_names)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return atomic_write_text(path, buf.getvalue())


def read_training_log(path: str | os.PathLike[str]) -> list[dict[str, float | int | None]]:
    """Rows of a training log; numbers parsed (``epoch`` as int), empty cells as None."""
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, float | int | None] = {}
            for k, v in raw.items():
                row[k] = None if v in ("", None) else (int(v) if k == "epoch" else float(v))
            rows.append(row)
    return rows

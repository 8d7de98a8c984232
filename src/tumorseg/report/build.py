"""Write the report: ``NAME.html`` plus the same numbers as ``NAME.json`` and ``NAME.csv``.

The JSON is :func:`tumorseg.measure.measurements_doc` (identical lesion numbers to
``tumorseg measure``) with a ``model`` key added; the CSV is the measure CSV. All files are
written atomically; ``pdf=True`` prints the finished HTML to ``NAME.pdf`` with Chromium.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tumorseg import __version__
from tumorseg.io import atomic_write_text
from tumorseg.measure import CaseMeasurements, LesionMeasurement, measurements_csv
from tumorseg.measure import measurements_doc as _measurements_doc
from tumorseg.report.figures import lesion_views_png, mip_png, uncertainty_png
from tumorseg.report.html import ReportFigures, render_html
from tumorseg.report.model_info import model_rows
from tumorseg.report.pdf import html_to_pdf

__all__ = ["ReportPaths", "make_figures", "write_report"]

Progress = Callable[[Iterable[LesionMeasurement], int, str], Iterable[LesionMeasurement]]


@dataclass(frozen=True)
class ReportPaths:
    """Files written by :func:`write_report` (``pdf`` None unless asked for)."""

    html: Path
    json: Path
    csv: Path
    pdf: Path | None = None


def make_figures(result: CaseMeasurements, progress: Progress | None = None) -> ReportFigures:
    """Render the MIP, one view triplet per lesion, and the uncertainty projection."""
    lesions: Iterable[LesionMeasurement] = result.lesions
    if progress is not None:
        lesions = progress(result.lesions, len(result.lesions), "Drawing lesions")
    views = {x.lesion_id: lesion_views_png(result, x) for x in lesions}
    return ReportFigures(
        mip=mip_png(result), lesions=views,
        uncertainty=None if result.uncertainty_lps is None else uncertainty_png(result))


def _case_rows(result: CaseMeasurements, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    s = result.summary
    rows = [("image", str(inputs.get("image", "?"))), ("mask", str(inputs.get("mask", "?")))]
    for key in ("pet", "organs", "uncertainty"):
        if inputs.get(key):
            rows.append((key, str(inputs[key])))
    rows += [("modality", s.modality), ("voxel spacing", " × ".join(f"{v:g}" for v in
                                                                     s.spacing_mm) + " mm"),
             ("lesions are", "values of an instance map" if s.instance_map else
              "connected components of the mask"),
             ("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
              + f" by tumorseg {__version__}")]
    return rows


def write_report(result: CaseMeasurements, html_path: str | os.PathLike[str],
                 inputs: dict[str, Any], model: dict[str, Any] | None = None,
                 model_source: Path | None = None, pdf: bool = False,
                 progress: Progress | None = None) -> ReportPaths:
    """Write the HTML report and its JSON and CSV twins (and the PDF when ``pdf``).

    Args:
        result: the measurements (:func:`tumorseg.measure.measure_case`).
        html_path: the ``.html`` file; ``.json``/``.csv``/``.pdf`` go beside it.
        inputs: input paths for the record (keys image, mask, pet, organs, uncertainty).
        model: model information (a run manifest or any JSON object), or None.
        model_source: where ``model`` was read from.
        pdf: also print the HTML to PDF with headless Chromium.
        progress: wraps the per-lesion figure loop, e.g. a progress bar.
    """
    html_path = Path(html_path)
    figures = make_figures(result, progress)
    rows = model_rows(model)
    if model_source is not None:
        rows.append(("read from", str(model_source)))
    text = render_html(result, figures, _case_rows(result, inputs), rows, result.notes)
    doc = _measurements_doc(result, inputs)
    doc["tool"] = "tumorseg report"
    doc["model"] = model
    doc["model_source"] = None if model_source is None else str(model_source)
    json_path, csv_path = html_path.with_suffix(".json"), html_path.with_suffix(".csv")
    atomic_write_text(csv_path, measurements_csv(result))
    atomic_write_text(json_path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    atomic_write_text(html_path, text)
    pdf_path = html_to_pdf(html_path, html_path.with_suffix(".pdf")) if pdf else None
    return ReportPaths(html_path, json_path, csv_path, pdf_path)

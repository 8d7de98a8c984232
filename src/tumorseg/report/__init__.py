"""The lesion report: one self-contained HTML page with pictures, plus JSON and CSV.

:func:`write_report` takes the measurements of :func:`tumorseg.measure.measure_case` and
writes ``NAME.html`` (case summary, lesion table, a coronal MIP with every lesion, per-lesion
axial/coronal/sagittal views with the RECIST axes, uncertainty when given, the model that
made the mask, and the statement that it is not a diagnosis), ``NAME.json``, ``NAME.csv``
and optionally ``NAME.pdf`` (headless Chromium). Figures: :mod:`tumorseg.report.figures`.
"""

from __future__ import annotations

from tumorseg.report.build import ReportPaths, make_figures, write_report
from tumorseg.report.html import DISCLAIMER, ReportFigures, render_html
from tumorseg.report.model_info import find_model_info, model_rows
from tumorseg.report.pdf import find_chromium, html_to_pdf, html_to_png

__all__ = [
    "DISCLAIMER",
    "ReportFigures",
    "ReportPaths",
    "find_chromium",
    "find_model_info",
    "html_to_pdf",
    "html_to_png",
    "make_figures",
    "model_rows",
    "render_html",
    "write_report",
]

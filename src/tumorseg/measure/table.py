"""Write measurements: a CSV with one row per lesion and a JSON with the case summary.

The CSV columns are :data:`MEASURE_COLUMNS` (the scalar fields of
:class:`~tumorseg.measure.case.LesionMeasurement`, units in their names); empty cells mean
"not available" (no PET, no organ map…). Floats are written with 4 decimals. The JSON holds
``summary`` (:class:`~tumorseg.measure.case.CaseSummary`), ``lesions`` (every field, RECIST end
points included, full precision), ``notes``, ``inputs`` and ``conventions``. Both files
are written atomically; a zero-lesion case writes the header line only.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from tumorseg import __version__
from tumorseg.io import atomic_write_text
from tumorseg.measure.case import CaseMeasurements, LesionMeasurement

__all__ = ["CONVENTIONS", "MEASURE_COLUMNS", "measurements_csv", "measurements_doc",
           "write_measurements"]

#: Scalar CSV columns, in order.
MEASURE_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(LesionMeasurement) if not f.name.startswith("recist_") or
    f.name in ("recist_long_mm", "recist_short_mm"))

#: How the numbers are defined (copied into every JSON).
CONVENTIONS: dict[str, str] = {
    "coordinates": "LPS millimetres (DICOM patient coordinates); bbox_i0..k1 are voxel "
                   "indices of the mask file, inclusive",
    "lesions": "connected components (26-connected) of the nonzero voxels, or one lesion "
               "per value of an instance map; numbered by decreasing volume",
    "diameters": "between boundary voxel centres; RECIST long axis on the axial slice where "
                 "it is longest, short axis the longest chord exactly perpendicular to it",
    "suv_peak": "highest mean SUV in a 1 mL sphere (radius 6.2 mm) centred in the lesion",
    "mtv_tlg": "MTV = lesion volume on the mask (no threshold); TLG = SUVmean x MTV",
    "organ": "most frequent nonzero organ label inside the lesion",
}


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def measurements_csv(result: CaseMeasurements) -> str:
    """The lesion table as CSV text (header line even with no lesions)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MEASURE_COLUMNS)
    for lesion in result.lesions:
        d = lesion.to_dict()
        writer.writerow([_fmt(d[c]) for c in MEASURE_COLUMNS])
    return buf.getvalue()


def measurements_doc(result: CaseMeasurements, inputs: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """The JSON document: summary, lesions, notes, inputs, conventions."""
    return {
        "tool": "tumorseg measure",
        "tumorseg_version": __version__,
        "inputs": dict(inputs or {}),
        "summary": asdict(result.summary),
        "lesions": [x.to_dict() for x in result.lesions],
        "notes": list(result.notes),
        "conventions": CONVENTIONS,
    }


def write_measurements(result: CaseMeasurements, csv_path: str | os.PathLike[str],
                       inputs: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write the CSV to ``csv_path`` and the JSON beside it (same name, ``.json``).

    Returns ``(csv_path, json_path)``. Both are written atomically.
    """
    csv_path = Path(csv_path)
    json_path = csv_path.with_suffix(".json")
    text = json.dumps(measurements_doc(result, inputs), indent=2, allow_nan=False) + "\n"
    atomic_write_text(csv_path, measurements_csv(result))
    atomic_write_text(json_path, text)
    return csv_path, json_path

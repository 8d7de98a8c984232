"""DICOM tags that order and group the phases of a 4D CT: phase percentage, temporal
position, frame of reference.

Read from the header of one file of each series with pydicom (pixels are not loaded).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

__all__ = ["PhaseTags", "dicom_series_files", "parse_phase_percent", "read_phase_tags"]

#: "50%", "50 %", "T50", "T=50", "50.0%" in a SeriesDescription (case-insensitive).
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
_T_PHASE = re.compile(r"(?<![A-Za-z0-9])T\s*=?\s*(\d{1,3})(?![0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class PhaseTags:
    """What the DICOM header says about one phase series.

    Attributes:
        series_description: (0008,103E), "" when absent.
        phase_percent: breathing-cycle position in percent parsed from the series description
            ("50%", "T50"), or None.
        temporal_position: TemporalPositionIndex (0020,9128) or TemporalPositionIdentifier
            (0020,0100), or None.
        frame_of_reference_uid: (0020,0052), or None.
        series_uid: SeriesInstanceUID (0020,000E), or None.
    """

    series_description: str
    phase_percent: float | None
    temporal_position: int | None
    frame_of_reference_uid: str | None
    series_uid: str | None


def parse_phase_percent(description: str) -> float | None:
    """The phase percentage in a series description: ``"4D CT 50%"`` → 50, ``"T20"`` → 20.

    Returns None when the description names no phase (or a value above 100).
    """
    for pattern in (_PERCENT, _T_PHASE):
        m = pattern.search(description or "")
        if m:
            value = float(m.group(1))
            if 0.0 <= value <= 100.0:
                return value
    return None


def dicom_series_files(folder: str | os.PathLike[str]) -> list[list[str]]:
    """File lists of every DICOM series directly in ``folder`` and its sub-folders, in the
    order of their folders and then of GDCM's series ids (empty when there is none)."""
    from tumorseg.io.read import dicom_series_in

    return [files for _, files in dicom_series_in(folder)]


def _int_or_none(value: object) -> int | None:
    try:
        return None if value in (None, "") else int(str(value).strip())
    except ValueError:
        return None


def read_phase_tags(first_file: str | os.PathLike[str]) -> PhaseTags:
    """Read the phase-ordering tags from one DICOM file of a series."""
    import pydicom

    ds = pydicom.dcmread(str(first_file), stop_before_pixels=True, force=True)
    description = str(ds.get("SeriesDescription", "") or "")
    temporal = _int_or_none(ds.get("TemporalPositionIndex"))
    if temporal is None:
        temporal = _int_or_none(ds.get("TemporalPositionIdentifier"))
    frame = str(ds.get("FrameOfReferenceUID", "") or "").strip() or None
    series_uid = str(ds.get("SeriesInstanceUID", "") or "").strip() or None
    return PhaseTags(description, parse_phase_percent(description), temporal, frame, series_uid)

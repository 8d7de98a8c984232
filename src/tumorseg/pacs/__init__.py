"""PACS exchange over DICOMweb: pull a study, push SEG/RTSTRUCT (and any DICOM) back."""

from __future__ import annotations

from tumorseg.pacs.dicomweb import connect, pull_study, push_files, search_series

__all__ = ["connect", "pull_study", "push_files", "search_series"]

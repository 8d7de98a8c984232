"""Clinical outputs in DICOM: Segmentation (SEG) and RT Structure Set (RTSTRUCT) objects.

Both reference the source series they were drawn on (Study, Series and SOP Instance UIDs,
Frame of Reference), carry one segment / ROI per lesion (or one "Tumor"), names, colours
and the algorithm that made them (tumorseg and its version). The mask must be on the
series' grid (the same lattice in another axis order is rearranged exactly). A series
with empty UIDs is refused (:mod:`tumorseg.export.reference`).

Example:
    >>> ref = load_reference("dicom/ct_series")                       # doctest: +SKIP
    >>> segments = mask_segments(mask_on_reference("mask.nii.gz", ref))  # doctest: +SKIP
    >>> write_dicom_seg(ref, segments, "mask_seg.dcm")                # doctest: +SKIP
"""

from __future__ import annotations

from tumorseg.export.dicom_seg import make_dicom_seg, write_dicom_seg
from tumorseg.export.reference import ReferenceSeries, load_reference, mask_on_reference
from tumorseg.export.rtstruct import make_rtstruct, slice_contours, write_rtstruct
from tumorseg.export.segments import Segment, SegmentMode, mask_segments

__all__ = [
    "ReferenceSeries",
    "Segment",
    "SegmentMode",
    "load_reference",
    "make_dicom_seg",
    "make_rtstruct",
    "mask_on_reference",
    "mask_segments",
    "slice_contours",
    "write_dicom_seg",
    "write_rtstruct",
]

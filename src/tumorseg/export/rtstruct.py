"""DICOM RT Structure Sets (RTSTRUCT) written with pydicom: one ROI per segment.

Contours: on every slice k that a segment touches, marching squares
(:func:`skimage.measure.find_contours`) on the slice ``mask[:, :, k]`` (zero-padded, so every
contour closes) gives CLOSED_PLANAR polygons in LPS mm, one per boundary, each referencing
its slice's SOP Instance UID. **Holes** are separate contours (the boundary of the hole),
with no keyhole: a reader combines the contours of one ROI on one slice by the even-odd
rule (XOR), as Eclipse, RayStation, plastimatch, dicompyler and rt-utils/OpenCV's
``fillPoly`` do; islands inside holes are further contours. The polygons run at iso-level
0.6, i.e. 0.4 voxel outside the centres of the boundary voxels: a rasteriser that tests
voxel centres against the polygon and one that rounds vertices to voxels and fills
inclusively (rt-utils) both give the mask back voxel for voxel (the enclosed area is a
little smaller than the voxel area along the boundary).

The structure set references the Frame of Reference, the study, the series and every SOP
Instance of it (ReferencedFrameOfReferenceSequence). ROIs carry their name, a display
colour, the generation algorithm AUTOMATIC with "tumorseg <version>", and RT ROI
interpreted type GTV.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid
from skimage.measure import find_contours

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.export.reference import ReferenceSeries
from tumorseg.export.segments import Segment
from tumorseg.io import atomic_path

__all__ = ["CONTOUR_LEVEL", "make_rtstruct", "slice_contours", "write_rtstruct"]

#: Marching-squares level on the 0/1 slice: vertices 1 - level voxels out from the inside.
CONTOUR_LEVEL = 0.6

#: Study SOP Class referenced by the RT Referenced Study Sequence (Detached Study Management).
_STUDY_SOP_CLASS = "1.2.840.10008.3.1.2.3.1"

#: Patient / study attributes copied from the reference (Type 2: written empty if absent).
_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
           "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber")


def slice_contours(mask2d: np.ndarray) -> list[np.ndarray]:
    """Closed contours of a 2D boolean slice ``mask2d[i, j]`` as (n, 2) arrays of (i, j).

    Outer boundaries and hole boundaries alike (combine by the even-odd rule); the closing
    point is not repeated.
    """
    padded = np.pad(mask2d.astype(np.float32), 1)
    out = []
    for c in find_contours(padded, CONTOUR_LEVEL):
        c = c - 1.0  # undo the padding
        if len(c) > 1 and np.allclose(c[0], c[-1]):
            c = c[:-1]
        if len(c) >= 3:
            out.append(c)
    return out


def _copy_reference(ds: Dataset, ref: Dataset) -> None:
    for kw in _COPIED:
        setattr(ds, kw, ref.get(kw, "") or "")


def make_rtstruct(reference: ReferenceSeries, segments: list[Segment],
                  series_number: int = 301, label: str = "TUMORSEG") -> Dataset:
    """Build the RTSTRUCT dataset (in memory) for ``segments`` on ``reference``'s grid."""
    if not segments:
        raise InputError(f"{reference.folder}: no segments to export (empty mask)")
    first = reference.first
    now = dt.datetime.now()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RTStructureSetStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = first.get("SpecificCharacterSet", "ISO_IR 192") or "ISO_IR 192"
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime(
        "%H%M%S")
    _copy_reference(ds, first)
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = "tumorseg structure set"
    ds.OperatorsName = ""
    ds.Manufacturer = "tumorseg"
    ds.ManufacturerModelName = "tumorseg"
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = 1
    ds.StructureSetLabel = label[:16]
    ds.StructureSetName = "tumorseg"
    ds.StructureSetDate, ds.StructureSetTime = ds.InstanceCreationDate, ds.InstanceCreationTime
    ds.ApprovalStatus = "UNAPPROVED"

    frame_uid = str(first.FrameOfReferenceUID)
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = first.get("PositionReferenceIndicator", "") or ""
    images = []
    for img in reference.datasets:
        item = Dataset()
        item.ReferencedSOPClassUID = img.SOPClassUID
        item.ReferencedSOPInstanceUID = img.SOPInstanceUID
        images.append(item)
    series_item = Dataset()
    series_item.SeriesInstanceUID = first.SeriesInstanceUID
    series_item.ContourImageSequence = Sequence(images)
    study_item = Dataset()
    study_item.ReferencedSOPClassUID = _STUDY_SOP_CLASS
    study_item.ReferencedSOPInstanceUID = first.StudyInstanceUID
    study_item.RTReferencedSeriesSequence = Sequence([series_item])
    for_item = Dataset()
    for_item.FrameOfReferenceUID = frame_uid
    for_item.RTReferencedStudySequence = Sequence([study_item])
    ds.ReferencedFrameOfReferenceSequence = Sequence([for_item])

    vol = reference.volume
    rois, contours_seq, observations = [], [], []
    for seg in segments:
        roi = Dataset()
        roi.ROINumber = seg.number
        roi.ReferencedFrameOfReferenceUID = frame_uid
        roi.ROIName = seg.label
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        roi.ROIGenerationDescription = f"tumorseg {__version__}"[:64]
        rois.append(roi)

        contours = []
        for k in np.flatnonzero(seg.mask.any(axis=(0, 1))):
            img = reference.datasets[int(k)]
            for c in slice_contours(seg.mask[:, :, k]):
                ijk = np.column_stack([c, np.full(len(c), float(k))])
                xyz = vol.index_to_world(ijk)
                item = Dataset()
                ref_img = Dataset()
                ref_img.ReferencedSOPClassUID = img.SOPClassUID
                ref_img.ReferencedSOPInstanceUID = img.SOPInstanceUID
                item.ContourImageSequence = Sequence([ref_img])
                item.ContourGeometricType = "CLOSED_PLANAR"
                item.NumberOfContourPoints = len(xyz)
                item.ContourData = [f"{v:.4f}" for v in xyz.reshape(-1)]
                contours.append(item)
        roi_contour = Dataset()
        roi_contour.ROIDisplayColor = list(seg.color)
        roi_contour.ReferencedROINumber = seg.number
        roi_contour.ContourSequence = Sequence(contours)
        contours_seq.append(roi_contour)

        obs = Dataset()
        obs.ObservationNumber = seg.number
        obs.ReferencedROINumber = seg.number
        obs.RTROIInterpretedType = "GTV"
        obs.ROIInterpreter = ""
        observations.append(obs)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours_seq)
    ds.RTROIObservationsSequence = Sequence(observations)
    return ds


def write_rtstruct(reference: ReferenceSeries, segments: list[Segment],
                   out: str | os.PathLike[str], **kwargs: object) -> Path:
    """Build the RTSTRUCT and write it atomically to ``out``; returns the path."""
    ds = make_rtstruct(reference, segments, **kwargs)  # type: ignore[arg-type]
    with atomic_path(out) as tmp:
        pydicom.dcmwrite(tmp, ds, enforce_file_format=True)
    return Path(out)

"""DICOM Segmentation (SEG) objects with highdicom: BINARY, one segment per lesion or one
"Tumor" segment, referencing every slice of the source series.

Each segment carries its label, a recommended display colour (CIE Lab, from RGB), the
property category/type (SCT "Morphologically abnormal structure" / "Neoplasm"), the
algorithm type AUTOMATIC and the algorithm identification (name ``tumorseg``, its version,
family DCM "Artificial Intelligence"). Frames are the source slices that hold the segment
(empty frames are left out); each frame references its source SOP Instance UID and shares
the series' Frame of Reference.
"""

from __future__ import annotations

import os
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.sr.codedict import codes

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.export.reference import ReferenceSeries
from tumorseg.export.segments import Segment
from tumorseg.io import atomic_path

__all__ = ["algorithm_identification", "make_dicom_seg", "write_dicom_seg"]


def algorithm_identification() -> hd.AlgorithmIdentificationSequence:
    """The algorithm that made the segments: tumorseg, its version, family AI."""
    return hd.AlgorithmIdentificationSequence(
        name="tumorseg", version=__version__, family=codes.DCM.ArtificialIntelligence)


def make_dicom_seg(reference: ReferenceSeries, segments: list[Segment],
                   series_number: int = 300, description: str = "tumorseg segmentation",
                   ) -> hd.seg.Segmentation:
    """Build the SEG object (in memory) for ``segments`` on ``reference``'s grid."""
    if not segments:
        raise InputError(f"{reference.folder}: no segments to export (empty mask)")
    algorithm = algorithm_identification()
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=s.number,
            segment_label=s.label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=hd.UID(),
            tracking_id=s.label,
            display_color=hd.color.CIELabColor.from_rgb(*s.color),
        )
        for s in segments
    ]
    labels = np.zeros(reference.volume.shape, dtype=np.uint16)
    for s in segments:
        labels[s.mask] = s.number
    # highdicom wants (frames, rows, columns) in the order of source_images: k, j, i
    pixel_array = np.ascontiguousarray(labels.transpose(2, 1, 0))
    return hd.seg.Segmentation(
        source_images=list(reference.datasets),
        pixel_array=pixel_array,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="tumorseg",
        manufacturer_model_name="tumorseg",
        software_versions=__version__,
        device_serial_number="0",
        content_description=description[:64],
        content_label="TUMORSEG",
        series_description=description[:64],
    )


def write_dicom_seg(reference: ReferenceSeries, segments: list[Segment],
                    out: str | os.PathLike[str], **kwargs: object) -> Path:
    """Build the SEG and write it atomically to ``out``; returns the path."""
    seg = make_dicom_seg(reference, segments, **kwargs)  # type: ignore[arg-type]
    with atomic_path(out) as tmp:
        seg.save_as(tmp, enforce_file_format=True)
    return Path(out)

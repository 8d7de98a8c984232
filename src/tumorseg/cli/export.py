"""``tumorseg export``: a mask → DICOM SEG or RTSTRUCT referencing its source series."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tumorseg.cli.common import console, file_suffix, status
from tumorseg.export import (
    SegmentMode,
    load_reference,
    mask_on_reference,
    mask_segments,
    write_dicom_seg,
    write_rtstruct,
)

__all__ = ["export_command"]

# highdicom logs each module it copies at INFO; the command reports what it wrote itself.
logging.getLogger("highdicom").setLevel(logging.WARNING)


class ExportFormat(StrEnum):
    """DICOM object written by ``tumorseg export``."""

    seg = "seg"
    rtstruct = "rtstruct"


def export_command(
    mask: Annotated[Path, typer.Argument(
        help="Mask or lesion label map on the reference series' grid (.nii.gz, .nrrd, .mha).",
        show_default=False)],
    reference: Annotated[Path, typer.Option(
        "--reference", "-r", help="Folder of the DICOM series the mask was drawn on.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Output DICOM file.", show_default=False)],
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", help="seg (DICOM Segmentation) or rtstruct (RT Structure Set).")
    ] = ExportFormat.seg,
    segments: Annotated[SegmentMode, typer.Option(
        help="lesions: one segment/ROI per lesion ('Lesion v' per value of an instance map, "
             "as tumorseg writes them, else per connected component); labels: one per value "
             "of a semantic label map ('Label v'); tumor: one 'Tumor' segment.")
    ] = SegmentMode.lesions,
) -> None:
    """Export a mask as a DICOM SEG or RTSTRUCT that references its source series
    (Study/Series/SOP Instance UIDs, Frame of Reference), with segment names, colours and
    the algorithm (tumorseg and its version).

    The mask must be on the series' grid (the same voxels in another axis order or sign,
    as a NIfTI written from it, are rearranged exactly). A series with empty UIDs (an
    over-anonymised export) is refused: tumorseg does not invent references.

    Example: tumorseg export mask.nii.gz --reference dicom/ct/ --format rtstruct -o rt.dcm
    """
    file_suffix(out, (".dcm",), "-o", f"one DICOM {fmt.value.upper()} file", bare=True)
    with status("Reading the reference series"):
        ref = load_reference(reference)
        labels = mask_on_reference(mask, ref)
        parts = mask_segments(labels, segments)
    with status(f"Writing the {fmt.value.upper()}"):
        if fmt is ExportFormat.seg:
            path = write_dicom_seg(ref, parts, out)
        else:
            path = write_rtstruct(ref, parts, out)
    names = ", ".join(p.label for p in parts[:5]) + (" …" if len(parts) > 5 else "")
    console.print(f"wrote {path} ({fmt.value.upper()}, {len(parts)} segment(s): {names}; "
                  f"{len(ref.datasets)} slices referenced)")

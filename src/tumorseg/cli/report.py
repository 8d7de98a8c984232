"""``tumorseg report``: a self-contained HTML lesion report (plus JSON, CSV, optional PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tumorseg.cli.common import console, track
from tumorseg.cli.measure import (
    ImageArgument,
    InstancesOption,
    MaskArgument,
    ModalityOption,
    lesion_rich_table,
    load_inputs,
)
from tumorseg.errors import InputError

__all__ = ["report_command"]


def _progress(items: Any, total: int, description: str) -> Any:
    return track(items, description, total) if total > 1 else items


def report_command(
    image: ImageArgument,
    mask: MaskArgument,
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="The report .html; NAME.json and NAME.csv go beside it.",
        show_default=False)],
    pet: Annotated[Path | None, typer.Option(
        "--pet", help="PET in SUV: SUV columns, and the overview MIP is the PET's.",
        show_default=False)] = None,
    uncertainty: Annotated[Path | None, typer.Option(
        "--uncertainty", help="Voxel uncertainty map on the mask's grid (tumorseg predict "
                              "--save-uncertainty).", show_default=False)] = None,
    model_info: Annotated[Path | None, typer.Option(
        "--model-info", help="JSON describing the model (default: the run manifest "
                             "tumorseg predict wrote beside the mask).",
        show_default=False)] = None,
    organs: Annotated[Path | None, typer.Option(
        "--organs", help="Organ label map on the mask's voxel grid.", show_default=False)] = None,
    organ_names: Annotated[str | None, typer.Option(
        "--organ-names", help="JSON of organ names, or abdomen-phantom (see tumorseg measure).",
        show_default=False)] = None,
    instances: Annotated[InstancesOption, typer.Option(
        "--instances", help="auto, yes or no (see tumorseg measure).")] = InstancesOption.auto,
    modality: Annotated[ModalityOption, typer.Option(
        "--modality", help="Image modality (see tumorseg measure).")] = ModalityOption.auto,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="Also print the report to NAME.pdf with headless Chromium.")] = False,
) -> None:
    """Write a self-contained HTML lesion report: case summary, lesion table, a coronal MIP
    with every lesion, axial/coronal/sagittal views of each lesion with its outline and
    RECIST axes, uncertainty when given, the model used, and a not-a-diagnosis statement.
    The same numbers go to NAME.json and NAME.csv.

    Example: tumorseg report ct.nii.gz mask.nii.gz -o report.html --pdf
    """
    from tumorseg.report import find_chromium, find_model_info, write_report

    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the report must be an .html file")
    if pdf and find_chromium() is None:
        raise InputError(f"{out.with_suffix('.pdf')}: --pdf needs headless Chromium, which is "
                         "not installed (Debian: apt-get install chromium)")
    model, model_path = find_model_info(mask, model_info)
    result, inputs = load_inputs(image, mask, pet, organs, organ_names, uncertainty, instances,
                                 modality)
    paths = write_report(result, out, inputs, model, model_path, pdf=pdf, progress=_progress)
    console.print(lesion_rich_table(result))
    written = [paths.html, paths.json, paths.csv] + ([paths.pdf] if paths.pdf else [])
    console.print("wrote " + ", ".join(escape(str(p)) for p in written))

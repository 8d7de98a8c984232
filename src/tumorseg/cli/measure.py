"""``tumorseg measure``: per-lesion volume, RECIST axes, diameters, HU, SUV and organ."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tumorseg.cli.common import console, err_console, status
from tumorseg.errors import InputError
from tumorseg.io import Volume, label_map_array, read_volume
from tumorseg.io.modality import with_guessed_modality
from tumorseg.measure.pet import check_suv

__all__ = ["ImageArgument", "InstancesOption", "MaskArgument", "ModalityOption",
           "lesion_rich_table", "load_inputs", "measure_command"]


#: The IMAGE and MASK arguments of ``measure`` and ``report``.
ImageArgument = Annotated[Path, typer.Argument(
    help="The scan (CT in HU, MR or PET): a file or a DICOM series folder.", show_default=False)]
MaskArgument = Annotated[Path, typer.Argument(
    help="Lesion mask on the image's grid: binary, sub-region labels or an instance map.",
    show_default=False)]


class ModalityOption(StrEnum):
    """``--modality``."""

    auto = "auto"
    CT = "CT"
    MR = "MR"
    PT = "PT"


def _with_modality(image: Volume, modality: ModalityOption) -> tuple[Volume, str | None]:
    """The image with its modality set; a note when it was guessed."""
    if modality != ModalityOption.auto:
        return replace(image, modality=modality.value), None
    return with_guessed_modality(image)


class InstancesOption(StrEnum):
    """``--instances``."""

    auto = "auto"
    yes = "yes"
    no = "no"


def _read(path: Path | None, what: str) -> Volume | None:
    if path is None:
        return None
    if not path.exists():
        raise InputError(f"{path}: no such file or folder ({what})")
    return read_volume(path)


def load_inputs(image: Path, mask: Path, pet: Path | None, organs: Path | None,
                organ_names: str | None, uncertainty: Path | None,
                instances: InstancesOption,
                modality: ModalityOption = ModalityOption.auto) -> tuple[Any, dict[str, Any]]:
    """Read the inputs and measure them; returns the measurements and the input record."""
    from tumorseg.measure import load_organ_names, measure_case

    with status("Measuring lesions"):
        img = _read(image, "image")
        msk = _read(mask, "mask")
        assert img is not None and msk is not None
        msk = msk.with_array(label_map_array(msk, mask))  # a swapped image and mask: refused
        img, guessed = _with_modality(img, modality)
        names = load_organ_names(organs, organ_names) if organs is not None else {}
        pet_volume, organ_volume = _read(pet, "--pet"), _read(organs, "--organs")
        if pet_volume is not None:
            check_suv(pet_volume, pet)
        if organ_volume is not None:
            organ_volume = organ_volume.with_array(label_map_array(organ_volume, organs))
        unc_volume = _read(uncertainty, "--uncertainty")
        if unc_volume is not None:
            low, high = float(unc_volume.array.min()), float(unc_volume.array.max())
            if low < -1e-3 or high > 1.0 + 1e-3:
                raise InputError(f"{uncertainty}: values {low:g}…{high:g}; --uncertainty "
                                 "takes a voxel uncertainty map in 0…1 (tumorseg predict "
                                 "--save-uncertainty)")
        result = measure_case(
            img, msk, pet=pet_volume, organs=organ_volume,
            organ_names=names, uncertainty=unc_volume,
            instances=instances.value)  # type: ignore[arg-type]
    inputs = {"image": str(image), "mask": str(mask),
              "pet": None if pet is None else str(pet),
              "organs": None if organs is None else str(organs),
              "uncertainty": None if uncertainty is None else str(uncertainty),
              "instances": instances.value}
    if guessed:
        err_console.print(f"[yellow]note:[/yellow] {escape(guessed)}")
        result = replace(result, notes=(guessed, *result.notes))
    for note in result.notes[1 if guessed else 0:]:
        err_console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if not result.lesions:
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(mask))}: the mask is empty: "
                          "no lesion to measure (zero-lesion table written)")
    return result, inputs


def _f(value: float | None, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def lesion_rich_table(result: Any) -> Table:
    """A rich table of the lesions with the key numbers."""
    s = result.summary
    unit = s.intensity_unit or "mean"
    title = (f"{s.lesion_count} lesion(s), {s.total_volume_ml:.2f} mL"
             + (f", Dmax {s.dmax_mm:.1f} mm" if s.lesion_count > 1 else "")
             + (f", MTV {s.total_mtv_ml:.2f} mL, TLG {s.total_tlg:.1f}"
                if s.total_mtv_ml is not None else ""))
    table = Table(title=title)
    columns = ["#", "mL", "RECIST mm", "3D mm", unit]
    has_pet = s.total_mtv_ml is not None
    has_organ = any(x.organ_name is not None for x in result.lesions)
    if has_pet:
        columns += ["SUVmax", "SUVpeak", "TLG"]
    if has_organ:
        columns += ["organ"]
    for c in columns:
        table.add_column(c, justify="left" if c == "organ" else "right", no_wrap=True)
    for x in result.lesions:
        row = [str(x.lesion_id), f"{x.volume_ml:.2f}",
               f"{x.recist_long_mm:.1f}×{x.recist_short_mm:.1f}", f"{x.max_diameter_3d_mm:.1f}",
               f"{x.intensity_mean:.0f}±{x.intensity_std:.0f}"]
        if has_pet:
            row += [_f(x.suv_max, ".2f"), _f(x.suv_peak, ".2f"), _f(x.tlg, ".1f")]
        if has_organ:
            row += [escape(x.organ_name or "")]
        table.add_row(*row)
    return table


def measure_command(
    image: ImageArgument,
    mask: MaskArgument,
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Lesion table CSV; the case summary JSON goes beside it "
                            "(same name, .json).", show_default=False)],
    pet: Annotated[Path | None, typer.Option(
        "--pet", help="PET in SUV (body weight); resampled onto the mask's grid (linear) "
                      "when its grid differs.", show_default=False)] = None,
    organs: Annotated[Path | None, typer.Option(
        "--organs", help="Organ label map on the mask's voxel grid: the organ of each lesion "
                         "(majority label).", show_default=False)] = None,
    organ_names: Annotated[str | None, typer.Option(
        "--organ-names", help="JSON of organ names ({\"liver\": 1, …}, or a dataset.json), or "
                              "abdomen-phantom (default: a sidecar ORGANS.json, or a phantom "
                              "dataset's dataset.json).", show_default=False)] = None,
    uncertainty: Annotated[Path | None, typer.Option(
        "--uncertainty", help="Voxel uncertainty map (e.g. from tumorseg predict "
                              "--save-uncertainty): mean per lesion.", show_default=False)] = None,
    instances: Annotated[InstancesOption, typer.Option(
        "--instances", help="yes: each mask value is one lesion; no: connected components of "
                            "the nonzero voxels; auto: an instance map when its values never "
                            "touch.")] = InstancesOption.auto,
    modality: Annotated[ModalityOption, typer.Option(
        "--modality", help="Image modality (auto: from the file; a NIfTI reaching -1000 "
                           "counts as CT).")] = ModalityOption.auto,
) -> None:
    """Measure every lesion: volume (mL), RECIST 1.1 long and short axis, maximal 3D diameter,
    centroid and bounding box (LPS mm), intensity (HU for CT); with --pet SUVmax, SUVmean,
    SUVpeak, MTV and TLG; with --organs the organ. Per case: count, totals, Dmax.

    An empty mask is a valid finding: a zero-lesion table is written, with a warning.

    Example: tumorseg measure ct.nii.gz mask.nii.gz --pet suv.nii.gz -o lesions.csv
    """
    from tumorseg.measure import write_measurements

    if out.suffix.lower() != ".csv":
        raise InputError(f"{out}: the output must be a .csv file (the JSON goes beside it)")
    result, inputs = load_inputs(image, mask, pet, organs, organ_names, uncertainty, instances,
                                 modality)
    csv_path, json_path = write_measurements(result, out, inputs)
    console.print(lesion_rich_table(result))
    console.print(f"wrote {escape(str(csv_path))} and {escape(str(json_path))}")

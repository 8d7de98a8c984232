"""``tumorseg convert``: between NIfTI, NRRD, MHA and DICOM series folders, geometry intact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape

from tumorseg.cli.common import console, err_console
from tumorseg.errors import InputError
from tumorseg.io import (
    Volume,
    is_image_path,
    read_channels,
    write_dicom_series,
    write_volume,
)
from tumorseg.io.atomic import require_folder_name
from tumorseg.io.modality import KNOWN_MODALITIES, with_guessed_modality

__all__ = ["convert_command"]

_DTYPES = {"int16": np.int16, "uint8": np.uint8, "float32": np.float32, "uint16": np.uint16,
           "int32": np.int32}


def convert_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Input file or DICOM series folder; several single-channel files become channels.",
        show_default=False)],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Output file (.nii.gz, .nii, .nrrd or .mha), or a new folder "
                               "(no suffix) for a CT written as a DICOM series.")],
    dtype: Annotated[str | None, typer.Option(
        help="Cast voxels to int16, uint8, uint16, int32 or float32.")] = None,
    modality: Annotated[str | None, typer.Option(
        help="Set the modality (CT, MR, PT) stored in the output's header.")] = None,
    phases: Annotated[bool, typer.Option(
        "--phases", help="The inputs are the phases of a 4D CT in breathing order: write one "
                         "DICOM series per phase into the -o folder (phase_00/, …), one study "
                         "and frame of reference, as tumorseg itv reads them.")] = False,
) -> None:
    """Convert a scan between formats; spacing, origin and direction are kept exactly.

    A CT (in HU) written to a folder becomes a DICOM series (one CT image per slice, new
    UIDs, marked DERIVED/SECONDARY), e.g. as the reference for `tumorseg export`.

    Example: tumorseg convert dicom_series/ -o ct.nii.gz

    Example: tumorseg convert ct.nii.gz -o ct_dicom

    Example: tumorseg convert case_000/phase_*.nii.gz --phases -o 4dct_dicom
    """
    if modality is not None:
        modality = modality.strip().upper()
        if modality not in KNOWN_MODALITIES:
            raise InputError(f"--modality {modality}: use one of {', '.join(KNOWN_MODALITIES)}")
    target = output.resolve()
    for path in inputs:
        if target == path.resolve() or (path.is_dir() and target.is_relative_to(
                path.resolve())):
            raise InputError(f"{output}: the output would overwrite the input {path}; "
                             "choose another -o")
    if phases:
        _convert_phases(inputs, output, modality, dtype)
        return
    volume = read_channels(inputs, modality=modality)
    if not is_image_path(output):
        require_folder_name(output, "-o", "an image file name (.nii.gz, .nii, .nrrd, .mha)")
        if dtype is not None:
            raise InputError(f"--dtype {dtype}: a DICOM series stores CT as int16 HU")
        paths = write_dicom_series(_as_ct(volume), output)
        console.print(f"wrote {output}/ (DICOM CT series, {len(paths)} slices of "
                      f"{volume.shape[0]} x {volume.shape[1]}, spacing "
                      f"{', '.join(f'{s:g}' for s in volume.spacing)} mm)")
        return
    cast = None
    if dtype is not None:
        if dtype not in _DTYPES:
            raise InputError(f"--dtype {dtype}: use one of {', '.join(_DTYPES)}")
        cast = _DTYPES[dtype]
        info = np.iinfo(cast) if np.issubdtype(cast, np.integer) else None
        if info is not None and (volume.array.min() < info.min or volume.array.max() > info.max):
            raise InputError(f"{inputs[0]}: values {volume.array.min()}..{volume.array.max()} "
                             f"do not fit {dtype}")
    path = write_volume(volume, output, dtype=cast)
    console.print(f"wrote {path}  ({' x '.join(map(str, volume.shape))} voxels, spacing "
                  f"{', '.join(f'{s:g}' for s in volume.spacing)} mm)")


def _as_ct(volume: Volume) -> Volume:
    """``volume`` with modality CT when none is recorded and it holds air (said in a note)."""
    volume, guessed = with_guessed_modality(volume)
    if guessed:
        err_console.print(f"[yellow]note:[/yellow] {escape(guessed)}")
    return volume


def _convert_phases(inputs: list[Path], output: Path, modality: str | None,
                    dtype: str | None) -> None:
    """``--phases``: the 4D CT's phase files into one folder of DICOM series."""
    from tumorseg.io import read_volume, write_dicom_phases

    if is_image_path(output):
        raise InputError(f"{output}: --phases writes a folder of DICOM series; name it "
                         "without a suffix")
    require_folder_name(output, "-o", "")
    if dtype is not None:
        raise InputError(f"--dtype {dtype}: a DICOM series stores CT as int16 HU")
    volumes = [_as_ct(read_volume(p, modality=modality)) for p in inputs]
    folders = write_dicom_phases(volumes, output)
    console.print(f"wrote {output}/ ({len(folders)} DICOM CT series, one per phase, "
                  f"{volumes[0].shape[2]} slices each)")

"""``tumorseg predict``: automatic segmentation with a trained (or the bundled) model."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tumorseg.cli.common import case_progress, console
from tumorseg.errors import InputError
from tumorseg.io import is_image_path
from tumorseg.io.atomic import require_folder_name

__all__ = ["predict_command"]


class OrganModeOption(StrEnum):
    """``--organ-mode``."""

    drop = "drop"
    mask = "mask"


class FormatOption(StrEnum):
    """``--format`` of masks written into an output folder."""

    nii_gz = "nii.gz"
    nii = "nii"
    nrrd = "nrrd"
    mha = "mha"


def _int_list(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise InputError(f"{option} {text}: expected comma-separated integers") from None
    if not values:
        raise InputError(f"{option}: no value given")
    return values


def predict_command(
    inputs: Annotated[list[Path], typer.Argument(
        help="Image file(s) (.nii.gz, .nrrd, .mha), a DICOM series folder, a folder of cases "
             "(CASE_0000.nii.gz, CASE_0001.nii.gz, … per channel), or a CSV "
             "(case_id,<channel paths…>).", show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Mask file for one case (e.g. mask.nii.gz), or a folder for "
                               "several (one <case_id>.nii.gz each).", show_default=False)],
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Model folder written by `tumorseg train`, or a bundled "
                              "model's name (default: the bundled abdomen-ct-lesions).",
        show_default=False)] = None,
    folds: Annotated[str | None, typer.Option(
        "--folds", "--fold", "-f", help="Folds to ensemble, e.g. 0,1,2 or all "
                                        "(default: every trained fold 0-4, else 'all').",
        show_default=False)] = None,
    fast: Annotated[bool, typer.Option(
        "--fast", help="No mirroring test-time augmentation (about 8x faster).")] = False,
    mirror_axes: Annotated[str, typer.Option(
        "--mirror-axes", help="Axes mirrored for test-time augmentation (all combinations: "
                              "0,1,2 = 8 copies; 0,1 = 4 in-plane copies; none).")] = "0,1,2",
    device: Annotated[str, typer.Option(
        help="cpu, cuda, cuda:N, or auto (cuda when available).")] = "auto",
    min_volume: Annotated[float, typer.Option(
        "--min-volume", help="Remove predicted lesions smaller than this, in mm³ "
                             "(0 keeps all).")] = 10.0,
    organ_mask: Annotated[Path | None, typer.Option(
        "--organ-mask", help="Organ label map on the input's voxel grid (axis order may "
                             "differ), or a folder with <case_id>.nii.gz per case: lesions "
                             "outside the organ are removed.",
        show_default=False)] = None,
    organ_labels: Annotated[str | None, typer.Option(
        "--organ-labels", help="Organ mask values that count, e.g. 1,2,3 "
                               "(default: every nonzero value).", show_default=False)] = None,
    organ_mode: Annotated[OrganModeOption, typer.Option(
        "--organ-mode", help="drop: remove whole lesions not touching the organ; mask: cut "
                             "lesions at the organ outline.")] = OrganModeOption.drop,
    max_lesions: Annotated[int | None, typer.Option(
        "--max-lesions", help="Keep only the N largest lesions per label.",
        show_default=False)] = None,
    save_probabilities: Annotated[bool, typer.Option(
        "--save-probabilities", help="Also write NAME_probabilities (float32, one channel "
                                     "per label).")] = False,
    save_uncertainty: Annotated[bool, typer.Option(
        "--save-uncertainty", help="Also write NAME_uncertainty (normalised entropy, "
                                   "0-1).")] = False,
    output_format: Annotated[FormatOption, typer.Option(
        "--format", help="Image format of masks written into an output folder.")
    ] = FormatOption.nii_gz,
) -> None:
    """Segment tumors automatically with a trained 3D U-Net (sliding window, mirroring,
    fold ensemble) and write the mask on the input's exact grid.

    Beside each mask NAME.nii.gz: NAME_lesions.csv (id, label, volume mL, centroid and
    bounding box in mm, mean probability and uncertainty per lesion) and a JSON run manifest
    (NAME_run.json, or run_manifest.json in an output folder).

    Example: tumorseg predict ct.nii.gz -o mask.nii.gz
    """
    from tumorseg.inference import Predictor, PredictorConfig, resolve_model
    from tumorseg.postprocessing import PostprocessConfig

    for path in inputs:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    if organ_mask is not None and not organ_mask.exists():
        raise InputError(f"{organ_mask}: no such file or folder (--organ-mask)")
    if not is_image_path(output):  # checked again per case; here before the model loads
        require_folder_name(output, "-o", "an image file name (.nii.gz, .nii, .nrrd, .mha)")
    config = PostprocessConfig(min_volume_mm3=min_volume,
                               organ_labels=_int_list(organ_labels, "--organ-labels"),
                               organ_mode=organ_mode.value, max_lesions=max_lesions)
    model_dir = resolve_model(model)
    axes = () if mirror_axes.strip().lower() in ("none", "") else _int_list(mirror_axes,
                                                                             "--mirror-axes")
    if axes and any(a not in (0, 1, 2) for a in axes):
        raise InputError(f"--mirror-axes {mirror_axes}: axes are 0, 1 and 2 (i, j, k)")
    predictor = Predictor.from_model_dir(model_dir, folds=folds, device=device, fast=fast,
                                         config=PredictorConfig(mirror_axes=axes or ()))
    n_mirrors = predictor.config.n_mirrors
    mode = "no mirroring" if n_mirrors == 1 else f"{n_mirrors} mirrored copies"
    console.print(f"model {escape(str(model_dir))}: folds {', '.join(predictor.folds)}, "
                  f"{mode}, device {predictor.device}")
    with case_progress() as shown:
        run = predictor.predict_files(
            inputs, output, postprocessing=config, organ_mask=organ_mask,
            save_probabilities=save_probabilities, save_uncertainty=save_uncertainty,
            suffix=f".{output_format.value}", progress=shown.cases, case_progress=shown.step,
            extra_manifest={"command": "tumorseg predict", "arguments": {
            "inputs": [str(p) for p in inputs], "output": str(output), "model": model,
                "folds": folds, "fast": fast, "mirror_axes": mirror_axes, "device": device,
                "min_volume": min_volume, "organ_mask": None if organ_mask is None else
                str(organ_mask), "organ_labels": organ_labels, "organ_mode": organ_mode.value,
                "max_lesions": max_lesions, "save_probabilities": save_probabilities,
                "save_uncertainty": save_uncertainty, "format": output_format.value}})
    for r in run.cases:
        unsure = r.uncertainty["mean_entropy_foreground"]
        inside = "" if unsure is None else f", mean uncertainty {unsure:.2f} (0-1) inside"
        console.print(f"{escape(r.case_id)}: {r.n_lesions} lesion(s), {r.foreground_ml:.2f} mL"
                      f"{inside}, {r.seconds['total']:.1f} s → {escape(r.outputs['mask'])}")
    console.print(f"run manifest: {escape(str(run.manifest))} ({run.seconds:.1f} s)")

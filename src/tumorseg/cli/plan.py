"""``tumorseg plan``: fingerprint a raw dataset and write the training plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tumorseg.cli.common import choice, console, file_suffix, track
from tumorseg.errors import InputError
from tumorseg.planning import (
    Plan,
    PlannerConfig,
    analyze_case,
    combine_cases,
    make_plan,
    read_dataset,
)
from tumorseg.planning.network import ARCHITECTURES

__all__ = ["plan_command", "plan_summary"]


def _resolve_device(device: str) -> str:
    device = device.lower()
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device must be cpu, cuda or auto, got {device!r}")
    return device


def plan_summary(plan: Plan) -> list[str]:
    """A few human-readable lines describing ``plan``."""
    fmt = lambda v: " x ".join(f"{x:g}" for x in v)  # noqa: E731
    norm = ", ".join(f"{n.channel}: {n.scheme}{' (nonzero mask)' if n.use_nonzero_mask else ''}"
                     for n in plan.normalization)
    return [
        f"  cases          {plan.fingerprint_summary.get('num_cases', '?')}, "
        f"labels {', '.join(f'{k}={v}' for k, v in plan.labels.items())}",
        f"  normalisation  {norm}",
        f"  spacing        {fmt(plan.target_spacing)} mm ({plan.spacing_rule})",
        f"  median shape   {fmt(plan.median_shape)} voxels at target spacing",
        f"  patch          {fmt(plan.patch_size)} voxels, batch {plan.batch_size}",
        f"  network        {plan.network.class_name}, {len(plan.strides)} stages, features "
        f"{list(plan.network.features)}, pools per axis {list(plan.pools_per_axis)}",
        f"  memory         ~{plan.estimated_memory_gb:.2f} GB of {plan.memory_budget_gb:g} GB "
        f"({plan.device})",
    ]


def plan_command(
    dataset: Annotated[Path, typer.Argument(
        help="MSD / nnU-Net raw dataset folder (holding dataset.json, imagesTr, labelsTr).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o",
        help="plan.json to write (default DATASET/plan.json); fingerprint.json goes beside it.")
    ] = None,
    gpu_memory: Annotated[float | None, typer.Option(
        "--gpu-memory",
        help="Memory for one training step in GB (GPU memory with --device cuda). "
             "Default: 8 on cuda; on cpu a quarter of the free RAM, at most 8.")] = None,
    device: Annotated[str, typer.Option(
        help="Device the plan is fitted for: cpu, cuda, or auto (cuda when available).")
    ] = "cpu",
    pet_normalization: Annotated[str, typer.Option(
        help="PET channels: 'zscore' (per volume) or 'suv' (keep the SUV scale).")
    ] = "zscore",
    architecture: Annotated[str, typer.Option(
        help="dynunet (nnU-Net's 3D U-Net with deep supervision) or unet (plain MONAI UNet).")
    ] = "dynunet",
) -> None:
    """Fingerprint a dataset and plan preprocessing and the 3D U-Net (nnU-Net style).

    Writes plan.json (spacing, normalisation, patch/batch for the budget, U-Net topology).

    Example: tumorseg plan data/abdomen -o plan.json
    """
    if output is not None:
        file_suffix(output, (".json",), "--output", "the plan as JSON")
    if pet_normalization not in ("zscore", "suv"):
        raise InputError(f"--pet-normalization must be zscore or suv, got {pet_normalization!r}")
    architecture = choice(architecture, ARCHITECTURES, "--architecture")
    resolved = _resolve_device(device)
    info = read_dataset(dataset)
    analyses = [analyze_case(case, info)
                for case in track(info.cases, "Fingerprint", total=len(info.cases))]
    fingerprint = combine_cases(analyses, info)
    config = PlannerConfig(pet_normalization=pet_normalization,  # type: ignore[arg-type]
                           architecture=architecture)
    plan = make_plan(fingerprint, info, gpu_memory, resolved, config)  # type: ignore[arg-type]
    plan_path = Path(output) if output is not None else Path(dataset) / "plan.json"
    fp_path = plan_path.parent / "fingerprint.json"
    try:
        fingerprint.save(fp_path)
        plan.save(plan_path)
    except OSError as exc:
        raise InputError(f"{exc.filename or plan_path}: cannot write ({exc.strerror})") from exc
    console.print(f"[bold]{info.name}[/bold] ({info.layout}, {len(info.cases)} training cases)")
    for line in plan_summary(plan):
        console.print(line)
    console.print(f"wrote {plan_path} and {fp_path}")

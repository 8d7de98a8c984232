"""``tumorseg phantom``: write a synthetic tumor dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tumorseg.cli.common import console, progress_bar
from tumorseg.errors import InputError
from tumorseg.io.atomic import require_folder_name
from tumorseg.phantoms import KINDS, generate_dataset

__all__ = ["phantom_command"]


def phantom_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output dataset folder.")],
    kind: Annotated[str, typer.Option(
        help=f"Phantom kind: {', '.join(KINDS)}.")] = "abdomen-ct",
    cases: Annotated[int, typer.Option(help="Number of training cases (imagesTr).")] = 5,
    test_cases: Annotated[int, typer.Option(help="Number of test cases (imagesTs).")] = 0,
    seed: Annotated[int, typer.Option(help="Dataset seed; same seed, same data.")] = 0,
    size: Annotated[str, typer.Option(
        help="'full' (clinical resolution) or 'small' (coarse, fast: tests, CPU training).")
    ] = "full",
    phases: Annotated[int | None, typer.Option(
        help="Respiratory phases (lung-4dct only; default 10).", show_default=False)] = None,
    workers: Annotated[int, typer.Option(
        help="Processes making cases in parallel (same files as with 1).")] = 1,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier phantom dataset in --out (default: --out "
                            "must be new or empty).")] = False,
) -> None:
    """Generate a synthetic tumor dataset (MSD / nnU-Net raw layout) with exact labels.

    Example: tumorseg phantom --kind abdomen-ct --cases 10 --test-cases 2 --out data/abdomen
    """
    require_folder_name(out, "--out", "")
    overrides = {}
    if phases is not None:
        if kind != "lung-4dct":
            raise InputError(f"--phases {phases}: only the lung-4dct kind has phases")
        overrides["n_phases"] = phases

    with progress_bar() as bar:
        def wrap(iterator, total, description):
            task = bar.add_task(description, total=total)
            for item in iterator:
                yield item
                bar.advance(task)

        path = generate_dataset(kind, out, cases, seed=seed, n_test=test_cases, size=size,
                                progress=wrap, workers=workers, overwrite=overwrite,
                                **overrides)
    console.print(f"wrote {cases} training and {test_cases} test {kind} cases to {path}")

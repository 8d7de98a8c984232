"""``tumorseg evaluate-interactive``: click-guided methods measured with the click robot."""

from __future__ import annotations

import os
import platform
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tumorseg import __version__
from tumorseg.cli.common import console, progress_bar, status
from tumorseg.errors import InputError
from tumorseg.interactive.baselines import RandomWalkerSegmenter, RegionGrowingSegmenter
from tumorseg.interactive.evaluation import (
    ClickSegmenter,
    InteractiveEvalConfig,
    SessionSegmenter,
    find_eval_cases,
    lesion_targets,
    run_cases,
    summarize,
    write_reports,
)
from tumorseg.io import label_map_array, read_volume
from tumorseg.io.atomic import require_folder_name

__all__ = ["evaluate_interactive_command"]


class MethodOption(StrEnum):
    """``--method``."""

    model = "model"
    random_walker = "random-walker"
    region_growing = "region-growing"


class TargetOption(StrEnum):
    """``--targets``."""

    components = "components"
    labels = "labels"


def _segmenters(methods: list[MethodOption], model: str | None,
                device: str) -> dict[str, ClickSegmenter]:
    out: dict[str, ClickSegmenter] = {}
    for m in dict.fromkeys(MethodOption(v) for v in methods):
        if m is MethodOption.model:
            segmenter = SessionSegmenter(model, device=device)
            with status("Loading the interactive model"):
                segmenter.load()
            out[m.value] = segmenter
        elif m is MethodOption.random_walker:
            out[m.value] = RandomWalkerSegmenter()
        else:
            out[m.value] = RegionGrowingSegmenter()
    return out


def evaluate_interactive_command(
    dataset: Annotated[Path, typer.Argument(
        help="An MSD / nnU-Net dataset folder (labelled imagesTs/labelsTs if any, else "
             "imagesTr/labelsTr; first channel) or a CSV with columns image,label (relative "
             "paths are relative to the CSV's folder).",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Output folder: clicks.csv, summary.json, dice_vs_clicks.png.",
        show_default=False)],
    method: Annotated[list[MethodOption] | None, typer.Option(
        "--method", help="Method(s) to evaluate; repeat the option for several "
                         "(default: random-walker and region-growing).",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Interactive model folder or name for --method model "
                              "(default: the bundled one).", show_default=False)] = None,
    clicks: Annotated[int, typer.Option("--clicks", help="Clicks per lesion (N).")] = 10,
    max_cases: Annotated[int | None, typer.Option(
        "--max-cases", help="Evaluate only the first N cases.", show_default=False)] = None,
    min_lesion_mm3: Annotated[float, typer.Option(
        "--min-lesion-mm3", help="Lesions smaller than this (mm³) are not evaluated.")] = 50.0,
    targets: Annotated[TargetOption, typer.Option(
        "--targets", help="components: each connected lesion of label > 0; labels: each "
                          "label value (instance maps).")] = TargetOption.components,
    device: Annotated[str, typer.Option(help="Device of --method model: cpu, cuda, auto.")
                      ] = "cpu",
) -> None:
    """Measure click-guided segmentation with the standard click robot: Dice after 1…N clicks,
    NoC@80/85/90 and seconds per click, for the model and the classical baselines.

    Each lesion is segmented on its own: click 1 at its deepest point (distance transform in
    mm), each next click at the deepest point of the largest error region (positive for a miss,
    negative for a false positive). A lesion that never reaches a Dice level counts N clicks.

    Example: tumorseg evaluate-interactive data/abdomen --method random-walker
    --method region-growing --clicks 10 -o results/interactive
    """
    require_folder_name(out, "-o", "")
    config = InteractiveEvalConfig(n_clicks=clicks, min_lesion_mm3=min_lesion_mm3,
                                   targets=TargetOption(targets).value)  # type: ignore[arg-type]
    if max_cases is not None and max_cases < 1:
        raise InputError(f"--max-cases {max_cases}: must be at least 1")
    cases = find_eval_cases(dataset)[:max_cases]
    segmenters = _segmenters(method or [MethodOption.random_walker,
                                        MethodOption.region_growing], model, device)
    n_targets = 0
    for c in cases:  # labels only (checked to be label maps), for the progress bar's total
        lab = read_volume(c.label, modality="SEG")
        label_map_array(lab, c.label)
        n_targets += len(lesion_targets(lab.array, lab.spacing, config.min_lesion_mm3,
                                        config.targets))
    if n_targets == 0:
        raise InputError(f"{dataset}: no lesion of at least {min_lesion_mm3:g} mm³ in "
                         f"{len(cases)} case(s)")
    loaded = ((c.name, *c.load()) for c in cases)  # one case in memory at a time
    t0 = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task(f"{len(segmenters)} method(s) × {n_targets} lesion(s)",
                            total=n_targets)
        records = run_cases(loaded, segmenters, config,
                            on_target=lambda *_: bar.advance(task))
    summary = summarize(records, config.n_clicks, config.thresholds)
    extra = {"dataset": str(dataset), "cases": [c.name for c in cases],
             "min_lesion_mm3": config.min_lesion_mm3, "targets": config.targets,
             "model": model, "tumorseg_version": __version__,
             "machine": f"{platform.machine()}, {os.cpu_count()} cores",
             "wall_seconds": time.perf_counter() - t0}
    paths = write_reports(records, summary, out, extra)

    _print_summary(summary, n_targets, len(cases))
    for path in (paths.clicks_csv, paths.summary_json, paths.plot_png):
        console.print(f"wrote {path}")


def _print_summary(summary: dict, n_targets: int, n_cases: int) -> None:
    """Two rich tables (mean Dice per click count; NoC and seconds) and the NoC footnote."""
    n = int(summary["n_clicks"])
    shown = [c for c in (1, 2, 3, 5, 10, 15, 20) if c < n] + [n]
    dice_table = Table(title=f"mean Dice after n clicks ({n_targets} lesion(s), "
                             f"{n_cases} case(s))")
    dice_table.add_column("method", no_wrap=True)
    for c in shown:
        dice_table.add_column(f"n={c}", justify="right", no_wrap=True)
    noc_table = Table(title=f"clicks to reach Dice (NoC, at most {n}) and seconds per click")
    noc_table.add_column("method", no_wrap=True)
    for t in summary["thresholds"]:
        noc_table.add_column(f"NoC@{round(t * 100)}", justify="right", no_wrap=True)
    noc_table.add_column("s median", justify="right", no_wrap=True)
    noc_table.add_column("s p95", justify="right", no_wrap=True)
    missed = []
    for name, s in summary["methods"].items():
        dice_table.add_row(name, *[f"{s['mean_dice'][c - 1]:.3f}" for c in shown])
        sec = s["seconds_per_click"]
        times = ([f"{sec['median']:.2f}", f"{sec['p95']:.2f}"] if sec["n"] else ["–", "–"])
        noc_table.add_row(name, *[f"{v['mean']:.2f}" for v in s["noc"].values()], *times)
        missed += [f"{name} {v['not_reached']}/{s['n_targets']} below {level}%"
                   for level, v in s["noc"].items() if v["not_reached"]]
    console.print(dice_table)
    console.print(noc_table)
    if missed:
        console.print(f"lesions that never reached the Dice level (counted as {n} clicks): "
                      + ", ".join(missed))

"""``tumorseg evaluate``: Dice, HD95, ASSD, NSD, volumes and lesion-wise metrics of predictions."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tumorseg.cli.common import console, err_console, track
from tumorseg.errors import InputError
from tumorseg.io.atomic import require_folder_name
from tumorseg.metrics import CasePair, MetricsConfig, UnmatchedCasesWarning, evaluate_files
from tumorseg.metrics.report import case_rows
from tumorseg.metrics.summary import summarize_rows

__all__ = ["evaluate_command"]


class SizeUnit(StrEnum):
    """Unit of ``--min-lesion-size``."""

    voxels = "voxels"
    mm3 = "mm3"


#: (column, shown name, format) of the summary table.
_SHOWN = (
    ("dice", "Dice", ".3f"),
    ("nsd", "NSD", ".3f"),
    ("hd95_mm", "HD95 mm", ".2f"),
    ("assd_mm", "ASSD mm", ".2f"),
    ("sensitivity", "sensitivity", ".3f"),
    ("precision", "precision", ".3f"),
    ("abs_volume_diff_ml", "|ΔV| mL", ".2f"),
    ("lesionwise_dice", "lesion-wise Dice", ".3f"),
    ("lesionwise_hd95_mm", "lesion-wise HD95 mm", ".2f"),
    ("lesion_sensitivity", "lesion sensitivity", ".3f"),
    ("lesion_fp", "FP lesions / case", ".2f"),
)


def _numbers(text: str, option: str, kind: type[float] | type[int] = float) -> tuple:
    """``"0,10,inf"`` → ``(0.0, 10.0, inf)``; an :class:`InputError` naming the option if bad."""
    try:
        return tuple(kind(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise InputError(f"{option} {text}: expected comma-separated {what}") from None


def _fmt(value: float, spec: str) -> str:
    return "–" if math.isnan(value) else format(value, spec)


def evaluate_command(
    pred: Annotated[Path, typer.Argument(
        help="Predicted label map, or a folder of them (.nii.gz, .nrrd, .mha).",
        show_default=False)],
    gt: Annotated[Path, typer.Argument(
        help="Reference label map, or a folder with files of the same names.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Output folder for the CSV and JSON reports.", show_default=False)],
    tolerance_mm: Annotated[float, typer.Option(
        "--tolerance-mm", help="Tolerance of the normalised surface Dice, in mm.")] = 2.0,
    connectivity: Annotated[int, typer.Option(
        help="Lesion connectivity: 6, 18 or 26 neighbours.")] = 26,
    labels: Annotated[str | None, typer.Option(
        help="Labels to evaluate, e.g. 1,2 (default: every label present).",
        show_default=False)] = None,
    min_lesion_size: Annotated[float, typer.Option(
        help="Ignore lesions smaller than this in lesion-wise metrics (0 keeps all).")] = 0.0,
    min_lesion_unit: Annotated[SizeUnit, typer.Option(
        help="Unit of --min-lesion-size.")] = SizeUnit.voxels,
    size_bins: Annotated[str, typer.Option(
        help="Lesion size-bin edges: equivalent diameter in mm.")] = "0,10,20,30,inf",
    missed_hd95_mm: Annotated[float, typer.Option(
        help="Lesion-wise HD95 of a missed or false-positive lesion, in mm.")] = 374.0,
    match_dilation: Annotated[int, typer.Option(
        help="Dilate reference lesions by this many voxels to match predictions.")] = 1,
    match_connectivity: Annotated[int, typer.Option(
        help="Structuring element of that dilation: 26 (3x3x3 cube), 18 (BraTS) or 6.")] = 26,
    count_small_fp: Annotated[bool, typer.Option(
        help="Count unmatched predicted lesions below --min-lesion-size as false positives "
             "(as BraTS 2023).")] = False,
    lesionwise: Annotated[bool, typer.Option(
        help="Compute lesion-wise metrics.")] = True,
) -> None:
    """Compare predicted segmentations with reference ones: Dice, IoU, HD95, ASSD, NSD,
    volumes, and lesion-wise detection, Dice and HD95 (BraTS 2023 style), per label.

    Writes metrics_per_case.csv, metrics_per_lesion.csv and metrics_summary.json to --out.
    Folders are matched by file name without its suffix.

    Example: tumorseg evaluate preds/ labels/ -o results/ --tolerance-mm 1
    """
    require_folder_name(out, "-o", "")
    config = MetricsConfig(
        nsd_tolerance_mm=tolerance_mm,
        connectivity=connectivity,
        labels=_numbers(labels, "--labels", int) if labels else None,
        min_lesion_size=min_lesion_size,
        min_lesion_size_unit=SizeUnit(min_lesion_unit).value,  # type: ignore[arg-type]
        ignore_small_predictions=not count_small_fp,
        size_bins_mm=_numbers(size_bins, "--size-bins"),
        missed_lesion_hd95_mm=missed_hd95_mm,
        match_dilation_iterations=match_dilation,
        match_dilation_connectivity=match_connectivity,
        lesionwise=lesionwise,
    )

    def progress(pairs: Sequence[CasePair]) -> Iterable[CasePair]:
        return track(pairs, "Evaluating", total=len(pairs)) if len(pairs) > 1 else pairs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnmatchedCasesWarning)
        result = evaluate_files(pred, gt, out, config, progress=progress)
    for w in caught:
        if issubclass(w.category, UnmatchedCasesWarning):
            err_console.print(f"[yellow]warning:[/yellow] {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)

    stats = summarize_rows(case_rows(result.cases), [c for c, _, _ in _SHOWN])
    table = Table(title=f"{len(result.cases)} case(s)")
    table.add_column("label", justify="right")
    table.add_column("metric", no_wrap=True)
    table.add_column("mean ± std", justify="right", no_wrap=True)
    table.add_column(escape("median [q1, q3]"), justify="right", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for label, per_metric in stats.items():
        for column, name, spec in _SHOWN:
            if column not in per_metric:
                continue
            s = per_metric[column]
            excluded = f" (+{s.n_nonfinite} non-finite)" if s.n_nonfinite else ""
            quartiles = f"{_fmt(s.median, spec)} [{_fmt(s.q1, spec)}, {_fmt(s.q3, spec)}]"
            table.add_row(str(label), name, f"{_fmt(s.mean, spec)} ± {_fmt(s.std, spec)}",
                          escape(quartiles), f"{s.count}{excluded}")
    console.print(table)
    for path in (result.paths.per_case_csv, result.paths.per_lesion_csv,
                 result.paths.summary_json):
        console.print(f"wrote {path}")

"""File level: match prediction and reference files, compute metrics, write the reports.

Cases are matched by file name without its image suffix (``tumorseg.io.strip_image_suffix``):
``preds/case_001.nii.gz`` pairs with ``labels/case_001.nrrd``. Names found on one side only
are reported in an :class:`UnmatchedCasesWarning` and in the summary JSON; no match at all
is an :class:`~tumorseg.errors.InputError`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.io import (
    align_to_grid,
    is_image_path,
    label_map_array,
    read_volume,
    strip_image_suffix,
)
from tumorseg.metrics.case import CaseMetrics, evaluate_labels
from tumorseg.metrics.config import MetricsConfig
from tumorseg.metrics.report import ReportPaths, write_reports

__all__ = [
    "CaseMatching",
    "CasePair",
    "EvaluationResult",
    "UnmatchedCasesWarning",
    "evaluate_files",
    "evaluate_pair",
    "match_cases",
]


class UnmatchedCasesWarning(UserWarning):
    """Some prediction or reference files have no partner and were not evaluated."""


@dataclass(frozen=True)
class CasePair:
    """A prediction file and the reference file of the same case."""

    name: str
    pred: Path
    gt: Path


@dataclass(frozen=True)
class CaseMatching:
    """Matched pairs (sorted by name) and the names found on one side only."""

    pairs: tuple[CasePair, ...]
    unmatched_pred: tuple[str, ...]
    unmatched_gt: tuple[str, ...]


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate_files` computed and wrote."""

    cases: tuple[CaseMetrics, ...]
    matching: CaseMatching
    config: MetricsConfig
    paths: ReportPaths


def _images(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or not is_image_path(p):
            continue
        name = strip_image_suffix(p.name)
        if name in found:
            raise InputError(f"{folder}: two images of case {name!r}: {found[name].name}, {p.name}")
        found[name] = p
    if not found:
        raise InputError(f"{folder}: no image files (.nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd)")
    return found


def _some(names: Iterable[str], n: int = 5) -> str:
    names = list(names)
    if not names:
        return "none"
    more = f", … ({len(names)} in all)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def match_cases(pred: str | Path, gt: str | Path) -> CaseMatching:
    """Pair prediction and reference files: two files, or two folders matched by case name.

    Raises:
        InputError: a path is missing, one is a file and the other a folder, a folder holds
            no images or two images of one case, or no case name matches.
    """
    pred, gt = Path(pred), Path(gt)
    for p in (pred, gt):
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
    if pred.is_dir() != gt.is_dir():
        raise InputError(f"{pred}, {gt}: give two files or two folders, not one of each")
    if not pred.is_dir():
        return CaseMatching((CasePair(strip_image_suffix(pred.name), pred, gt),), (), ())
    preds, gts = _images(pred), _images(gt)
    common = sorted(preds.keys() & gts.keys())
    if not common:
        raise InputError(f"{pred}, {gt}: no case name in common (predictions: "
                         f"{_some(sorted(preds))}; references: {_some(sorted(gts))})")
    return CaseMatching(
        pairs=tuple(CasePair(n, preds[n], gts[n]) for n in common),
        unmatched_pred=tuple(sorted(preds.keys() - gts.keys())),
        unmatched_gt=tuple(sorted(gts.keys() - preds.keys())),
    )


def evaluate_pair(pair: CasePair, config: MetricsConfig | None = None) -> CaseMetrics:
    """Read one prediction/reference pair, check their grids and compute every metric.

    Raises:
        InputError: unreadable file, not a label map, or (as
            :class:`~tumorseg.errors.GeometryMismatchError`) grids that differ — the message
            names both files.
    """
    config = config or MetricsConfig()
    ref_vol = read_volume(pair.gt)
    pred_vol = read_volume(pair.pred)
    # the same lattice stored in another axis order or sign (a flipped save) is rearranged
    pred_vol = align_to_grid(pred_vol, ref_vol, str(pair.pred), str(pair.gt))
    pred = label_map_array(pred_vol, pair.pred)
    ref = label_map_array(ref_vol, pair.gt)
    labels = evaluate_labels(pred, ref, ref_vol.spacing, config)
    return CaseMetrics(pair.name, tuple(labels), ref_vol.spacing, str(pair.pred), str(pair.gt))


def evaluate_files(
    pred: str | Path,
    gt: str | Path,
    out_dir: str | Path,
    config: MetricsConfig | None = None,
    progress: Callable[[Sequence[CasePair]], Iterable[CasePair]] | None = None,
) -> EvaluationResult:
    """Evaluate predictions against references and write CSV and JSON reports.

    Args:
        pred: a prediction label-map file, or a folder of them.
        gt: the reference file, or a folder with files of the same case names.
        out_dir: output folder (created); gets ``metrics_per_case.csv`` (one row per case ×
            label), ``metrics_per_lesion.csv`` and ``metrics_summary.json``.
        config: metric settings (:class:`MetricsConfig` defaults when ``None``).
        progress: optional wrapper around the case list, e.g. a progress bar.

    Returns:
        The per-case metrics, the case matching, the config and the written paths.

    Raises:
        InputError: see :func:`match_cases` and :func:`evaluate_pair`.

    Example:
        >>> evaluate_files("preds/", "labels/", "results/")  # doctest: +SKIP
    """
    config = config or MetricsConfig()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: output must be a folder, this is a file")
    matching = match_cases(pred, gt)
    if matching.unmatched_pred or matching.unmatched_gt:
        warnings.warn(UnmatchedCasesWarning(
            f"not evaluated: predictions without reference: {_some(matching.unmatched_pred)}; "
            f"references without prediction: {_some(matching.unmatched_gt)}"), stacklevel=2)
    pairs = matching.pairs
    cases = tuple(evaluate_pair(p, config) for p in (progress(pairs) if progress else pairs))
    meta = {
        "tool": f"tumorseg {__version__}",
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "pred": str(pred),
        "gt": str(gt),
        "unmatched_pred": list(matching.unmatched_pred),
        "unmatched_gt": list(matching.unmatched_gt),
    }
    paths = write_reports(cases, out, config, meta)
    return EvaluationResult(cases, matching, config, paths)

"""Measure click-guided segmenters with the standard click robot, all with the same protocol.

Protocol (``tumorseg evaluate-interactive``): every lesion of every case is one *target*,
segmented on its own from a fresh :meth:`ClickSegmenter.start`. Click 1 is
:func:`~tumorseg.interactive.robot.first_click` (deepest point of the target); clicks 2…N are
:func:`~tumorseg.interactive.robot.next_click` on the method's own previous mask (deepest
point of the largest error region, positive for a miss, negative for a false positive). After
each click the Dice of the method's mask with the target is recorded, with the seconds
:meth:`ClickSegmenter.update` took. When a mask is perfect the robot stops and the remaining
click counts keep Dice 1.

Targets: the 26-connected components of ``label > 0`` of at least ``min_lesion_mm3`` (multi-
class maps such as BraTS count as one tumor per component), or with ``targets="labels"`` each
label value of an instance map (also filtered by volume).

Summary per method: mean Dice after 1…N clicks; NoC@t for t in ``thresholds`` — the number of
clicks a target needs to reach Dice ≥ t, **counted as N when it never does** (the count of
such targets is reported next to the mean); median and 95th percentile of seconds per click.

Outputs (all written atomically): ``clicks.csv`` (one row per method × target × click),
``summary.json`` and ``dice_vs_clicks.png``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cc3d
import numpy as np

from tumorseg.errors import InputError
from tumorseg.interactive.prompts import Click
from tumorseg.interactive.robot import first_click, next_click
from tumorseg.io import (
    Volume,
    atomic_path,
    atomic_write_text,
    check_same_grid,
    label_map_array,
    read_volume,
    strip_image_suffix,
)

__all__ = [
    "ClickRecord",
    "ClickSegmenter",
    "EvalCase",
    "InteractiveEvalConfig",
    "InteractiveEvalPaths",
    "SessionSegmenter",
    "dice",
    "evaluate_target",
    "find_eval_cases",
    "lesion_targets",
    "plot_dice_curves",
    "run_cases",
    "summarize",
    "write_reports",
]

TargetMode = Literal["components", "labels"]


@runtime_checkable
class ClickSegmenter(Protocol):
    """A click-driven segmenter of one object at a time.

    ``start`` begins a new object on ``volume`` (a 3D :class:`Volume`, ``[i, j, k]``), with an
    optional boolean prior mask on its grid; ``update`` adds one click and returns the boolean
    mask ``[i, j, k]`` of the object after it, on the volume's grid.
    """

    def start(self, volume: Volume, prior: np.ndarray | None = None) -> None: ...

    def update(self, click: Click) -> np.ndarray: ...


class SessionSegmenter:
    """The click-guided model through :class:`tumorseg.interactive.session.InteractiveSession`.

    Args:
        model: ``None`` (the bundled interactive model), a model folder, a bundled name, or
            an already loaded model (anything the session accepts).
        device: "cpu" or "cuda".

    The model is loaded once (:meth:`load`, or on the first :meth:`start`); every target gets
    a fresh session (lesion 1), so the seconds per click include the session's ROI
    resampling and normalisation on the first click, cached afterwards.
    """

    name = "model"

    def __init__(self, model: Any = None, device: str = "cpu") -> None:
        self.model = model
        self.device = device
        self._loaded: Any = None
        self._session: Any = None

    def load(self) -> None:
        """Load the model now (errors surface here, before any evaluation)."""
        if self._loaded is None:
            if hasattr(self.model, "predict"):
                self._loaded = self.model
            else:
                from tumorseg.interactive.model import InteractiveModel

                self._loaded = InteractiveModel.load(self.model, device=self.device)

    def start(self, volume: Volume, prior: np.ndarray | None = None) -> None:
        """Open a fresh session on ``volume`` with an optional prior mask."""
        from tumorseg.interactive.session import InteractiveSession

        self.load()
        self._session = InteractiveSession(volume, model=self._loaded, device=self.device,
                                           prior=prior)

    def update(self, click: Click) -> np.ndarray:
        """Add ``click`` to the active lesion; return that lesion's boolean mask."""
        if self._session is None:
            raise RuntimeError("call start(volume) before update(click)")
        mask = np.asarray(self._session.add_click(click))
        return mask == int(self._session.active_lesion)


@dataclass(frozen=True)
class InteractiveEvalConfig:
    """Settings of the protocol.

    Attributes:
        n_clicks: clicks per target (N).
        min_lesion_mm3: smaller targets are left out (mm³).
        targets: "components" (connected components of label > 0) or "labels" (each value).
        thresholds: Dice levels of the NoC@ numbers.
    """

    n_clicks: int = 10
    min_lesion_mm3: float = 50.0
    targets: TargetMode = "components"
    thresholds: tuple[float, ...] = (0.80, 0.85, 0.90)

    def __post_init__(self) -> None:
        if self.n_clicks < 1:
            raise InputError(f"--clicks {self.n_clicks}: need at least one click")
        if self.min_lesion_mm3 < 0:
            raise InputError(f"--min-lesion-mm3 {self.min_lesion_mm3}: must not be negative")
        if self.targets not in ("components", "labels"):
            raise InputError(f"targets {self.targets!r}: choose 'components' or 'labels'")


@dataclass(frozen=True)
class ClickRecord:
    """The state after one click on one target (a row of ``clicks.csv``).

    ``clicked`` is False for click counts after the mask became perfect (no click was given;
    Dice stays 1, coordinates and seconds are empty). ``seconds`` is the time of ``update``.
    """

    method: str
    case: str
    target: int
    target_mm3: float
    click: int
    clicked: bool
    i: int | None
    j: int | None
    k: int | None
    positive: bool | None
    dice: float
    seconds: float | None


@dataclass(frozen=True)
class EvalCase:
    """One case to evaluate: an image file (first channel used) and its label map."""

    name: str
    image: Path
    label: Path

    def load(self) -> tuple[Volume, Volume]:
        """Read the image (its first channel, 3D) and the label map, checked to share a grid."""
        image = read_volume(self.image)
        if image.is_multichannel:
            image = image.channel(0)
        label = read_volume(self.label, modality="SEG")
        if label.is_multichannel:
            raise InputError(f"{self.label}: a label map must be 3D, not {label.n_channels} "
                             "channels")
        label_map_array(label, self.label)  # an image given as the label is refused here
        check_same_grid(image, label, what_a=str(self.image), what_b=str(self.label))
        return image, label


# ------------------------------------------------------------------------------ targets
def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def lesion_targets(label: np.ndarray, spacing: Sequence[float], min_mm3: float = 50.0,
                   mode: TargetMode = "components") -> list[np.ndarray]:
    """The targets of one label map as boolean masks ``[i, j, k]``, in a fixed order.

    Args:
        label: integer label map ``[i, j, k]``.
        spacing: voxel size in mm along i, j, k.
        min_mm3: targets smaller than this volume (mm³) are left out.
        mode: "components": the 26-connected components of ``label > 0`` (ordered by their
            first voxel in C order); "labels": one target per label value > 0 (ascending).
    """
    label = np.asarray(label)
    voxel_mm3 = float(np.prod(spacing))
    if mode == "labels":
        ids = label.astype(np.int64)
        values = [int(v) for v in np.unique(ids) if v > 0]
    else:
        ids = cc3d.connected_components((label > 0).astype(np.uint8), connectivity=26)
        values = list(range(1, int(ids.max()) + 1))
    counts = np.bincount(ids.reshape(-1)) if ids.size else np.zeros(1, int)
    return [ids == v for v in values if counts[v] * voxel_mm3 >= min_mm3]


# ------------------------------------------------------------------------------ protocol
def evaluate_target(segmenter: ClickSegmenter, volume: Volume, target: np.ndarray,
                    n_clicks: int, method: str = "", case: str = "",
                    target_id: int = 0) -> list[ClickRecord]:
    """Run the robot for ``n_clicks`` clicks on one target; one record per click count.

    Raises:
        ValueError: when ``target`` is empty or the segmenter returns a mask of a wrong shape.
    """
    target = np.asarray(target, dtype=bool)
    if not target.any():
        raise ValueError("the target is empty")
    spacing = volume.spacing
    mm3 = float(target.sum()) * volume.voxel_volume_mm3
    segmenter.start(volume)
    records: list[ClickRecord] = []
    click: Click | None = first_click(target, spacing)
    for n in range(1, n_clicks + 1):
        if click is None:  # perfect already: no click, Dice stays 1
            records.append(ClickRecord(method, case, target_id, mm3, n, False, None, None, None,
                                       None, 1.0, None))
            continue
        t0 = time.perf_counter()
        pred = np.asarray(segmenter.update(click), dtype=bool)
        seconds = time.perf_counter() - t0
        if pred.shape != target.shape:
            raise ValueError(f"{method}: mask shape {pred.shape} != volume shape {target.shape}")
        records.append(ClickRecord(method, case, target_id, mm3, n, True, *click.index,
                                   click.positive, dice(pred, target), seconds))
        click = next_click(pred, target, spacing) if n < n_clicks else None
    return records


def summarize(records: Iterable[ClickRecord], n_clicks: int,
              thresholds: Sequence[float] = (0.80, 0.85, 0.90)) -> dict:
    """Per-method summary: mean Dice per click count, NoC@t, seconds per click.

    Returns a JSON-ready dict ``{"n_clicks", "thresholds", "noc_rule", "methods": {method:
    {"n_targets", "mean_dice": [after 1…N], "noc": {"80": {"mean", "not_reached"}, …},
    "seconds_per_click": {"median", "p95", "n"}}}}``.
    """
    by_method: dict[str, dict[tuple[str, int], dict[int, ClickRecord]]] = {}
    for r in records:
        by_method.setdefault(r.method, {}).setdefault((r.case, r.target), {})[r.click] = r
    methods = {}
    for method, targets in by_method.items():
        curves = np.array([[per[n].dice for n in range(1, n_clicks + 1)]
                           for per in targets.values()])
        noc = {}
        for t in thresholds:
            reached = curves >= t
            clicks = np.where(reached.any(axis=1), reached.argmax(axis=1) + 1, n_clicks)
            noc[f"{round(t * 100):d}"] = {"mean": float(clicks.mean()),
                                          "not_reached": int((~reached.any(axis=1)).sum())}
        secs = np.array([r.seconds for per in targets.values() for r in per.values()
                         if r.seconds is not None])
        methods[method] = {
            "n_targets": len(targets),
            "mean_dice": [float(v) for v in curves.mean(axis=0)],
            "noc": noc,
            "seconds_per_click": {
                "median": float(np.median(secs)) if secs.size else None,
                "p95": float(np.percentile(secs, 95)) if secs.size else None,
                "n": int(secs.size)},
        }
    return {"n_clicks": n_clicks, "thresholds": list(thresholds),
            "noc_rule": f"a target that never reaches the Dice threshold counts {n_clicks} "
                        "clicks (see not_reached)",
            "methods": methods}


# ------------------------------------------------------------------------------ reports
@dataclass(frozen=True)
class InteractiveEvalPaths:
    """Files written by :func:`write_reports`."""

    clicks_csv: Path
    summary_json: Path
    plot_png: Path


def plot_dice_curves(summary: Mapping, path: str | os.PathLike[str]) -> Path:
    """Write a PNG of mean Dice against the number of clicks, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    x = np.arange(1, int(summary["n_clicks"]) + 1)
    for method, s in summary["methods"].items():
        ax.plot(x, s["mean_dice"], marker="o", label=f"{method} (n={s['n_targets']})")
    ax.set_xlabel("clicks")
    ax.set_ylabel("mean Dice")
    ax.set_ylim(0, 1)
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def write_reports(records: Sequence[ClickRecord], summary: Mapping,
                  out: str | os.PathLike[str], extra: Mapping | None = None
                  ) -> InteractiveEvalPaths:
    """Write ``clicks.csv``, ``summary.json`` (``summary`` plus ``extra``) and the plot."""
    out = Path(out)
    columns = [f.name for f in ClickRecord.__dataclass_fields__.values()]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in records:
        row = asdict(r)
        row["dice"] = f"{r.dice:.6f}"
        row["target_mm3"] = f"{r.target_mm3:.3f}"
        row["seconds"] = "" if r.seconds is None else f"{r.seconds:.4f}"
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    paths = InteractiveEvalPaths(out / "clicks.csv", out / "summary.json",
                                 out / "dice_vs_clicks.png")
    atomic_write_text(paths.clicks_csv, buf.getvalue())
    atomic_write_text(paths.summary_json,
                      json.dumps({**summary, **(extra or {})}, indent=2) + "\n")
    plot_dice_curves(summary, paths.plot_png)
    return paths


# ------------------------------------------------------------------------------ datasets
def _csv_cases(path: Path) -> list[EvalCase]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"image", "label"} <= set(reader.fieldnames):
        raise InputError(f"{path}: a case list needs the columns image,label")
    cases = []
    for n, row in enumerate(reader, start=1):
        image = (path.parent / (row["image"] or "").strip()).resolve()
        label = (path.parent / (row["label"] or "").strip()).resolve()
        for f in (image, label):
            if not f.exists():
                raise InputError(f"{path}: row {n}: {f}: no such file")
        name = (row.get("case") or "").strip() or strip_image_suffix(image.name)
        cases.append(EvalCase(name, image, label))
    if not cases:
        raise InputError(f"{path}: no cases listed")
    return cases


def find_eval_cases(dataset: str | os.PathLike[str]) -> list[EvalCase]:
    """The labelled cases of an MSD / nnU-Net dataset folder or of a CSV (``image,label``).

    A dataset folder contributes its labelled test cases (imagesTs/labelsTs) when it has
    any, else its training cases; only the first channel's file is used. CSV paths are
    relative to the CSV's folder; an optional ``case`` column names the cases.

    Raises:
        InputError: a missing path, a malformed dataset or CSV, or no labelled case.
    """
    path = Path(dataset)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise InputError(f"{path}: expected a dataset folder or a .csv with image,label")
        return _csv_cases(path)
    from tumorseg.planning import read_dataset

    info = read_dataset(path)
    labelled = [c for c in info.test_cases if c.label is not None] or list(info.cases)
    if not labelled:
        raise InputError(f"{path}: no labelled cases")
    return [EvalCase(c.name, c.images[0], c.label) for c in labelled if c.label is not None]


def run_cases(cases: Iterable[tuple[str, Volume, Volume]],
              segmenters: Mapping[str, ClickSegmenter], config: InteractiveEvalConfig,
              on_target: Callable[[str, int], None] | None = None) -> list[ClickRecord]:
    """Evaluate every segmenter on every target of ``(name, image, label)`` cases."""
    records: list[ClickRecord] = []
    for name, image, label in cases:
        targets = lesion_targets(label.array, label.spacing, config.min_lesion_mm3,
                                 config.targets)
        for t, target in enumerate(targets, start=1):
            for method, segmenter in segmenters.items():
                records += evaluate_target(segmenter, image, target, config.n_clicks, method,
                                           name, t)
            if on_target is not None:
                on_target(name, t)
    return records

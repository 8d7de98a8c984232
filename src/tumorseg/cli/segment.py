"""``tumorseg segment``: click-guided segmentation from the command line (scripts, batch use).

The prompts are replayed through :class:`~tumorseg.interactive.session.InteractiveSession`
exactly as a user would give them, lesion by lesion (in the order lesions first appear):
that lesion's box, then its positive clicks in order, then its negative clicks in order.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from tumorseg.cli.common import case_progress, choice, console, file_suffix, status
from tumorseg.errors import InputError
from tumorseg.interactive.prompts import Box
from tumorseg.io import (
    CoordSystem,
    Volume,
    align_to_grid,
    label_map_array,
    parse_point,
    point_to_index,
    read_volume,
    write_volume,
)

__all__ = ["parse_prompt", "segment_command"]

Index = tuple[int, int, int]


def parse_prompt(text: str, n_values: int, option: str
                 ) -> tuple[tuple[float, ...], int | None]:
    """``"X,Y,Z"`` or ``"X,Y,Z:L"`` (``n_values`` numbers, optional lesion L ≥ 1; None when
    no lesion is given)."""
    body, _, lesion_text = text.strip().partition(":")
    lesion = None
    if lesion_text:
        try:
            lesion = int(lesion_text)
        except ValueError:
            raise InputError(f"{option} {text}: lesion after ':' must be an integer") from None
        if lesion < 1:
            raise InputError(f"{option} {text}: lesion numbers start at 1")
    parts = [p.strip() for p in body.split(",")]
    if len(parts) != n_values:
        raise InputError(f"{option} {text}: expected {n_values} comma-separated numbers")
    if n_values == 3:
        return parse_point(body), lesion
    try:
        return tuple(float(p) for p in parts), lesion
    except ValueError as exc:
        raise InputError(f"{option} {text}: not a number ({exc})") from None


def _index(volume: Volume, point: tuple[float, ...], coords: CoordSystem, what: str) -> Index:
    return point_to_index(volume, (point[0], point[1], point[2]), coords, what=what)


def _check_contradictions(prompts: list[tuple[str, int | None, object, str]]) -> None:
    """One voxel given as a positive and a negative click (of one lesion, or both without a
    lesion number) is an :class:`InputError` naming both options."""
    positives = {(lesion, value): text for kind, lesion, value, text in prompts if kind == "pos"}
    for kind, lesion, value, text in prompts:
        if kind == "neg" and (lesion, value) in positives:
            raise InputError(f"{positives[lesion, value]} and {text}: voxel {value} is given "
                             "as both a positive and a negative click")


def _plan_lesions(prompts: list[tuple[str, int | None, Any, str]], start: np.ndarray,
                  has_prior: bool, renumber: bool) -> dict[int, dict[str, list]]:
    """Group the prompts by output lesion: ``{lesion: {"box": [...], "pos": [...],
    "neg": [...]}}`` in the order lesions first appear.

    Without ``:L`` a prompt goes to the prior lesion under it (under a box's centre), else
    to one new lesion. ``:L`` is lesion L of the output: of a prior file, the file's own
    lesion L. With ``renumber`` (``--prior auto``, whose numbering nobody knows before it
    runs) each ``:L`` names a new lesion instead, numbered after the prior's; the mapping is
    printed."""
    top = int(start.max()) if has_prior else 0
    free = itertools.count(top + 1)  # numbers of new lesions
    renamed: dict[int, int] = {}
    unlabeled_new: int | None = None
    plan: dict[int, dict[str, list]] = {}
    for kind, lesion, value, _ in prompts:
        if lesion is None:
            at = value if kind != "box" else tuple(
                (a + b) // 2 for a, b in zip(*value, strict=True))
            lesion = int(start[at])
            if not lesion:
                if unlabeled_new is None:
                    unlabeled_new = next(free) if has_prior else 1
                lesion = unlabeled_new
        elif renumber:
            if lesion not in renamed:
                renamed[lesion] = next(free)
            lesion = renamed[lesion]
        item = Box(*value, lesion) if kind == "box" else value
        plan.setdefault(lesion, {"box": [], "pos": [], "neg": []})[kind].append(item)
    if renamed:
        pairs = ", ".join(f":{a} → lesion {b}" for a, b in renamed.items())
        console.print(f"--prior auto found {top} lesion(s); new lesions: {pairs}")
    return plan


def _prior(spec: str, volume: Volume, device: str) -> np.ndarray | None:
    choice = spec.strip()
    if choice.lower() == "none":
        return None
    if choice.lower() == "auto":
        from tumorseg.inference import Predictor
        from tumorseg.inference.registry import resolve_model

        with status("Loading the automatic model (--prior auto)"):
            predictor = Predictor.from_model_dir(resolve_model(None), device=device, fast=True)
        with case_progress() as shown:
            prediction = predictor.predict_volume(volume, progress=shown.windows("--prior auto"))
        return np.asarray(prediction.labels.array) > 0
    path = Path(choice)
    if not path.exists():
        raise InputError(f"--prior {spec}: expected auto, none or a mask file")
    mask = read_volume(path)
    mask = align_to_grid(mask, volume, str(path), str(volume.source))  # flipped saves too
    return label_map_array(mask, path)


def segment_command(
    image: Annotated[Path, typer.Argument(help="Image file (.nii.gz, .nrrd, .mha) or DICOM "
                                               "series folder.", show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Instance mask to write (0 background, 1…n lesions), on the "
                               "image's grid.", show_default=False)],
    click: Annotated[list[str] | None, typer.Option(
        "--click", "-c", help="Positive click X,Y,Z, or X,Y,Z:L for lesion L. Without L: "
                              "lesion 1, or with --prior the prior lesion under the click "
                              "(one new lesion where there is none). With --prior FILE, L is "
                              "the file's lesion L; with --prior auto, each L names a new "
                              "lesion (numbered after the automatic ones). Repeat for more.")
    ] = None,
    negative: Annotated[list[str] | None, typer.Option(
        "--negative", "-n", help="Negative click X,Y,Z[:L]. Repeat for more.")] = None,
    box: Annotated[list[str] | None, typer.Option(
        "--box", help="Box X0,Y0,Z0,X1,Y1,Z1[:L] around a lesion (two opposite corners, "
                      "inclusive, in any order).")] = None,
    coords: Annotated[str, typer.Option(
        help="voxel: X,Y,Z are array indices; mm: LPS patient positions.")] = "voxel",
    prior: Annotated[str, typer.Option(
        help="Initial mask: none, auto (the automatic model's lesions), or a mask file on "
             "the image's grid.")] = "none",
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Interactive model folder or bundled name "
                              "(default: the bundled interactive-lesions).")] = None,
    channel: Annotated[int, typer.Option(
        min=0, help="Channel of a multi-channel image to segment on.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    threads: Annotated[int | None, typer.Option(
        min=1, help="CPU threads for the network (1 is fastest on a busy machine).")] = None,
    refinement: Annotated[str, typer.Option(
        help="What to do with the network's probability: model (the model folder's setting; "
             "the bundled model averages it with a random walker on the same region), none, "
             "or random-walker.")] = "model",
) -> None:
    """Segment lesions from clicks: replays the prompts through an interactive session.

    Example: tumorseg segment ct.nii.gz --click 120,88,40 --click 60,70,33:2 --negative
    131,90,41 -o mask.nii.gz
    """
    from tumorseg.interactive.model import InteractiveModel
    from tumorseg.interactive.refine import REFINEMENT_METHODS, override
    from tumorseg.interactive.session import InteractiveSession

    if coords not in ("voxel", "mm"):
        raise InputError(f"--coords must be voxel or mm, got {coords!r}")
    refine = choice(refinement, ("model", *REFINEMENT_METHODS), "--refinement")
    if not (click or box):
        raise InputError("give at least one --click or --box")
    file_suffix(output, (".nii.gz", ".nii", ".nrrd", ".mha"), "-o", "the instance mask")
    volume = read_volume(image)
    cs: CoordSystem = coords  # type: ignore[assignment]
    prompts: list[tuple[str, int | None, object, str]] = []
    for text in box or []:
        values, lesion = parse_prompt(text, 6, "--box")
        what = f"--box {text} corner"
        lo, hi = _index(volume, values[:3], cs, what), _index(volume, values[3:], cs, what)
        prompts.append(("box", lesion, (lo, hi), f"--box {text}"))
    for option, kind, texts in (("--click", "pos", click), ("--negative", "neg", negative)):
        for text in texts or []:
            values, lesion = parse_prompt(text, 3, option)
            what = f"{option} {text}"
            prompts.append((kind, lesion, _index(volume, values, cs, what), what))
    _check_contradictions(prompts)

    prior_mask = _prior(prior, volume, device)
    with status("Loading the interactive model"):
        loaded = InteractiveModel.load(
            model, device=device, threads=threads,
            refinement=override(refine))
        session = InteractiveSession(volume, model=loaded, prior=prior_mask, channel=channel)
    plan = _plan_lesions(prompts, session.mask, prior_mask is not None,
                         renumber=prior.strip().lower() == "auto")
    seconds = []
    for lesion in plan:
        session.select_lesion(lesion)
        for b in plan[lesion]["box"]:
            session.set_box(b)
            seconds.append(session.last_seconds)
        for index in plan[lesion]["pos"]:
            session.add_click(index, positive=True)
            seconds.append(session.last_seconds)
        for index in plan[lesion]["neg"]:
            session.add_click(index, positive=False)
            seconds.append(session.last_seconds)
    mask = volume.with_array(np.asarray(session.mask, dtype=np.uint16), modality="SEG",
                             channel_names=None) if volume.array.ndim == 3 else Volume(
        np.asarray(session.mask, dtype=np.uint16), volume.spacing, volume.origin,
        volume.direction, modality="SEG")
    write_volume(mask, output)

    table = Table(title=f"Lesions in {escape(str(output))}")
    for col in ("lesion", "volume mL", "centroid mm (LPS)", "clicks +/-"):
        table.add_column(col)
    for r in session.results:
        table.add_row(str(r.label), f"{r.volume_ml:.2f}",
                      ", ".join(f"{v:.1f}" for v in r.centroid_mm), f"{r.clicks[0]}/{r.clicks[1]}")
    console.print(table)
    median = float(np.median(seconds)) if seconds else 0.0
    console.print(f"{len(seconds)} prompt(s), median {median:.3f} s each; wrote "
                  f"{escape(str(output))}")

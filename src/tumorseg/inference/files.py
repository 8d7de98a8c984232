"""Predict image files and write every output: mask, lesion table, optional probabilities and
uncertainty, and a JSON run manifest.

Outputs for a mask written to ``DIR/NAME.nii.gz`` (the suffix follows the mask's):

=============================  ==================================================================
``NAME.nii.gz``                label map (uint8), post-processed, on the input's exact grid
``NAME_lesions.csv``           lesion table (:mod:`tumorseg.postprocessing.lesions`)
``NAME_probabilities.nii.gz``  with ``save_probabilities``: float32 4D, one channel per label
``NAME_uncertainty.nii.gz``    with ``save_uncertainty``: float32 normalised entropy (0–1)
=============================  ==================================================================

``output`` is a mask file name (one case only) or a folder, where each case becomes
``<case_id>.nii.gz``. The run manifest is ``NAME_run.json`` beside a single mask, or
``run_manifest.json`` in the folder; it is rewritten after every case, so an interrupted run
lists the cases that finished. Every file is written atomically (temporary file, then
rename): a crash never leaves a half-written file under a final name; a case's mask is
written last.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.inference.inputs import CaseInput, collect_cases, read_case
from tumorseg.io import (
    IMAGE_SUFFIXES,
    Volume,
    align_to_grid,
    atomic_write_text,
    is_image_path,
    read_volume,
    strip_image_suffix,
    write_volume,
)
from tumorseg.io.atomic import require_folder_name
from tumorseg.models.manifest import utc_now
from tumorseg.postprocessing import PostprocessConfig, write_lesion_table

if TYPE_CHECKING:
    from tumorseg.inference.predictor import Predictor

__all__ = ["CaseProgress", "CaseResult", "OutputPaths", "PredictRun", "Progress", "output_paths",
           "predict_files"]

#: ``progress(iterable, total, description)`` wraps the case loop (e.g. a progress bar).
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]

#: ``case_progress(case_id, stage, done, total)``: progress inside one case. Stages in order:
#: "reading" (0 of 1), "network" (sliding windows done of total), "writing" (0 of 1).
CaseProgress = Callable[[str, str, int, int], None]

#: What the uncertainty outputs mean, recorded in every run manifest.
UNCERTAINTY_DEFINITION = {
    "voxel_map": "entropy of the mean softmax over folds and mirrored copies, divided by "
                 "log(number of classes): 0 = all members agree on a one-hot output, "
                 "1 = uniform",
    "mean_entropy_foreground": "mean of the voxel map inside the predicted foreground "
                               "(null when nothing is segmented)",
    "self_consistency_dice": "soft Dice between the foreground probability (1 - p_background) "
                             "and the predicted mask: the model's certainty, not accuracy (a "
                             "lesion missed with confidence leaves it at 1)",
    "lesion_mean_uncertainty": "mean of the voxel map over the lesion's voxels",
}


@dataclass(frozen=True)
class OutputPaths:
    """Where one case's outputs go (see the module docstring)."""

    mask: Path
    lesions: Path
    probabilities: Path
    uncertainty: Path

    @classmethod
    def for_mask(cls, mask: str | os.PathLike[str]) -> OutputPaths:
        """Companion paths beside ``mask``, sharing its name and image suffix."""
        m = Path(mask)
        stem = strip_image_suffix(m.name)
        suffix = m.name[len(stem):]
        return cls(m, m.with_name(f"{stem}_lesions.csv"),
                   m.with_name(f"{stem}_probabilities{suffix}"),
                   m.with_name(f"{stem}_uncertainty{suffix}"))


@dataclass(frozen=True)
class CaseResult:
    """What was written for one case, and its summary numbers.

    Attributes:
        case_id: the case's name.
        inputs: input path(s).
        outputs: kind ("mask", "lesions", …) → path written.
        n_lesions: lesions in the post-processed mask.
        foreground_ml: segmented volume in mL.
        uncertainty: per-case scores (:class:`~tumorseg.inference.uncertainty.CaseUncertainty`).
        seconds: wall time per stage, in seconds.
        shape: input size (i, j, k) in voxels; ``spacing``: voxel size in mm.
        lesions_per_label: label name → number of lesions.
    """

    case_id: str
    inputs: list[str]
    outputs: dict[str, str]
    n_lesions: int
    foreground_ml: float
    uncertainty: dict[str, Any]
    seconds: dict[str, float]
    shape: list[int]
    spacing: list[float]
    lesions_per_label: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class PredictRun:
    """What :func:`predict_files` did.

    Attributes:
        cases: one :class:`CaseResult` per case, in input order.
        manifest: the run manifest written.
        seconds: wall time of the whole run, in seconds.
    """

    cases: list[CaseResult]
    manifest: Path
    seconds: float


def output_paths(cases: Sequence[CaseInput], output: str | os.PathLike[str],
                 suffix: str = ".nii.gz") -> tuple[dict[str, OutputPaths], Path]:
    """Mask and companion paths per case, and the run manifest's path.

    Raises:
        InputError: a mask file name given for several cases, an unsupported suffix, or an
            output that would overwrite an input.
    """
    out = Path(output)
    if suffix not in IMAGE_SUFFIXES or suffix in (".mhd", ".nhdr"):
        raise InputError(f"output format {suffix!r}: use .nii.gz, .nii, .nrrd or .mha")
    if is_image_path(out):
        if len(cases) != 1:
            raise InputError(f"{out}: a file name for {len(cases)} cases; give a folder "
                             "with -o")
        if out.name.lower().endswith((".mhd", ".nhdr")):
            raise InputError(f"{out}: detached-header formats are not written; use .mha or "
                             ".nrrd")
        paths = {cases[0].case_id: OutputPaths.for_mask(out)}
        manifest = out.with_name(f"{strip_image_suffix(out.name)}_run.json")
    else:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder (name a mask file with an "
                             f"image suffix, e.g. {out}.nii.gz)")
        require_folder_name(out, "-o", "an image file name (.nii.gz, .nii, .nrrd, .mha)")
        paths = {c.case_id: OutputPaths.for_mask(out / f"{c.case_id}{suffix}") for c in cases}
        manifest = out / "run_manifest.json"
    inputs = {p.resolve() for c in cases for p in c.paths}
    for p in paths.values():
        for target in (p.mask, p.lesions, p.probabilities, p.uncertainty):
            if target.resolve() in inputs:
                raise InputError(f"{target}: the output would overwrite an input")
    return paths, manifest


def _organ_for(case: CaseInput, organ_mask: Path | None, n_cases: int) -> Path | None:
    if organ_mask is None:
        return None
    if not organ_mask.exists():
        raise InputError(f"{organ_mask}: no such file or folder (--organ-mask)")
    if organ_mask.is_file():
        if n_cases != 1:
            raise InputError(f"{organ_mask}: one organ mask for {n_cases} cases; give a "
                             "folder with <case_id>.nii.gz per case")
        return organ_mask
    for suffix in IMAGE_SUFFIXES:
        candidate = organ_mask / f"{case.case_id}{suffix}"
        if candidate.is_file():
            return candidate
    raise InputError(f"{organ_mask / (case.case_id + '.nii.gz')}: no organ mask for case "
                     f"{case.case_id}")


def _read_organ(path: Path, reference: Volume) -> Volume:
    organ = read_volume(path)
    if organ.is_multichannel:
        raise InputError(f"{path}: an organ mask must be a 3D label map")
    return align_to_grid(organ, reference)


def _write_manifest(path: Path, header: dict[str, Any], results: list[CaseResult],
                    started: float) -> None:
    doc = dict(header)
    doc["finished"] = utc_now()
    doc["seconds_total"] = round(time.perf_counter() - started, 3)
    doc["cases"] = [r.to_dict() for r in results]
    atomic_write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")


def predict_files(
    predictor: Predictor,
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    postprocessing: PostprocessConfig | None = None,
    organ_mask: str | os.PathLike[str] | None = None,
    save_probabilities: bool = False,
    save_uncertainty: bool = False,
    suffix: str = ".nii.gz",
    progress: Progress | None = None,
    extra_manifest: dict[str, Any] | None = None,
    case_progress: CaseProgress | None = None,
) -> PredictRun:
    """Predict every case of ``inputs`` and write its outputs (see the module docstring).

    Args:
        predictor: a loaded :class:`~tumorseg.inference.predictor.Predictor`.
        inputs: files, DICOM folders, a folder of cases or a CSV
            (:mod:`tumorseg.inference.inputs`).
        output: a mask file (one case) or a folder.
        postprocessing: applied to every label map; None = the defaults
            (:class:`~tumorseg.postprocessing.PostprocessConfig`).
        organ_mask: an organ label map on the input's voxel grid (one case), or a folder
            with ``<case_id>.nii.gz`` (or another image suffix) per case; lesions outside are
            removed. A mask holding the same voxels in another axis order or direction
            sign is rearranged exactly (:func:`tumorseg.io.align_to_grid`); any other grid
            is an error naming the file.
        save_probabilities: also write the probabilities (float32 4D).
        save_uncertainty: also write the voxel uncertainty map.
        suffix: image suffix of masks in an output folder.
        progress: wraps the case loop, e.g. a progress bar.
        extra_manifest: more keys for the run manifest (e.g. the command line).
        case_progress: called as each case is read, predicted (per sliding window) and
            written (:data:`CaseProgress`).

    Returns:
        A :class:`PredictRun`: one :class:`CaseResult` per case and the manifest's path.

    Raises:
        InputError: bad inputs or outputs (checked for all cases before the first
            prediction where possible), naming the file.
    """
    started = time.perf_counter()
    config = postprocessing or PostprocessConfig()
    cases = collect_cases(inputs, predictor.n_channels)
    paths, manifest_path = output_paths(cases, output, suffix)
    organ_root = None if organ_mask is None else Path(organ_mask)
    organ_files = {c.case_id: _organ_for(c, organ_root, len(cases)) for c in cases}
    header = {
        "tool": "tumorseg predict",
        "tumorseg_version": __version__,
        "started": utc_now(),
        "host": {"python": platform.python_version(), "platform": platform.platform()},
        "model": predictor.describe(),
        "postprocessing": config.to_dict(),
        "organ_mask": None if organ_root is None else str(organ_root),
        "uncertainty": UNCERTAINTY_DEFINITION,
        **(extra_manifest or {}),
    }
    results: list[CaseResult] = []
    loop: Iterable[CaseInput] = cases
    if progress is not None:
        loop = progress(cases, len(cases), "Predicting")
    step: CaseProgress = case_progress or (lambda case_id, stage, done, total: None)
    for case in loop:
        t0 = time.perf_counter()
        step(case.case_id, "reading", 0, 1)
        volume = read_case(case, predictor.channel_names)
        t_read = time.perf_counter() - t0
        organ = None
        organ_file = organ_files[case.case_id]
        if organ_file is not None:
            organ = _read_organ(organ_file, volume)
        prediction = predictor.predict_volume(
            volume, progress=lambda done, total, cid=case.case_id: step(cid, "network", done,
                                                                         total)
        ).postprocessed(config, organ)
        step(case.case_id, "writing", 0, 1)
        t1 = time.perf_counter()
        out = paths[case.case_id]
        written: dict[str, str] = {}
        if save_probabilities:
            write_volume(prediction.probabilities, out.probabilities, dtype=np.float32)
            written["probabilities"] = str(out.probabilities)
        if save_uncertainty:
            write_volume(prediction.uncertainty, out.uncertainty, dtype=np.float32)
            written["uncertainty"] = str(out.uncertainty)
        lesions = prediction.lesions()
        write_lesion_table(lesions, out.lesions)
        written["lesions"] = str(out.lesions)
        write_volume(prediction.labels, out.mask)
        written["mask"] = str(out.mask)
        seconds = {"read": round(t_read, 3), **prediction.seconds,
                   "write": round(time.perf_counter() - t1, 3),
                   "total": round(time.perf_counter() - t0, 3)}
        by_label: dict[str, int] = {}
        for lesion in lesions:
            name = lesion.label_name or str(lesion.label)
            by_label[name] = by_label.get(name, 0) + 1
        results.append(CaseResult(
            case_id=case.case_id, inputs=[str(p) for p in case.paths], outputs=written,
            n_lesions=len(lesions),
            foreground_ml=round(prediction.foreground_voxels
                                * prediction.labels.voxel_volume_mm3 / 1000, 6),
            uncertainty=prediction.scores().to_dict(), seconds=seconds,
            shape=list(volume.shape), spacing=list(volume.spacing),
            lesions_per_label=by_label))
        _write_manifest(manifest_path, header, results, started)
    return PredictRun(results, manifest_path, round(time.perf_counter() - started, 3))

"""What ``tumorseg predict`` accepts, turned into a list of cases with their channel files.

Accepted inputs (``n_channels`` is the model's number of input channels):

* **one image file** (``.nii.gz``, ``.nrrd``, ``.mha``, …) — a 4D file holds all channels;
  a file named ``CASE_0000.nii.gz`` of a multi-channel model brings its siblings
  ``CASE_0001.nii.gz``, … from the same folder;
* **a DICOM series folder** (a folder with no image files in it; the largest series is read);
* **several files**: for a one-channel model each file is a case; for a multi-channel model
  they are grouped by nnU-Net's ``CASE_XXXX`` channel suffix, or, when they do not follow it
  and their number equals the channel count, they are the channels of one case, in order;
* **a folder of cases**: its image files (not searched recursively) grouped by the
  ``CASE_XXXX`` suffix (nnU-Net's ``imagesTs`` layout); a file without the suffix is a
  one-channel case;
* **a CSV file** (``.csv``, UTF-8) with a header row: the first column is the case id
  (header ``case_id``), the others are the channel paths in the model's channel order (one
  column per channel; any header names, e.g. ``CT`` or ``PET``). Relative paths are relative
  to the CSV's folder; a path may be a DICOM series folder. Empty lines are skipped::

      case_id,CT
      patient_01,scans/p01.nii.gz
      patient_02,/data/dicom/p02/

Case ids come from file names without their image suffix and channel suffix, or from the
DICOM folder's name. Every problem is an :class:`~tumorseg.errors.InputError` naming the path.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tumorseg.errors import InputError
from tumorseg.io import Volume, is_image_path, read_channels, read_volume, strip_image_suffix

__all__ = ["CaseInput", "collect_cases", "read_case", "read_case_csv"]

_CHANNEL_RE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


@dataclass(frozen=True)
class CaseInput:
    """One case to predict.

    Attributes:
        case_id: name used for the outputs (``<case_id>.nii.gz`` in an output folder).
        paths: one path per channel, or a single path (3D/4D file or DICOM folder).
    """

    case_id: str
    paths: tuple[Path, ...]

    @property
    def source(self) -> str:
        """The input path(s) as one string, for messages and manifests."""
        return os.pathsep.join(str(p) for p in self.paths)


def _split_channel(name: str) -> tuple[str, int | None]:
    stem = strip_image_suffix(name)
    m = _CHANNEL_RE.match(stem)
    return (m["case"], int(m["channel"])) if m else (stem, None)


def _suffix(name: str) -> str:
    return name[len(strip_image_suffix(name)):]


def _check_exists(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    return path


def _group(files: Sequence[Path], n_channels: int, where: str) -> list[CaseInput]:
    """Group image files into cases by the ``_XXXX`` channel suffix."""
    groups: dict[str, dict[int, Path]] = {}
    singles: list[Path] = []
    for f in files:
        case, channel = _split_channel(f.name)
        if channel is None or (n_channels == 1 and channel != 0):
            singles.append(f)
            continue
        if channel in groups.setdefault(case, {}):
            raise InputError(f"{f}: channel {channel} of case {case} given twice")
        groups[case][channel] = f
    cases = []
    for case, channels in sorted(groups.items()):
        for c in range(n_channels):
            if c not in channels:
                some = next(iter(channels.values()))
                missing = some.parent / f"{case}_{c:04d}{_suffix(some.name)}"
                raise InputError(f"{missing}: missing channel {c} of case {case} "
                                 f"(the model expects {n_channels} channels)")
        extra = sorted(set(channels) - set(range(n_channels)))
        if extra:
            f = channels[extra[0]]
            raise InputError(f"{f}: channel {extra[0]} of case {case}, but the model expects "
                             f"{n_channels} channel(s) (_0000 … _{n_channels - 1:04d})")
        cases.append(CaseInput(case, tuple(channels[c] for c in range(n_channels))))
    for f in singles:
        if n_channels > 1:
            raise InputError(f"{f}: cannot tell which channel this file is; name the "
                             f"{n_channels} channel files CASE_0000 … CASE_{n_channels - 1:04d} "
                             f"in {where}, or list them in a CSV")
        cases.append(CaseInput(strip_image_suffix(f.name), (f,)))
    return cases


def _siblings(path: Path, n_channels: int) -> CaseInput:
    case, channel = _split_channel(path.name)
    if n_channels == 1 or channel is None:
        return CaseInput(case if channel == 0 else strip_image_suffix(path.name), (path,))
    if channel != 0:
        raise InputError(f"{path}: give the first channel file ({case}_0000{_suffix(path.name)})")
    paths = tuple(path.parent / f"{case}_{c:04d}{_suffix(path.name)}" for c in range(n_channels))
    for p in paths:
        if not p.exists():
            raise InputError(f"{p}: no such file (channel {paths.index(p)} of case {case})")
    return CaseInput(case, paths)


def read_case_csv(path: str | os.PathLike[str], n_channels: int) -> list[CaseInput]:
    """Cases listed in a CSV (format in the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"{p}: empty CSV (expected a header: case_id,<channel>,…)")
    header = [c.strip() for c in rows[0]]
    if header[0].lower() not in ("case_id", "case", "id"):
        raise InputError(f"{p}: the first column must be case_id, got header {header}")
    n_cols = len(header) - 1
    if n_cols not in (n_channels, 1):
        raise InputError(f"{p}: {n_cols} channel column(s) {header[1:]}, the model expects "
                         f"{n_channels}")
    cases: list[CaseInput] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if len(cells) != len(header) or not all(cells):
            raise InputError(f"{p}: line {line}: expected {len(header)} non-empty values, "
                             f"got {row}")
        case_id = cells[0]
        if case_id in seen:
            raise InputError(f"{p}: line {line}: case id {case_id} listed twice")
        seen.add(case_id)
        paths = tuple(_check_exists(q if (q := Path(c).expanduser()).is_absolute()
                                    else p.parent / q) for c in cells[1:])
        cases.append(CaseInput(case_id, paths))
    if not cases:
        raise InputError(f"{p}: no cases listed under the header")
    return cases


def collect_cases(inputs: Sequence[str | os.PathLike[str]], n_channels: int) -> list[CaseInput]:
    """Turn the command-line inputs into cases (rules in the module docstring).

    Raises:
        InputError: a missing path, an empty folder, files that cannot be grouped into the
            model's channels, or duplicate case ids.
    """
    if not inputs:
        raise InputError("no input given")
    paths = [_check_exists(Path(p)) for p in inputs]
    if len(paths) == 1 and paths[0].is_file() and paths[0].suffix.lower() == ".csv":
        return read_case_csv(paths[0], n_channels)
    cases: list[CaseInput] = []
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            images = sorted(f for f in p.iterdir() if f.is_file() and is_image_path(f)
                            and not f.name.startswith("."))
            if images:
                cases.extend(_group(images, n_channels, str(p)))
            else:  # a DICOM series folder
                cases.append(CaseInput(p.resolve().name, (p,)))
        elif p.suffix.lower() == ".csv":
            raise InputError(f"{p}: a CSV must be the only input")
        else:
            files.append(p)
    if len(files) == 1:
        cases.append(_siblings(files[0], n_channels))
    elif files:
        named = all(_split_channel(f.name)[1] is not None for f in files)
        if n_channels > 1 and not named and len(files) == n_channels:
            cases.append(CaseInput(_split_channel(files[0].name)[0], tuple(files)))
        else:
            cases.extend(_group(files, n_channels, "the inputs"))
    ids = [c.case_id for c in cases]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        where = next(c.source for c in cases if c.case_id == dup[0])
        raise InputError(f"{where}: case id {dup[0]} occurs more than once among the inputs")
    return cases


def read_case(case: CaseInput, channel_names: Sequence[str]) -> Volume:
    """Read a case's channels into one volume ([i, j, k], or [c, i, j, k] for several).

    Raises:
        InputError: unreadable files, grids that differ between channels, or a channel count
            other than ``len(channel_names)`` (naming the file).
    """
    n = len(channel_names)
    if len(case.paths) == 1:
        volume = read_volume(case.paths[0])
    else:
        volume = read_channels(case.paths, channel_names=channel_names)
    if volume.n_channels != n:
        raise InputError(f"{case.source}: {volume.n_channels} channel(s), the model expects "
                         f"{n} ({', '.join(channel_names)})")
    return volume

"""Load the respiratory phases of a 4D CT: files, DICOM series folders or one 4D NIfTI.

Order: from the DICOM tags when every phase is a DICOM series that carries them (a phase
percentage in the SeriesDescription such as ``"50%"``/``"T50"``, else TemporalPositionIndex),
otherwise the order given (for a 4D file: its fourth axis). All phases must share one voxel
grid (:func:`tumorseg.io.check_same_grid`) and, for DICOM, one FrameOfReferenceUID.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.fourd.dicom_tags import PhaseTags, dicom_series_files, read_phase_tags
from tumorseg.io import Volume, check_same_grid, read_dicom_series, read_volume

__all__ = ["PhaseSet", "load_phases"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PhaseSet:
    """The phases of one 4D CT, in breathing order, on one grid.

    Attributes:
        volumes: one 3D volume per phase (CT in HU), arrays ``[i, j, k]``, same grid.
        names: a short name per phase (file name, or the DICOM series description).
        percents: breathing-cycle position of each phase in percent when the DICOM tags
            give it, else None per phase.
        order_from: how the order was decided: ``"dicom-percent"``, ``"dicom-temporal"``,
            ``"4d-file"`` or ``"given"``.
        dicom_files: per phase, the DICOM files of its series (for RTSTRUCT export), or None
            when the phases are not all DICOM.
        frame_of_reference_uid: the common DICOM FrameOfReferenceUID, or None.
    """

    volumes: tuple[Volume, ...]
    names: tuple[str, ...]
    percents: tuple[float | None, ...]
    order_from: str
    dicom_files: tuple[tuple[str, ...], ...] | None = None
    frame_of_reference_uid: str | None = None

    def __len__(self) -> int:
        return len(self.volumes)

    @property
    def grid(self) -> Volume:
        """The first phase (every phase shares its grid)."""
        return self.volumes[0]


@dataclass(frozen=True)
class _Loaded:
    volume: Volume
    name: str
    tags: PhaseTags | None
    files: tuple[str, ...] | None


def _largest_series(folder: Path) -> list[str]:
    series = dicom_series_files(folder)
    if not series:
        raise InputError(f"{folder}: no DICOM series found in this folder")
    return max(series, key=len)


def _load_dicom(folder: Path, files: Sequence[str]) -> _Loaded:
    volume = read_dicom_series(folder, series_of=files[0])
    tags = read_phase_tags(files[0])
    name = tags.series_description or folder.name
    return _Loaded(volume, name, tags, tuple(files))


def _load_one(path: Path) -> list[_Loaded]:
    if path.is_dir():
        return [_load_dicom(path, _largest_series(path))]
    volume = read_volume(path)
    if volume.is_multichannel:
        return [_Loaded(volume.channel(t), f"{path.name}[{t}]", None, None)
                for t in range(volume.n_channels)]
    return [_Loaded(volume, path.name, None, None)]


def _order(items: list[_Loaded], four_d: bool) -> tuple[list[int], str]:
    n = len(items)
    given = list(range(n))
    if four_d:
        return given, "4d-file"
    tags = [it.tags for it in items]
    if any(t is None for t in tags):
        return given, "given"
    for attr, how in (("phase_percent", "dicom-percent"), ("temporal_position", "dicom-temporal")):
        keys = [getattr(t, attr) for t in tags]
        if all(k is not None for k in keys):
            if len(set(keys)) == n:
                return sorted(given, key=lambda i: keys[i]), how
            log.warning("phases share %s values %s; using the order given", attr, keys)
            return given, "given"
    if any(t.phase_percent is not None or t.temporal_position is not None for t in tags):
        log.warning("only some DICOM phases say their breathing phase; using the order given")
    return given, "given"


def load_phases(paths: Sequence[str | os.PathLike[str]]) -> PhaseSet:
    """Read the phases of a 4D CT.

    Args:
        paths: two or more image files or DICOM series folders (one phase each); or one 4D
            image file (NIfTI/NRRD/MHA, phases along the fourth axis); or one folder holding
            several DICOM series (one per phase).

    Returns:
        a :class:`PhaseSet` in breathing order (see the module docstring).

    Raises:
        InputError: a single phase, phases on different grids or frames of reference, a 4D
            file mixed with other inputs, or any unreadable input (one line).
    """
    if not paths:
        raise InputError("no phases given")
    items: list[_Loaded] = []
    four_d = False
    if len(paths) == 1 and Path(paths[0]).is_dir():
        folder = Path(paths[0])
        series = dicom_series_files(folder)
        if len(series) > 1:
            items = [_load_dicom(Path(files[0]).parent, files) for files in series]
    if not items:
        for p in paths:
            loaded = _load_one(Path(p))
            if len(loaded) > 1:
                if len(paths) > 1:
                    raise InputError(f"{p}: a 4D file cannot be combined with other phases")
                four_d = True
            items.extend(loaded)
    if len(items) < 2:
        raise InputError(f"{paths[0]}: only one phase; an ITV needs two or more respiratory "
                         "phases (files, DICOM series folders, or one 4D image)")
    first = items[0]
    for it in items[1:]:
        try:
            check_same_grid(first.volume, it.volume, what_a=first.volume.source or first.name,
                            what_b=it.volume.source or it.name)
        except GeometryMismatchError as exc:
            raise GeometryMismatchError(f"phases are on different grids: {exc}") from None
    frame = None
    if all(it.tags is not None for it in items):
        frames = {it.tags.frame_of_reference_uid for it in items}  # type: ignore[union-attr]
        known = {f for f in frames if f}
        if len(known) > 1:
            names = ", ".join(f"{it.name}: {it.tags.frame_of_reference_uid}"  # type: ignore[union-attr]
                              for it in items[:4])
            raise InputError(f"{paths[0]}: phases have different DICOM frames of reference "
                             f"({len(known)} FrameOfReferenceUIDs; {names}…)")
        frame = next(iter(known), None)
    order, how = _order(items, four_d)
    items = [items[i] for i in order]
    all_dicom = all(it.files is not None for it in items)
    return PhaseSet(
        volumes=tuple(it.volume for it in items),
        names=tuple(it.name for it in items),
        percents=tuple(it.tags.phase_percent if it.tags else None for it in items),
        order_from=how,
        dicom_files=tuple(it.files for it in items) if all_dicom else None,  # type: ignore[misc]
        frame_of_reference_uid=frame,
    )

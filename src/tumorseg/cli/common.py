"""Shared CLI plumbing: one-line errors, progress bars, console output.

Command functions live one per module in this package (``info.py``, ``convert.py``, …),
take typer-annotated arguments, call library functions, and raise
:class:`~tumorseg.errors.TumorsegError` on bad input; :func:`run_app` turns that into one
line on stderr and exit status 2 (1 for unexpected errors). ``--verbose`` shows tracebacks.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tumorseg.errors import InputError

__all__ = ["case_progress", "choice", "console", "err_console", "file_suffix", "progress_bar",
           "track"]

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    """``value`` lower-cased when it is one of ``allowed``, else :class:`InputError` naming
    ``option`` and the allowed values."""
    v = value.strip().lower()
    if v not in allowed:
        raise InputError(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
    return v


def file_suffix(path: Path, allowed: tuple[str, ...], option: str, what: str,
                bare: bool = False) -> Path:
    """``path`` when its name ends with one of ``allowed`` (lower-case, with the dot), else
    :class:`InputError` naming the file, ``option`` and what is written there.

    ``bare``: also accept a name without a suffix (e.g. DICOM files often have none); a
    numeric last part ("seg.1.2.3", UID-like) counts as no suffix.
    """
    name = path.name.lower()
    if name.endswith(allowed):
        return path
    last = path.suffix[1:]
    if bare and (not last or not last.isalpha()):
        return path
    hint = " or a name without a suffix" if bare else ""
    raise InputError(f"{path}: {option} writes {what}; name it *{', *'.join(allowed)}{hint}")


def progress_bar(transient: bool = False) -> Progress:
    """A rich progress bar with count, elapsed time and ETA, drawn on stderr."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
        disable=not sys.stderr.isatty() and False,
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` while showing a progress bar (on stderr)."""
    with progress_bar() as bar:
        yield from bar.track(items, total=total, description=description)


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """Show a spinner with ``message`` while a single long step runs."""
    with err_console.status(message):
        yield


class _CaseSteps:
    """Callbacks drawing two bars on one rich display: cases (when more than one), and the
    current case's stage (reading, network windows, writing) with its own count and ETA."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: Any = None
        self.stage: tuple[str, str] | None = None

    def cases(self, items: Iterable[T], total: int, description: str) -> Iterable[T]:
        """Wrap the case loop (``tumorseg.inference.files.Progress``)."""
        if total <= 1:
            return items
        return self.bar.track(items, total=total, description=description)

    def step(self, case_id: str, stage: str, done: int, total: int) -> None:
        """One case's progress (``tumorseg.inference.files.CaseProgress``)."""
        description = f"{case_id}: {stage}"
        if self.task is None:
            self.task = self.bar.add_task(description, total=total, completed=done)
        elif self.stage != (case_id, stage):
            self.bar.reset(self.task, total=total, completed=done, description=description)
        else:
            self.bar.update(self.task, completed=done)
        self.stage = (case_id, stage)

    def windows(self, name: str) -> Callable[[int, int], None]:
        """A sliding-window callback (``WindowProgress``) drawn as ``name: 3D U-Net windows``."""
        return lambda done, total: self.step(name, "3D U-Net windows", done, total)


@contextlib.contextmanager
def case_progress() -> Iterator[_CaseSteps]:
    """A progress display for predicting cases: ``.cases`` wraps the case loop, ``.step``
    reports stages and sliding windows inside a case (removed from the screen when done)."""
    with progress_bar(transient=True) as bar:
        yield _CaseSteps(bar)

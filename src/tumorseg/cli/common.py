"""Shared CLI plumbing: one-line errors, progress bars, console output.

Command functions live one per module in this package (``info.py``, ``convert.py``, …),
take typer-annotated arguments, call library functions, and raise
:class:`~tumorseg.errors.TumorsegError` on bad input; :func:`run_app` turns that into one
line on stderr and exit status 2 (1 for unexpected errors). ``--verbose`` shows tracebacks.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

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

__all__ = ["choice", "console", "err_console", "progress_bar", "track"]

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

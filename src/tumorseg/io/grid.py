"""Checks that two volumes share one voxel grid (size, spacing, origin, direction)."""

from __future__ import annotations

import numpy as np

from tumorseg.errors import GeometryMismatchError
from tumorseg.io.volume import Volume

__all__ = ["check_same_grid", "grid_differences"]


def _fmt(values: object) -> str:
    arr = np.round(np.asarray(values, dtype=float), 4).reshape(-1)
    return "(" + ", ".join(f"{v:g}" for v in arr) + ")"


def grid_differences(
    a: Volume, b: Volume, atol_mm: float = 1e-3, atol_dir: float = 1e-4
) -> list[str]:
    """Describe how the grids of ``a`` and ``b`` differ; an empty list means they match.

    Spacing and origin are compared with an absolute tolerance in mm, direction cosines
    with ``atol_dir``. Channels are ignored: only the spatial grid counts.
    """
    diffs: list[str] = []
    if a.shape != b.shape:
        diffs.append(f"size {a.shape} vs {b.shape}")
    if not np.allclose(a.spacing, b.spacing, atol=atol_mm, rtol=0):
        diffs.append(f"spacing {_fmt(a.spacing)} vs {_fmt(b.spacing)} mm")
    if not np.allclose(a.origin, b.origin, atol=max(atol_mm, 1e-3 * min(a.spacing)), rtol=0):
        diffs.append(f"origin {_fmt(a.origin)} vs {_fmt(b.origin)} mm")
    if not np.allclose(a.direction, b.direction, atol=atol_dir, rtol=0):
        diffs.append(f"direction {_fmt(a.direction)} vs {_fmt(b.direction)}")
    return diffs


def check_same_grid(
    a: Volume, b: Volume, what_a: str | None = None, what_b: str | None = None
) -> None:
    """Raise :class:`GeometryMismatchError` naming both inputs when their grids differ."""
    diffs = grid_differences(b, a)  # the message names b first: its values come first
    if diffs:
        name_a = what_a or a.source or "first volume"
        name_b = what_b or b.source or "second volume"
        raise GeometryMismatchError(
            f"{name_b}: grid differs from {name_a}: " + "; ".join(diffs)
        )

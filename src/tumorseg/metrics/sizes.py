"""Lesion size: equivalent-sphere diameter and size bins."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["equivalent_diameter_mm", "size_bin_index", "size_bin_labels"]


def equivalent_diameter_mm(volume_mm3: float) -> float:
    """Diameter in mm of the sphere whose volume is ``volume_mm3`` mm³: (6V/π)^(1/3)."""
    return float(np.cbrt(6.0 * volume_mm3 / math.pi))


def _edge(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:g}"


def size_bin_labels(edges: Sequence[float]) -> list[str]:
    """Names of the bins ``[edges[n], edges[n + 1])``: ``"0-10mm"``, …, ``"30-infmm"``."""
    return [f"{_edge(a)}-{_edge(b)}mm" for a, b in itertools.pairwise(edges)]


def size_bin_index(diameter_mm: float, edges: Sequence[float]) -> int | None:
    """Index of the half-open bin ``[edges[n], edges[n + 1])`` holding ``diameter_mm``.

    ``None`` when the diameter is below the first edge or at/above the last one.
    """
    n = int(np.searchsorted(np.asarray(edges, dtype=float), diameter_mm, side="right")) - 1
    return n if 0 <= n < len(edges) - 1 else None

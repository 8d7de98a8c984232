"""Lesion diameters in mm: RECIST 1.1 long and short axes on an axial slice, maximal 3D diameter.

All functions take a binary mask ``[i, j, k]`` (axis order of :mod:`tumorseg.io`) and the
voxel spacing in mm along i, j, k. The axial plane is the i–j plane: call them on a volume
reoriented with :func:`tumorseg.io.to_lps` so that k runs inferior → superior.

Conventions
    Distances are measured between **voxel centres** of the lesion's boundary (as ITK's
    Feret diameter), so a digital disc of radius r measures between 2r − one voxel and 2r.
    The long axis is the largest distance between two points of a slice's convex hull
    (exact pairwise maximum over hull vertices). The short axis is the longest chord of that
    convex hull **exactly perpendicular** to the long axis (angle tolerance 0: a convex
    polygon's perpendicular chord length is piecewise linear and concave along the long axis,
    so the maximum lies at a hull vertex and is found exactly). For a concave lesion the
    short axis therefore spans its hull, as a calliper would. RECIST takes both on the axial
    slice where the long axis is longest (ties: the lowest k).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

__all__ = ["RecistAxes", "boundary_voxels", "hull_points", "max_diameter_3d", "recist_axes"]


@dataclass(frozen=True)
class RecistAxes:
    """RECIST 1.1 axes of one lesion on its axial slice ``k``.

    ``long_ij`` and ``short_ij`` are the two end points of each axis as continuous voxel
    indices ``((i0, j0), (i1, j1))`` on slice ``k`` (end points of the short axis may lie
    between voxel centres). Lengths in mm.
    """

    long_mm: float
    short_mm: float
    k: int
    long_ij: tuple[tuple[float, float], tuple[float, float]]
    short_ij: tuple[tuple[float, float], tuple[float, float]]


def boundary_voxels(mask: np.ndarray) -> np.ndarray:
    """Indices (n, mask.ndim) of the mask's voxels with a 6-neighbour (4 in 2D) outside it."""
    mask = np.asarray(mask, dtype=bool)
    inner = ndimage.binary_erosion(mask, border_value=0)
    return np.argwhere(mask & ~inner)


def hull_points(points: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of ``points`` (n, d); all points when the hull is flat."""
    points = np.asarray(points, dtype=float)
    if len(points) <= points.shape[1] + 1:
        return points
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # collinear / coplanar: every point may be an extreme
        return points


def _farthest_pair(points: np.ndarray) -> tuple[float, int, int]:
    """Largest pairwise distance of ``points`` (n, d) and the indices of that pair."""
    if len(points) < 2:
        return 0.0, 0, 0
    best, ia, ib = -1.0, 0, 0
    block = 2048  # bounded memory for large hulls
    for start in range(0, len(points), block):
        d2 = ((points[start:start + block, None, :] - points[None, :, :]) ** 2).sum(-1)
        flat = int(np.argmax(d2))
        a, b = divmod(flat, d2.shape[1])
        if d2[a, b] > best:
            best, ia, ib = float(d2[a, b]), start + a, b
    return float(np.sqrt(best)), ia, ib


def max_diameter_3d(mask: np.ndarray, spacing: Sequence[float]) -> float:
    """Maximal 3D diameter in mm: the largest distance between two boundary voxel centres.

    Direction cosines do not change distances, so only the spacing (mm along i, j, k) matters.
    Returns 0 for a single voxel and for an empty mask.
    """
    pts = boundary_voxels(mask) * np.asarray(spacing, dtype=float)
    return _farthest_pair(hull_points(pts))[0]


def _ordered_hull_2d(points: np.ndarray) -> np.ndarray | None:
    """Counter-clockwise hull polygon of 2D points, or None when they are collinear."""
    if len(points) < 3:
        return None
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:
        return None


def _perpendicular_chord(polygon: np.ndarray | None, points: np.ndarray, a: np.ndarray,
                         b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Longest chord of the convex ``polygon`` perpendicular to segment a–b (2D, mm)."""
    length = float(np.linalg.norm(b - a))
    if polygon is None or length == 0:
        return 0.0, points[0], points[0]
    u = (b - a) / length
    v = np.array([-u[1], u[0]])
    t = polygon @ u
    s = polygon @ v
    nxt = np.roll(np.arange(len(polygon)), -1)
    best = (0.0, polygon[0], polygon[0])
    for t0 in t:
        lo, hi = np.inf, -np.inf
        for e0, e1 in zip(range(len(polygon)), nxt, strict=True):
            ta, tb = t[e0], t[e1]
            if min(ta, tb) - 1e-9 <= t0 <= max(ta, tb) + 1e-9:
                if abs(tb - ta) < 1e-12:
                    cand = (s[e0], s[e1])
                else:
                    f = (t0 - ta) / (tb - ta)
                    cand = (s[e0] + f * (s[e1] - s[e0]),)
                lo, hi = min(lo, *cand), max(hi, *cand)
        if hi - lo > best[0]:
            best = (float(hi - lo), t0 * u + lo * v, t0 * u + hi * v)
    return best


def recist_axes(mask: np.ndarray, spacing: Sequence[float]) -> RecistAxes | None:
    """RECIST 1.1 long and short axes of a lesion (see the module docstring).

    Args:
        mask: binary ``[i, j, k]`` mask of one lesion, k the axial (slice) axis.
        spacing: mm along i, j, k (only i and j are used).

    Returns:
        The axes on the slice with the longest long axis, or None for an empty mask.
    """
    mask = np.asarray(mask, dtype=bool)
    scale = np.asarray(spacing[:2], dtype=float)
    best: tuple[float, int, np.ndarray, int, int] | None = None
    for k in np.flatnonzero(mask.any(axis=(0, 1))):
        pts = boundary_voxels(mask[:, :, k]) * scale
        hull = hull_points(pts)
        d, a, b = _farthest_pair(hull)
        if best is None or d > best[0] + 1e-9:
            best = (d, int(k), hull, a, b)
    if best is None:
        return None
    long_mm, k, hull, a, b = best
    pa, pb = hull[a], hull[b]
    short_mm, sa, sb = _perpendicular_chord(_ordered_hull_2d(hull), hull, pa, pb)
    return RecistAxes(
        long_mm=long_mm, short_mm=short_mm, k=k,
        long_ij=(tuple((pa / scale).tolist()), tuple((pb / scale).tolist())),  # type: ignore[arg-type]
        short_ij=(tuple((sa / scale).tolist()), tuple((sb / scale).tolist())),  # type: ignore[arg-type]
    )

"""Placing tumour-like lesions in the organs of a torso phantom.

:func:`place_lesion` picks a centre at a chosen depth inside a host region (an organ, a
bone, the lung, or fat beside a vessel for a lymph node), grows an irregular blob
(:func:`~tumorseg.phantoms.primitives.irregular_blob`), clips it to where that kind of lesion
may grow (inside the liver; into the surrounding fat for an exophytic kidney tumour) and keeps
one connected piece, so every lesion is one component of the label map. Intensities are the
modality's business (:mod:`~tumorseg.phantoms.abdomen_ct`, :mod:`~tumorseg.phantoms.pet_ct`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tumorseg.phantoms.anatomy_abdomen import Torso
from tumorseg.phantoms.anatomy_shapes import Box
from tumorseg.phantoms.primitives import irregular_blob

__all__ = ["PlacedLesion", "lesion_depth", "min_lesion_diameter", "place_lesion"]


@dataclass(frozen=True)
class PlacedLesion:
    """One lesion's geometry.

    Attributes:
        box: the block of the volume holding the lesion (with a margin).
        mask: boolean lesion mask on ``box``.
        depth: distance (mm) of each ``box`` voxel inside the lesion from its border
            (0 outside), for rims and necrotic cores.
        diameter_mm: nominal (drawn) diameter in anatomical mm.
        center: centroid, anatomical mm (X, Y, Z).
        inside_fraction: fraction of the lesion's voxels inside its host region.
    """

    box: Box
    mask: np.ndarray
    depth: np.ndarray
    diameter_mm: float
    center: np.ndarray
    inside_fraction: float

    @property
    def voxels(self) -> int:
        """Number of voxels in the lesion."""
        return int(self.mask.sum())


def min_lesion_diameter(spacing: tuple[float, float, float]) -> float:
    """Smallest lesion diameter (anatomical mm) worth drawing on this grid: 5 mm, or enough
    to cover about 2.5 voxels in-plane and 1.5 slices."""
    return float(max(5.0, 2.5 * max(spacing[0], spacing[1]), 1.5 * spacing[2]))


def lesion_depth(box: Box, mask: np.ndarray) -> np.ndarray:
    """Distance (mm) from the lesion border for voxels inside ``mask`` (0 outside)."""
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    padded = np.pad(mask, 1)
    d = ndimage.distance_transform_edt(padded, sampling=box.spacing)
    return d[1:-1, 1:-1, 1:-1].astype(np.float32)


def _host_depth(host: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Depth (mm) inside ``host`` on a grid of about 2 mm (cheap at fine spacing), and the
    stride that grid takes from ``box``."""
    stride = tuple(max(1, round(2.0 / s)) for s in box.spacing)
    sub = host[:: stride[0], :: stride[1], :: stride[2]]
    sampling = tuple(s * k for s, k in zip(box.spacing, stride, strict=True))
    d = ndimage.distance_transform_edt(np.pad(sub, 1), sampling=sampling)[1:-1, 1:-1, 1:-1]
    return np.where(sub, d, 0.0), stride  # type: ignore[return-value]


def _candidate_centres(depth: np.ndarray, stride: tuple[int, int, int], box: Box,
                       min_depth: float, max_depth: float) -> np.ndarray:
    """Voxel indices (full volume) whose depth in the host lies in [min_depth, max_depth]
    (or the deepest there are, when the host is too thin)."""
    inside = depth > 0
    if not inside.any():
        return np.zeros((0, 3), np.int64)
    ok = inside & (depth >= min_depth) & (depth <= max_depth)
    if not ok.any():
        ok = inside & (depth >= 0.8 * depth.max())
    idx = np.argwhere(ok) * np.array(stride)
    start = np.array([s.start for s in box.sl])
    return idx + start


def place_lesion(
    t: Torso,
    host: np.ndarray,
    host_box: Box,
    grow_into: Callable[[Box], np.ndarray],
    rng: np.random.Generator,
    diameter_mm: float,
    depth_fraction: tuple[float, float],
    irregularity: float,
    elongation: float,
    avoid: list[tuple[np.ndarray, float]],
    min_fill: float = 0.3,
    max_size: float | None = None,
) -> PlacedLesion | None:
    """Place one lesion; None when no centre fits.

    ``host`` (bool, on ``host_box``) is where the centre may lie; the centre sits at a depth of
    ``depth_fraction`` × radius inside the host (negative values allow the lesion to bulge out).
    ``grow_into(box)`` says (bool, box-shaped) where the lesion may extend. ``avoid`` lists (centre
    in anatomical mm, radius mm) of lesions already placed: the new one keeps 3 mm away.
    A placement whose clipped lesion keeps less than ``min_fill`` of the nominal sphere's
    volume is retried elsewhere (up to 6 centres). ``max_size`` clips the diameter to that
    multiple of the host's thickness (twice its deepest point), so a lesion fits its organ.
    Draws from ``rng`` only; deterministic.
    """
    depth, stride = _host_depth(host, host_box)
    if max_size is not None and depth.max() > 0:
        floor = min(diameter_mm, min_lesion_diameter(t.frame.anat_spacing))
        diameter_mm = float(max(floor, min(diameter_mm, max_size * 2.0 * depth.max())))
    r = diameter_mm / 2.0
    lo = max(0.0, depth_fraction[0] * r)
    hi = max(lo + 1.0, depth_fraction[1] * r)
    cand = _candidate_centres(depth, stride, host_box, lo, hi)
    if len(cand) == 0:
        return None
    full = t.frame.full()
    axes = (full.X.ravel(), full.Y.ravel(), full.Z.ravel())
    order = rng.permutation(len(cand))[:64]
    tries = 0
    target = min_fill * np.pi / 6 * diameter_mm ** 3 / float(np.prod(full.spacing))
    for n in order:
        i, j, k = cand[n]
        centre = np.array([axes[0][i], axes[1][j], axes[2][k]], dtype=np.float64)
        if not all(np.linalg.norm(centre - q) > r + rq + 3.0 for q, rq in avoid):
            continue
        tries += 1
        if tries > 6:
            return None
        if depth_fraction[0] < 0:  # exophytic: let the centre wander outwards a little
            centre = centre + rng.normal(0, 0.15 * r, 3)
        blob = irregular_blob(full.grid, full.spacing, tuple(centre), diameter_mm, rng,
                              irregularity=irregularity, elongation=elongation)
        reach = r * (1 + 2 * irregularity) * (1 + elongation) + 3 * max(full.spacing)
        box = full.sub(centre - reach, centre + reach)
        if box.empty:
            continue
        mask = blob[box.sl] & grow_into(box)
        if not mask.any():
            continue
        lab, nlab = ndimage.label(mask)
        if nlab > 1:
            sizes = np.bincount(lab.ravel())[1:]
            mask = lab == (1 + int(np.argmax(sizes)))
        if mask.sum() >= max(1.0, target):
            break
    else:
        return None
    host_full = np.zeros(mask.shape, bool)
    hsl = tuple(slice(max(a.start, b.start) - a.start, min(a.stop, b.stop) - a.start)
                for a, b in zip(box.sl, host_box.sl, strict=True))
    osl = tuple(slice(max(a.start, b.start) - b.start, min(a.stop, b.stop) - b.start)
                for a, b in zip(box.sl, host_box.sl, strict=True))
    if all(s.stop > s.start for s in hsl):
        host_full[hsl] = host[osl]
    inside = float((mask & host_full).sum()) / float(mask.sum())
    idx = np.argwhere(mask)
    c_vox = idx.mean(0)
    center = np.array([float(np.interp(c_vox[a], np.arange(box.shape[a]),
                                       (box.X.ravel(), box.Y.ravel(), box.Z.ravel())[a]))
                       for a in range(3)])
    return PlacedLesion(box, mask, lesion_depth(box, mask), float(diameter_mm), center, inside)

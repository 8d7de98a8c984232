"""What the per-phase GTVs say: ITV, maximum intensity projection, tumor motion, volumes.

Centroids are the mean of the GTV's voxel-centre positions in LPS mm; the motion amplitude
along x, y, z is max − min of the centroid over the phases (peak to peak, mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tumorseg.io import Volume
from tumorseg.metrics.overlap import dice

__all__ = ["Motion", "agreement", "centroid_mm", "itv_union", "mip", "tumor_motion"]


def centroid_mm(mask: np.ndarray, grid: Volume) -> np.ndarray:
    """Centroid (LPS mm, shape (3,)) of a boolean ``[i, j, k]`` mask on ``grid``; NaN if empty."""
    idx = np.argwhere(mask)
    if idx.size == 0:
        return np.full(3, np.nan)
    return grid.index_to_world(idx.mean(axis=0))


@dataclass(frozen=True, eq=False)
class Motion:
    """Tumor motion over the phases.

    Attributes:
        centroids_mm: (n_phases, 3) GTV centroid per phase, LPS mm (NaN for an empty GTV).
        amplitude_mm: (3,) peak-to-peak centroid excursion along x (L), y (P), z (S), mm.
        volumes_ml: GTV volume per phase, mL.
    """

    centroids_mm: np.ndarray
    amplitude_mm: np.ndarray
    volumes_ml: np.ndarray

    @property
    def vector_amplitude_mm(self) -> float:
        """Largest 3D distance between any two phase centroids, mm."""
        c = self.centroids_mm[~np.isnan(self.centroids_mm).any(axis=1)]
        if len(c) < 2:
            return 0.0
        return float(np.max(np.linalg.norm(c[:, None] - c[None], axis=-1)))


def tumor_motion(gtvs: Sequence[np.ndarray], grid: Volume) -> Motion:
    """Centroid per phase, amplitude per axis and volume per phase of the GTVs on ``grid``."""
    centroids = np.array([centroid_mm(g, grid) for g in gtvs])
    ok = ~np.isnan(centroids).any(axis=1)
    amp = (centroids[ok].max(axis=0) - centroids[ok].min(axis=0)) if ok.any() else np.zeros(3)
    volumes = np.array([float(np.count_nonzero(g)) * grid.voxel_volume_mm3 / 1000.0
                        for g in gtvs])
    return Motion(centroids, amp, volumes)


def itv_union(gtvs: Sequence[np.ndarray]) -> np.ndarray:
    """The internal target volume: the voxel-wise union of the GTVs (boolean)."""
    return np.logical_or.reduce([np.asarray(g, bool) for g in gtvs])


def mip(phases: Sequence[Volume]) -> np.ndarray:
    """Maximum intensity projection over the phases: the voxel-wise maximum (same dtype)."""
    out = phases[0].array.copy()
    for v in phases[1:]:
        np.maximum(out, v.array, out=out)
    return out


def agreement(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> list[float]:
    """Dice between two methods' GTVs, phase by phase (1 when both are empty)."""
    return [dice(x, y) for x, y in zip(a, b, strict=True)]

"""Deterministic synthetic masks for the metric tests (tiny, seeded)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage as ndi

#: Anisotropic spacing (mm, along i, j, k) used throughout the tests.
SPACING = (0.8, 1.1, 2.5)


def blob_pair(seed: int, shape: tuple[int, int, int] = (40, 36, 20)) -> tuple[np.ndarray, ...]:
    """A random smooth blob (reference) and a perturbed copy (prediction), both bool."""
    rng = np.random.default_rng(seed)
    ref = ndi.gaussian_filter(rng.normal(size=shape), 2.5) > 0.06
    noise = ndi.gaussian_filter(rng.normal(size=shape), 2.0) > 0.12
    pred = ref ^ noise
    return pred, ref


def ellipsoid(shape: tuple[int, int, int], center: tuple[float, float, float],
              radii_vox: tuple[float, float, float]) -> np.ndarray:
    """Boolean ellipsoid with the given centre and semi-axes, in voxels."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    r2 = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radii_vox, strict=True))
    return r2 <= 1.0


def ellipsoid_pair(seed: int, shape: tuple[int, int, int] = (48, 40, 24)) -> tuple[np.ndarray, ...]:
    """Two random overlapping ellipsoids (prediction, reference)."""
    rng = np.random.default_rng(seed)
    c = np.array(shape) / 2
    ref = ellipsoid(shape, tuple(c + rng.uniform(-3, 3, 3)), tuple(rng.uniform(4, 9, 3)))
    pred = ellipsoid(shape, tuple(c + rng.uniform(-3, 3, 3)), tuple(rng.uniform(4, 9, 3)))
    return pred, ref


def sphere(shape: tuple[int, int, int], center: tuple[int, int, int], radius: float) -> np.ndarray:
    """Boolean ball of ``radius`` voxels."""
    return ellipsoid(shape, center, (radius, radius, radius))


def onehot(mask: np.ndarray) -> torch.Tensor:
    """A binary mask as MONAI wants it: one-hot, batch and channel first, float."""
    m = torch.from_numpy(np.asarray(mask, dtype=bool))
    return torch.stack([~m, m])[None].float()

"""Tiny synthetic 4D CTs for the fourd tests: a soft-tissue body, a lung, a spherical tumor
that moves by known whole-voxel shifts (so the true GTV and centroid of every phase are exact).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tumorseg.io import Volume

SHAPE = (40, 40, 32)
SPACING = (2.5, 2.5, 3.0)
ORIGIN = (-50.0, -40.0, 100.0)


def sphere(center_vox: Sequence[float], radius_mm: float, shape=SHAPE, spacing=SPACING
           ) -> np.ndarray:
    """Boolean ball (``[i, j, k]``) of ``radius_mm`` around a voxel position."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    d2 = sum(((g - c) * s) ** 2 for g, c, s in zip(grids, center_vox, spacing, strict=True))
    return d2 <= radius_mm ** 2


def moving_tumor(shifts_vox: Sequence[Sequence[int]], center=(20, 20, 14), radius_mm=8.0,
                 seed: int = 0, shape=SHAPE, spacing=SPACING, lung_scale: Sequence[float] = ()
                 ) -> tuple[list[Volume], list[np.ndarray]]:
    """CT phases (HU, int16) and true GTVs of a tumor at ``center + shift`` per phase.

    Body: 40 HU (an ellipse-free box with a 3-voxel wall), lung −850 HU inside, tumor 30 HU,
    a vertical vessel (30 HU) that does not move, noise σ = 15 HU. ``lung_scale[p]`` shrinks
    the lung's extent in phase p (to make a smaller lung air volume, i.e. end-exhale).
    """
    rng = np.random.default_rng(seed)
    phases, gtvs = [], []
    for p, shift in enumerate(shifts_vox):
        hu = np.full(shape, -1000.0, dtype=np.float32)
        hu[2:-2, 2:-2, :] = 40.0
        cut = int(lung_scale[p]) if p < len(lung_scale) else 0
        hu[5 + cut:-5 - cut, 5:-5, :] = -850.0
        hu[30:32, 8:10, :] = 30.0  # a static vessel
        c = np.asarray(center, float) + np.asarray(shift, float)
        gtv = sphere(c, radius_mm, shape, spacing)
        hu[gtv] = 30.0
        hu += rng.normal(0.0, 15.0, shape).astype(np.float32)
        phases.append(Volume(np.rint(hu).astype(np.int16), spacing, ORIGIN, modality="CT"))
        gtvs.append(gtv)
    return phases, gtvs

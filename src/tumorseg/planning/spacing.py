"""Target spacing from the dataset's spacings and shapes (nnU-Net's fullres rule).

The target is the median spacing per axis, except for anisotropic data. nnU-Net
(``ExperimentPlanner.determine_fullres_target_spacing``) calls a dataset anisotropic when,
for the axis with the coarsest median spacing,

* its median spacing is more than ``threshold`` (3) times the coarsest of the *other* axes'
  median spacings, and
* its median size in voxels (after cropping) times ``threshold`` is smaller than the
  smallest of the other axes' median sizes (few, thick slices).

Then that axis takes the 10th percentile of its spacings instead of the median — resampling
every case to the median would interpolate heavily across the thin-slice cases — but never
less than the coarsest other axis (plus 1e-5 mm, as nnU-Net).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TargetSpacing", "determine_target_spacing"]


@dataclass(frozen=True)
class TargetSpacing:
    """The chosen spacing (mm, i/j/k), the rule that chose it, and the anisotropic axis."""

    spacing: tuple[float, float, float]
    rule: str
    anisotropic_axis: int | None


def determine_target_spacing(spacings: np.ndarray, shapes: np.ndarray, threshold: float = 3.0,
                             percentile: float = 10.0) -> TargetSpacing:
    """Apply the module's rule.

    Args:
        spacings: (n_cases, 3) spacings in mm.
        shapes: (n_cases, 3) sizes in voxels after cropping, at each case's own spacing.
        threshold: anisotropy ratio (nnU-Net's ``ANISO_THRESHOLD`` = 3).
        percentile: percentile of the coarse axis's spacings used for anisotropic data.
    """
    spacings = np.asarray(spacings, dtype=float).reshape(-1, 3)
    shapes = np.asarray(shapes, dtype=float).reshape(-1, 3)
    target = np.percentile(spacings, 50, axis=0)
    median_size = np.percentile(shapes, 50, axis=0)
    worst = int(np.argmax(target))
    others = [a for a in range(3) if a != worst]
    other_spacing = max(target[a] for a in others)
    other_size = min(median_size[a] for a in others)
    aniso_spacing = target[worst] > threshold * other_spacing
    aniso_voxels = median_size[worst] * threshold < other_size
    rule = "median spacing per axis"
    axis = None
    if aniso_spacing and aniso_voxels:
        value = float(np.percentile(spacings[:, worst], percentile))
        if value < other_spacing:
            value = max(other_spacing, value) + 1e-5
        target[worst] = value
        axis = worst
        rule = (f"median spacing; axis {worst} is anisotropic (median "
                f"{np.median(spacings[:, worst]):g} mm > {threshold:g} × {other_spacing:g} mm, "
                f"{median_size[worst]:g} voxels × {threshold:g} < {other_size:g}): "
                f"{percentile:g}th percentile of its spacings")
    return TargetSpacing(tuple(float(v) for v in target), rule, axis)  # type: ignore[arg-type]

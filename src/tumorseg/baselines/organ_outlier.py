"""A classical lesion baseline: voxels whose smoothed intensity is an outlier in their organ.

Within each organ of an organ label map, intensities are smoothed, the organ's robust
centre (median) and spread (1.4826 × median absolute deviation) are estimated, and voxels
more than ``k`` spreads away are called lesion; small components are removed. It is what a
threshold-and-clean-up pipeline does, and the score any learned model must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.io import Volume, check_same_grid

__all__ = ["OrganOutlierConfig", "segment_organ_outliers"]


@dataclass(frozen=True)
class OrganOutlierConfig:
    """Parameters of :func:`segment_organ_outliers`.

    Attributes:
        organs: organ label values to search (all non-zero values when empty).
        smoothing_mm: Gaussian sigma in mm applied before thresholding.
        k: threshold in robust standard deviations from the organ median.
        min_volume_mm3: components smaller than this are dropped.
        closing_mm: radius of the morphological closing that fills small gaps.
        border_mm: voxels closer than this to the organ surface are not searched (partial
            volume with neighbouring tissue makes them outliers too).
        opening_mm: radius of the morphological opening that removes thin structures
            (vessels) before components are counted.
    """

    organs: tuple[int, ...] = ()
    smoothing_mm: float = 1.5
    k: float = 3.0
    min_volume_mm3: float = 500.0
    closing_mm: float = 2.0
    border_mm: float = 3.0
    opening_mm: float = 2.0


def _ball(radius_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    r = [max(0, int(radius_mm / s)) for s in spacing]
    grid = np.ogrid[tuple(slice(-n, n + 1) for n in r)]
    dist = sum((g * s / max(radius_mm, 1e-6)) ** 2 for g, s in zip(grid, spacing, strict=True))
    return dist <= 1.0


def segment_organ_outliers(
    image: Volume, organs: Volume, config: OrganOutlierConfig | None = None
) -> Volume:
    """Return a uint8 lesion mask (1 = lesion) on ``image``'s grid.

    ``organs`` is an organ label map on the same grid (checked). Intensity units are the
    image's (HU for CT). The input volumes are not modified.
    """
    cfg = config or OrganOutlierConfig()
    check_same_grid(image, organs, "image", "organ labels")
    sigma = [cfg.smoothing_mm / s for s in image.spacing]
    smooth = ndimage.gaussian_filter(image.array.astype(np.float32), sigma)
    values = cfg.organs or tuple(int(v) for v in np.unique(organs.array) if v != 0)
    mask = np.zeros(image.shape, dtype=bool)
    for value in values:
        found = ndimage.find_objects((organs.array == value).astype(np.uint8))
        if not found or found[0] is None:
            continue
        box = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in found[0])
        organ = organs.array[box] == value
        if organ.sum() < 50:
            continue
        depth = ndimage.distance_transform_edt(organ, sampling=image.spacing)
        inside = depth > cfg.border_mm
        if not inside.any():
            inside = organ
        local = smooth[box]
        vals = local[inside]
        centre = float(np.median(vals))
        spread = 1.4826 * float(np.median(np.abs(vals - centre))) + 1e-3
        mask[box] |= inside & (np.abs(local - centre) > cfg.k * spread)
    if cfg.opening_mm > 0 and mask.any():
        mask = ndimage.binary_opening(mask, structure=_ball(cfg.opening_mm, image.spacing))
    if cfg.closing_mm > 0 and mask.any():
        mask = ndimage.binary_closing(mask, structure=_ball(cfg.closing_mm, image.spacing))
        mask = ndimage.binary_fill_holes(mask)
    labels = cc3d.connected_components(mask.astype(np.uint8), connectivity=26)
    if labels.max():
        sizes = np.bincount(labels.ravel())
        keep = sizes * image.voxel_volume_mm3 >= cfg.min_volume_mm3
        keep[0] = False
        mask = keep[labels]
    return image.with_array(mask.astype(np.uint8), modality="SEG")

"""Which segments (ROIs) a mask becomes: one per lesion, or one "Tumor" segment."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cc3d
import numpy as np

__all__ = ["PALETTE", "Segment", "SegmentMode", "mask_segments"]

#: Recommended display colours (RGB 0–255), one per segment in turn.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 200, 0), (0, 100, 255), (255, 200, 0), (255, 0, 255), (0, 220, 220),
    (255, 128, 0), (140, 70, 255), (128, 255, 128), (255, 128, 160),
)


class SegmentMode(StrEnum):
    """How a mask is split into segments."""

    lesions = "lesions"  #: one per lesion: per value of an instance map, else per component
    labels = "labels"  #: one per label value of a semantic map ("Label v")
    tumor = "tumor"  #: everything > 0 as one "Tumor" segment


@dataclass(frozen=True)
class Segment:
    """One exported segment: its number (from 1), name, colour and voxels.

    Attributes:
        number: segment / ROI number, 1, 2, …
        label: name shown in viewers ("Lesion 1", "Tumor", "Label 3").
        color: recommended display colour, RGB 0–255.
        mask: boolean ``array[i, j, k]`` on the reference grid.
    """

    number: int
    label: str
    color: tuple[int, int, int]
    mask: np.ndarray


def mask_segments(mask: np.ndarray, mode: SegmentMode | str = SegmentMode.lesions,
                  connectivity: int = 26) -> list[Segment]:
    """Split an integer mask ``[i, j, k]`` into segments.

    ``lesions``: a binary mask gives one segment per connected component (``connectivity``
    6, 18 or 26; numbered in cc3d's scan order, "Lesion n"), an instance map with several
    values (tumorseg's predict, segment and server masks) one segment per value, named after
    it ("Lesion v", ascending, so the names match the lesion tables). ``labels``: one segment
    per value of a semantic label map ("Label v"). ``tumor``: one segment of every voxel > 0.
    """
    mode = SegmentMode(mode)
    if mode is SegmentMode.tumor:
        return [Segment(1, "Tumor", PALETTE[0], mask > 0)]
    values = [int(v) for v in np.unique(mask) if v > 0]
    if mode is SegmentMode.labels:
        masks = [(f"Label {v}", mask == v) for v in values]
    elif len(values) > 1:
        masks = [(f"Lesion {v}", mask == v) for v in values]
    else:
        comps = cc3d.connected_components((mask > 0).astype(np.uint8), connectivity=connectivity)
        masks = [(f"Lesion {n}", comps == n) for n in range(1, int(comps.max()) + 1)]
    return [Segment(n, label, PALETTE[(n - 1) % len(PALETTE)], m)
            for n, (label, m) in enumerate(masks, start=1)]

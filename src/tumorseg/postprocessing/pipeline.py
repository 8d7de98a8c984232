"""Post-processing of a predicted label map as one configurable step.

Order: restrict to the organ mask (when given) → remove components below
``min_volume_mm3`` → keep the ``max_lesions`` largest per label (when set). The organ step
comes first because ``"mask"`` mode can leave small fragments that the size filter then removes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io import Volume, check_same_grid
from tumorseg.postprocessing.components import (
    CONNECTIVITIES,
    keep_largest_components,
    remove_small_components,
)
from tumorseg.postprocessing.organ import OrganMode, restrict_to_organ

__all__ = ["DEFAULT_MIN_VOLUME_MM3", "PostprocessConfig", "postprocess"]

#: Default size threshold: 10 mm³ (about 6 voxels at 0.8 × 0.8 × 2.5 mm, a 2.7 mm sphere).
DEFAULT_MIN_VOLUME_MM3 = 10.0


@dataclass(frozen=True)
class PostprocessConfig:
    """Settings of :func:`postprocess`.

    Attributes:
        min_volume_mm3: components smaller than this (mm³) are removed; 0 keeps all.
        connectivity: 6, 18 or 26 neighbours for components.
        organ_labels: organ-mask values that count as organ; None = any nonzero value.
        organ_mode: "drop" whole lesions outside the organ, or "mask" voxels outside it.
        organ_min_overlap: "drop" mode: a lesion is kept when more than this fraction of
            its voxels lies in the organ (0 = any overlap).
        max_lesions: keep only the largest N components per label; None keeps all.
    """

    min_volume_mm3: float = DEFAULT_MIN_VOLUME_MM3
    connectivity: int = 26
    organ_labels: tuple[int, ...] | None = None
    organ_mode: OrganMode = "drop"
    organ_min_overlap: float = 0.0
    max_lesions: int | None = None

    def __post_init__(self) -> None:
        if self.min_volume_mm3 < 0:
            raise InputError(f"--min-volume must be ≥ 0 mm³, got {self.min_volume_mm3:g}")
        if self.connectivity not in CONNECTIVITIES:
            raise InputError(f"connectivity must be 6, 18 or 26, got {self.connectivity}")
        if self.organ_mode not in ("drop", "mask"):
            raise InputError(f"organ mode must be drop or mask, got {self.organ_mode!r}")
        if self.max_lesions is not None and self.max_lesions < 1:
            raise InputError(f"max lesions must be at least 1, got {self.max_lesions}")
        if self.organ_labels is not None:
            object.__setattr__(self, "organ_labels", tuple(int(v) for v in self.organ_labels))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["organ_labels"] = None if self.organ_labels is None else list(self.organ_labels)
        return d


def postprocess(labels: Volume, config: PostprocessConfig | None = None,
                organ_mask: Volume | None = None) -> Volume:
    """Apply :class:`PostprocessConfig` to a label map; returns a new :class:`Volume`.

    Raises:
        GeometryMismatchError: ``organ_mask`` is not on the grid of ``labels`` (the message
            names the organ-mask file).
    """
    config = config or PostprocessConfig()
    array = np.asarray(labels.array)
    if organ_mask is not None:
        check_same_grid(labels, organ_mask, what_a="prediction",
                        what_b=organ_mask.source or "organ mask")
        array = restrict_to_organ(array, organ_mask.array, config.organ_labels,
                                  config.organ_mode, config.organ_min_overlap,
                                  config.connectivity)
    if config.min_volume_mm3 > 0:
        array = remove_small_components(array, labels.spacing, config.min_volume_mm3,
                                        config.connectivity)
    if config.max_lesions is not None:
        array = keep_largest_components(array, config.max_lesions, config.connectivity)
    return labels.with_array(array.astype(labels.array.dtype, copy=False))

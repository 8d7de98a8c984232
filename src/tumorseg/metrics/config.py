"""The settings of an evaluation, as one typed, JSON-ready dataclass."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tumorseg.errors import InputError

__all__ = ["DEFAULT_SIZE_BINS_MM", "MetricsConfig", "SizeUnit"]

SizeUnit = Literal["voxels", "mm3"]

#: Default lesion size-bin edges: equivalent-sphere diameter in mm, bins are [a, b).
DEFAULT_SIZE_BINS_MM: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0, math.inf)

_CONNECTIVITIES = (6, 18, 26)


@dataclass(frozen=True)
class MetricsConfig:
    """How metrics are computed. Frozen: make a changed copy with :func:`dataclasses.replace`.

    Attributes:
        nsd_tolerance_mm: tolerance of the normalised surface Dice, in mm (border voxels
            whose distance to the other border is ``<=`` this count as correct).
        connectivity: voxel connectivity of lesions (connected components): 6 (faces),
            18 (faces and edges) or 26 (faces, edges and corners).
        min_lesion_size: lesions smaller than this (strictly) are ignored by the lesion-wise
            metrics; 0 keeps all. Unit: ``min_lesion_size_unit``.
        min_lesion_size_unit: ``"voxels"`` or ``"mm3"``.
        ignore_small_predictions: also ignore predicted components below ``min_lesion_size``
            that match no reference lesion (else they count as false positives, as in the
            BraTS 2023 code, which filters reference lesions only).
        size_bins_mm: increasing bin edges of the lesion equivalent-sphere diameter in mm;
            bins are half-open ``[edge[n], edge[n + 1])``; the last edge may be ``inf``.
        labels: label values to evaluate; ``None`` evaluates every non-zero value present in
            the prediction or the reference of each case.
        missed_lesion_hd95_mm: HD95 given to a missed reference lesion and to a false-positive
            component in the lesion-wise HD95, in mm (374 as in BraTS 2023).
        match_dilation_iterations: reference lesions are dilated this many voxels before
            matching predicted components (and reference components whose dilations touch are
            merged into one lesion), as in BraTS 2023 (1 for BraTS-MEN/MET, 3 for GLI/SSA/PED).
        match_dilation_connectivity: structuring element of that dilation: 26 = 3×3×3 cube,
            18 = cube without corners (the ``generate_binary_structure(3, 2)`` BraTS 2023
            uses), 6 = cross.
        lesionwise: compute the lesion-wise metrics (turn off to save time).
    """

    nsd_tolerance_mm: float = 2.0
    connectivity: int = 26
    min_lesion_size: float = 0.0
    min_lesion_size_unit: SizeUnit = "voxels"
    ignore_small_predictions: bool = True
    size_bins_mm: tuple[float, ...] = DEFAULT_SIZE_BINS_MM
    labels: tuple[int, ...] | None = None
    missed_lesion_hd95_mm: float = 374.0
    match_dilation_iterations: int = 1
    match_dilation_connectivity: int = 26
    lesionwise: bool = True

    def __post_init__(self) -> None:
        bins = tuple(float(b) for b in self.size_bins_mm)
        object.__setattr__(self, "size_bins_mm", bins)
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(int(v) for v in self.labels))
        problems = _problems(self)
        if problems:
            raise InputError("invalid metrics settings: " + "; ".join(problems))

    def min_lesion_voxels(self, spacing: Sequence[float]) -> float:
        """The minimum lesion size in voxels for voxels of ``spacing`` (mm)."""
        if self.min_lesion_size_unit == "voxels":
            return float(self.min_lesion_size)
        return float(self.min_lesion_size) / math.prod(float(s) for s in spacing)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (``inf`` stays a float; see :mod:`.report` for JSON)."""
        d = asdict(self)
        d["size_bins_mm"] = list(self.size_bins_mm)
        d["labels"] = None if self.labels is None else list(self.labels)
        return d


def _problems(c: MetricsConfig) -> list[str]:
    out: list[str] = []
    if not (math.isfinite(c.nsd_tolerance_mm) and c.nsd_tolerance_mm >= 0):
        out.append(f"NSD tolerance must be a finite number >= 0 mm, got {c.nsd_tolerance_mm}")
    for name in ("connectivity", "match_dilation_connectivity"):
        if getattr(c, name) not in _CONNECTIVITIES:
            out.append(f"{name} must be 6, 18 or 26, got {getattr(c, name)}")
    if not (math.isfinite(c.min_lesion_size) and c.min_lesion_size >= 0):
        out.append(f"minimum lesion size must be >= 0, got {c.min_lesion_size}")
    if c.min_lesion_size_unit not in ("voxels", "mm3"):
        out.append(f"minimum lesion size unit must be 'voxels' or 'mm3', "
                   f"got {c.min_lesion_size_unit!r}")
    bins = c.size_bins_mm
    if len(bins) < 2 or any(math.isnan(b) for b in bins) or bins[0] < 0 or any(
        b >= a for a, b in zip(bins[1:], bins[:-1], strict=True)
    ):
        out.append(f"size bins must be >= 2 increasing edges >= 0 mm, got {list(bins)}")
    if c.labels is not None and (not c.labels or any(v <= 0 for v in c.labels)):
        out.append(f"labels must be positive label values, got {list(c.labels)}")
    if not (c.missed_lesion_hd95_mm >= 0):
        out.append(f"missed-lesion HD95 must be >= 0 mm, got {c.missed_lesion_hd95_mm}")
    if c.match_dilation_iterations < 0:
        out.append(f"match dilation must be >= 0 voxels, got {c.match_dilation_iterations}")
    return out

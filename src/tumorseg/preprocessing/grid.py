"""The :class:`Grid` type: a voxel grid's geometry without its voxels.

Axis order and coordinates follow :mod:`tumorseg.io`: sizes and spacings in (i, j, k) order,
spacing and origin in mm, LPS, ``direction`` columns are the array axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tumorseg.io import Volume

__all__ = ["Grid"]


@dataclass(frozen=True, eq=False)
class Grid:
    """Size, spacing, origin and direction of a 3D voxel grid.

    Attributes:
        shape: number of voxels along i, j, k.
        spacing: voxel size in mm along i, j, k.
        origin: LPS position (mm) of the centre of voxel (0, 0, 0).
        direction: 3×3 matrix, column ``a`` the unit LPS direction of array axis ``a``.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(s) for s in self.origin))
        object.__setattr__(self, "direction",
                           np.asarray(self.direction, dtype=float).reshape(3, 3).copy())
        if len(self.shape) != 3 or len(self.spacing) != 3 or len(self.origin) != 3:
            raise ValueError("a Grid needs 3 sizes, 3 spacings and a 3D origin")

    @classmethod
    def of(cls, volume: Volume) -> Grid:
        """The grid ``volume`` lives on (values copied exactly)."""
        return cls(volume.shape, volume.spacing, volume.origin, volume.direction)

    def volume(self, array: np.ndarray, **fields: Any) -> Volume:
        """A :class:`Volume` holding ``array`` ([i, j, k] or [c, i, j, k]) on this grid."""
        array = np.asarray(array)
        if tuple(array.shape[-3:]) != self.shape:
            raise ValueError(f"array shape {array.shape} does not fit grid {self.shape}")
        return Volume(array, spacing=self.spacing, origin=self.origin,
                      direction=self.direction.copy(), **fields)

    def index_to_world(self, ijk: Any) -> np.ndarray:
        """Voxel indices (…, 3) in (i, j, k) order → LPS mm (…, 3)."""
        m = self.direction @ np.diag(self.spacing)
        return np.asarray(ijk, dtype=float) @ m.T + np.asarray(self.origin)

    def world_to_index(self, xyz: Any) -> np.ndarray:
        """LPS mm (…, 3) → continuous voxel indices (…, 3) in (i, j, k) order."""
        m = self.direction @ np.diag(self.spacing)
        return (np.asarray(xyz, dtype=float) - np.asarray(self.origin)) @ np.linalg.inv(m).T

    def same_as(self, other: Grid) -> bool:
        """True when both grids are exactly equal (no tolerance)."""
        return (self.shape == other.shape and self.spacing == other.spacing
                and self.origin == other.origin
                and bool(np.array_equal(self.direction, other.direction)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (floats written with full precision)."""
        return {"shape": list(self.shape), "spacing": list(self.spacing),
                "origin": list(self.origin), "direction": self.direction.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grid:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["shape"]), tuple(d["spacing"]), tuple(d["origin"]),
                   np.asarray(d["direction"], dtype=float))

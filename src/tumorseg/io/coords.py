"""Parse CLI points and map them to voxel indices (see :mod:`tumorseg.io` for conventions)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io.volume import Volume

__all__ = ["CoordSystem", "parse_point", "point_to_index"]

CoordSystem = Literal["voxel", "mm"]


def parse_point(text: str) -> tuple[float, float, float]:
    """Parse ``"x,y,z"`` (numbers, optional spaces) into a 3-tuple of floats."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise InputError(f"point {text!r}: expected three comma-separated numbers X,Y,Z")
    try:
        x, y, z = (float(p) for p in parts)
    except ValueError as exc:
        raise InputError(f"point {text!r}: not a number ({exc})") from exc
    return (x, y, z)


def point_to_index(
    volume: Volume, point: tuple[float, float, float], coords: CoordSystem = "voxel",
    what: str | None = None,
) -> tuple[int, int, int]:
    """Map a point to the nearest voxel index ``(i, j, k)`` of ``volume``.

    ``coords="voxel"``: the point is already ``(x, y, z) = (i, j, k)``: whole numbers (a
    fraction such as 12.5 is refused: voxel indices are integers, and a position between
    voxels is given in mm).
    ``coords="mm"``: the point is an LPS patient position in mm.
    ``what`` names the point in errors (e.g. the CLI option and text, ``"--click 3,4,5"``).
    Raises :class:`InputError`, naming the image file and ``what``, when the point is outside
    the volume or a voxel index is not whole.
    """
    if coords == "voxel":
        ijk = np.asarray(point, dtype=float)
        if not np.all(ijk == np.round(ijk)):
            name = what or f"point {tuple(point)}"
            raise InputError(f"{volume.source or 'image'}: {name}: voxel indices are whole "
                             "numbers (give a position between voxels with --coords mm)")
    elif coords == "mm":
        ijk = volume.world_to_index(point)
    else:
        raise InputError(f"unknown coordinate system {coords!r} (use voxel or mm)")
    idx = tuple(int(v) for v in np.rint(ijk))
    if any(i < 0 or i >= n for i, n in zip(idx, volume.shape, strict=True)):
        name = what or f"point {tuple(point)}"
        raise InputError(
            f"{volume.source or 'image'}: {name} ({coords}) maps to voxel {idx}, outside the "
            f"image of size {volume.shape}"
        )
    return (idx[0], idx[1], idx[2])

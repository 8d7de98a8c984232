"""Is a file a label map? The check every command that reads masks applies.

A label map holds one channel of non-negative integers (float files with whole values are
accepted) and few distinct values. An image given by mistake (a CT: negative HU; an MRI:
thousands of distinct values; probabilities: fractions) is refused with one line naming the
file, instead of being read as thousands of "lesion labels".
"""

from __future__ import annotations

import os

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io.volume import Volume

__all__ = ["MAX_LABEL_VALUES", "label_map_array"]


def _distinct_values(arr: np.ndarray, top: int) -> int:
    """How many distinct values the non-negative integer ``arr`` (maximum ``top``) holds."""
    if top > 10_000_000:
        return len(np.unique(arr))
    seen = np.zeros(top + 1, dtype=bool)
    flat = arr.reshape(-1)
    step = 1 << 22
    for start in range(0, flat.size, step):
        seen[flat[start:start + step].astype(np.intp)] = True
    return int(np.count_nonzero(seen))


#: More distinct values than this and a file is taken for an image, not a label map (whole-
#: body atlases have about 120 labels; a CT has thousands of distinct values).
MAX_LABEL_VALUES = 512


def label_map_array(volume: Volume, path: str | os.PathLike[str]) -> np.ndarray:
    """The label map of ``volume`` (read from ``path``) as integers.

    Raises:
        InputError: several channels, a non-numeric type, non-integer or negative values,
            or more than :data:`MAX_LABEL_VALUES` distinct values (an image, not labels).
    """
    if volume.is_multichannel:
        raise InputError(f"{path}: a label map has one channel, this has {volume.n_channels}")
    arr = volume.array
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{path}: voxel type {arr.dtype} is not a label map")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.array_equal(arr, np.round(arr)):
            raise InputError(f"{path}: non-integer voxel values: not a label map "
                             "(probabilities?)")
        arr = arr.astype(np.int64)
    if arr.size and int(arr.min()) < 0:
        raise InputError(f"{path}: negative voxel values (min {int(arr.min())}): not a label "
                         "map (an image?)")
    top = int(arr.max()) if arr.size else 0
    if top >= MAX_LABEL_VALUES and (n_values := _distinct_values(arr, top)) > MAX_LABEL_VALUES:
        raise InputError(f"{path}: {n_values} distinct voxel values: not a label map "
                         "(an image?)")
    return arr

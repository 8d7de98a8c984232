"""Which voxels form one lesion: connected components, or the values of an instance map.

A lesion mask is either **binary / semantic** (0 background, nonzero tumour, maybe several
tumour sub-region values such as BraTS 1/2/3 that touch each other) or an **instance map**
(each lesion has its own value, as label tools and ``tumorseg predict``'s lesion ids write).

``mode``:
    ``"no"``   every nonzero voxel is tumour; lesions are its connected components
               (26-connected by default).
    ``"yes"``  every nonzero value is one lesion, even when its voxels are not connected.
    ``"auto"`` an instance map when the mask holds at least two nonzero values **and no two
               different nonzero values touch** (26-neighbourhood) — touching values are
               sub-regions of one tumour, not separate lesions; otherwise as ``"no"``.
"""

from __future__ import annotations

from typing import Literal

import cc3d
import numpy as np

__all__ = ["InstanceMode", "lesion_instances", "values_touch"]

InstanceMode = Literal["auto", "yes", "no"]


def values_touch(labels: np.ndarray) -> bool:
    """True when two voxels with different nonzero values are 26-neighbours."""
    lab = np.asarray(labels)
    shifts = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
              if (a, b, c) > (0, 0, 0)]  # 13 half-neighbourhood offsets
    for off in shifts:
        src = tuple(slice(max(0, -o), lab.shape[n] - max(0, o)) for n, o in enumerate(off))
        dst = tuple(slice(max(0, o), lab.shape[n] - max(0, -o)) for n, o in enumerate(off))
        x, y = lab[src], lab[dst]
        if np.any((x != y) & (x != 0) & (y != 0)):
            return True
    return False


def lesion_instances(labels: np.ndarray, mode: InstanceMode = "auto",
                     connectivity: int = 26) -> tuple[np.ndarray, bool]:
    """Number the lesions of a mask ``[i, j, k]`` (see the module docstring for ``mode``).

    Returns:
        ``(instances, is_instance_map)``: an int32 array of the mask's shape, 0 for
        background and 1…n for the lesions (in no particular order), and whether the mask
        was read as an instance map. The input is not modified.
    """
    lab = np.asarray(labels)
    if lab.ndim != 3:
        raise ValueError(f"a lesion mask must be 3D [i, j, k], got shape {lab.shape}")
    if lab.dtype == bool:
        lab = lab.astype(np.uint8)
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.array_equal(lab, np.round(lab)):
            raise ValueError("a lesion mask must hold integer values")
        lab = lab.astype(np.int64)
    if mode not in ("auto", "yes", "no"):
        raise ValueError(f"instance mode must be auto, yes or no, got {mode!r}")
    values = np.unique(lab)
    values = values[values != 0]
    as_instances = mode == "yes" or (mode == "auto" and len(values) >= 2
                                     and not values_touch(lab))
    if as_instances:
        out = np.zeros(lab.shape, dtype=np.int32)
        for n, v in enumerate(values, start=1):
            out[lab == v] = n
        return out, True
    comps = cc3d.connected_components(np.ascontiguousarray(lab != 0).astype(np.uint8),
                                      connectivity=connectivity)
    return comps.astype(np.int32), False

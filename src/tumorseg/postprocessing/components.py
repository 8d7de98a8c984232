"""Connected components of label maps: labelling, size filtering by mm³, largest-k.

Components are found **per label value** (cc3d's multi-label mode): two touching voxels
with different labels belong to different components. Arrays are ``[i, j, k]`` integer
label maps (0 = background); spacing is in mm along i, j, k (conventions in
:mod:`tumorseg.io`). No function mutates its input; each returns a new array.
"""

from __future__ import annotations

from collections.abc import Sequence

import cc3d
import numpy as np

__all__ = [
    "CONNECTIVITIES",
    "component_labels",
    "keep_largest_components",
    "label_components",
    "remove_small_components",
]

#: Neighbourhoods cc3d accepts in 3D: faces (6), faces + edges (18), + corners (26).
CONNECTIVITIES = (6, 18, 26)


def _check(labels: np.ndarray, connectivity: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"a label map must be 3D [i, j, k], got shape {labels.shape}")
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)
    elif not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"a label map must hold integers, got {labels.dtype}")
    return labels


def label_components(labels: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Number the connected components of every nonzero label separately.

    Returns:
        ``(components, n)``: an unsigned integer array of ``labels``' shape, 0 for
        background and 1…n for the components (in cc3d's scan order), and ``n``.
    """
    labels = _check(labels, connectivity)
    components, n = cc3d.connected_components(np.ascontiguousarray(labels),
                                              connectivity=connectivity, return_N=True)
    return components, int(n)


def component_labels(components: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The label value of each component: an array of length ``n + 1`` (entry 0 is 0)."""
    out = np.zeros(n + 1, dtype=np.int64)
    fg = components != 0
    out[components[fg]] = labels[fg]
    return out


def remove_small_components(labels: np.ndarray, spacing: Sequence[float],
                            min_volume_mm3: float, connectivity: int = 26) -> np.ndarray:
    """Set to 0 every component whose volume is below ``min_volume_mm3``.

    The volume of a component is its voxel count times the voxel volume
    (``prod(spacing)``, mm³), so the same physical threshold removes fewer voxels on a fine
    grid than on a coarse one. ``min_volume_mm3 <= 0`` keeps everything (a copy).

    Example:
        >>> lab = np.zeros((10, 10, 10), np.uint8); lab[0, 0, 0] = 1; lab[5:8, 5:8, 5:8] = 1
        >>> int(remove_small_components(lab, (1, 1, 2), 10.0).sum())  # 2 mm³ speck removed
        27
    """
    labels = _check(labels, connectivity)
    out = labels.copy()
    if min_volume_mm3 <= 0 or not out.any():
        return out
    components, n = label_components(labels, connectivity)
    counts = np.bincount(components.reshape(-1), minlength=n + 1)
    voxel_mm3 = float(np.prod(np.asarray(spacing, dtype=float)))
    small = counts * voxel_mm3 < min_volume_mm3
    small[0] = False
    if small.any():
        out[small[components]] = 0
    return out


def keep_largest_components(labels: np.ndarray, k: int, connectivity: int = 26,
                            per_label: bool = True) -> np.ndarray:
    """Keep the ``k`` largest components (by voxel count) of each label, or overall.

    Args:
        labels: integer label map [i, j, k].
        k: components to keep (≥ 1).
        connectivity: 6, 18 or 26.
        per_label: ``k`` per label value (True) or ``k`` in total (False).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    labels = _check(labels, connectivity)
    components, n = label_components(labels, connectivity)
    if n <= k:
        return labels.copy()
    counts = np.bincount(components.reshape(-1), minlength=n + 1)
    keep = np.zeros(n + 1, dtype=bool)
    owner = component_labels(components, labels, n)
    groups = [np.flatnonzero(owner == v) for v in np.unique(owner[1:])] if per_label else [
        np.arange(1, n + 1)]
    for ids in groups:
        ids = ids[ids != 0]
        order = ids[np.argsort(-counts[ids], kind="stable")]
        keep[order[:k]] = True
    out = labels.copy()
    out[~keep[components]] = 0
    return out

"""Choose the reference phase of a 4D CT (the one the GTV is drawn on).

Default: end-exhale. When the DICOM tags say which phase that is we would use them, but
few exports do; so end-exhale is taken to be **the phase with the smallest lung air
volume** — voxels below −400 HU inside the body (the lungs hold least air at end-exhale).
The body is the largest connected component above −400 HU with its holes filled slice by
slice (axial), so air outside the patient and in the couch is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.errors import InputError
from tumorseg.io import Volume

__all__ = ["AIR_HU", "choose_reference_phase", "lung_air_ml"]

#: Lung air threshold (HU): voxels below it inside the body count as lung.
AIR_HU = -400.0


def _stride(spacing: Sequence[float], target_mm: float = 3.0) -> tuple[int, int, int]:
    s = tuple(max(1, int(target_mm // sp)) for sp in spacing)
    return (s[0], s[1], s[2])


def lung_air_ml(volume: Volume) -> float:
    """Volume (mL) of air inside the body: voxels < −400 HU enclosed by the body outline.

    Computed on a grid subsampled to about 3 mm (exact enough to rank phases, fast on
    512×512 slices). ``volume`` is a CT in HU, ``array[i, j, k]`` with k axial.
    """
    st = _stride(volume.spacing)
    hu = volume.array[:: st[0], :: st[1], :: st[2]]
    tissue = hu >= AIR_HU
    if not tissue.any():
        return 0.0
    labels = cc3d.connected_components(tissue, connectivity=6)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    body = labels == int(np.argmax(counts))
    filled = np.empty_like(body)
    for k in range(body.shape[2]):
        filled[:, :, k] = ndimage.binary_fill_holes(body[:, :, k])
    air = filled & ~tissue
    voxel_ml = float(np.prod(np.asarray(volume.spacing) * np.asarray(st))) / 1000.0
    return float(air.sum()) * voxel_ml


def choose_reference_phase(phases: Sequence[Volume], requested: int | None = None
                           ) -> tuple[int, list[float]]:
    """The reference phase index and the lung air volume (mL) of every phase.

    ``requested`` (0-based, in breathing order) wins when given; otherwise the phase with the
    smallest lung air volume (end-exhale) is chosen.
    """
    n = len(phases)
    if requested is not None and not 0 <= requested < n:
        raise InputError(f"--reference-phase {requested}: out of range (the phases are 0…{n - 1})")
    air = [lung_air_ml(v) for v in phases]
    if requested is not None:
        return requested, air
    return int(np.argmin(air)), air

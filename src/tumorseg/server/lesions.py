"""The lesion table of a session: :func:`tumorseg.measure.measure_case` on its instance map."""

from __future__ import annotations

from typing import Any

import numpy as np

from tumorseg.io import Volume
from tumorseg.measure import measure_case

__all__ = ["lesion_table"]


def lesion_table(volume: Volume, mask: np.ndarray, accepted: set[int]) -> list[dict[str, Any]]:
    """One row per lesion (mask value), ordered by lesion id.

    Keys: id (the mask value), voxels, volume_ml, recist_long_mm, recist_short_mm (RECIST 1.1
    on the axial plane), max_3d_mm, centroid_mm (LPS), bbox (inclusive voxel indices of the
    image grid, ``[[i0, j0, k0], [i1, j1, k1]]``), intensity_mean, accepted.
    """
    if not mask.any():
        return []
    result = measure_case(volume, volume.with_array(mask, modality="SEG"), instances="yes")
    rows = []
    for m in result.lesions:
        rows.append({
            "id": int(m.mask_value), "voxels": int(m.voxels), "volume_ml": m.volume_ml,
            "recist_long_mm": m.recist_long_mm, "recist_short_mm": m.recist_short_mm,
            "max_3d_mm": m.max_diameter_3d_mm,
            "centroid_mm": [m.centroid_x_mm, m.centroid_y_mm, m.centroid_z_mm],
            "bbox": [[m.bbox_i0, m.bbox_j0, m.bbox_k0], [m.bbox_i1, m.bbox_j1, m.bbox_k1]],
            "intensity_mean": m.intensity_mean, "accepted": int(m.mask_value) in accepted})
    return sorted(rows, key=lambda r: r["id"])

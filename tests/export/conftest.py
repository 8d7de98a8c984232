"""A small synthetic CT series (square slices: rt-utils assumes rows == columns) and masks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.io.dicom_factory import write_series


def lesion_mask(shape: tuple[int, int, int]) -> np.ndarray:
    """Two lesions: a ball with a hole (a cystic core) and a small block, uint8 [i, j, k]."""
    ni, nj, nk = shape
    i, j, k = np.mgrid[:ni, :nj, :nk]
    r2 = (i - ni * 0.4) ** 2 + (j - nj * 0.5) ** 2 + ((k - nk / 2) * 2.5) ** 2
    mask = (r2 < (ni * 0.22) ** 2).astype(np.uint8)
    mask[r2 < (ni * 0.08) ** 2] = 0  # a hole in the middle slices
    mask[int(ni * 0.75):int(ni * 0.85), 3:7, 1:3] = 1
    return mask


@pytest.fixture(scope="session")
def ct_series(tmp_path_factory):
    """Folder of a 40×40×8 CT series (0.8 mm pixels, 2.5 mm slices, non-zero origin)."""
    folder = tmp_path_factory.mktemp("ct_series")
    stored = np.random.default_rng(0).integers(900, 1200, size=(40, 40, 8)).astype(np.uint16)
    write_series(folder, stored, spacing=(0.8, 0.8, 2.5), origin=(-16.0, 30.0, -40.0))
    return folder

"""The classical organ-outlier baseline finds a clear lesion and nothing in a clean organ."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.baselines import OrganOutlierConfig, segment_organ_outliers
from tumorseg.errors import GeometryMismatchError
from tumorseg.io import Volume
from tumorseg.metrics import dice


def _organ_with_lesion(lesion: bool) -> tuple[Volume, Volume, np.ndarray]:
    rng = np.random.default_rng(0)
    shape, spacing = (64, 64, 32), (1.5, 1.5, 3.0)
    x, y, z = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                          indexing="ij")
    organ = ((x - 48) ** 2 + (y - 48) ** 2) / 40**2 + ((z - 48) / 40) ** 2 < 1
    truth = ((x - 40) ** 2 + (y - 50) ** 2 + (z - 45) ** 2) < 10**2
    image = np.where(organ, 60.0, -100.0) + rng.normal(0, 10, shape)
    if lesion:
        image[truth] -= 50
    ct = Volume(image.astype(np.float32), spacing=spacing, modality="CT")
    return ct, ct.with_array(organ.astype(np.uint8)), truth


def test_finds_a_hypodense_lesion():
    ct, organs, truth = _organ_with_lesion(True)
    mask = segment_organ_outliers(ct, organs, OrganOutlierConfig(min_volume_mm3=100))
    assert mask.same_grid(ct) and mask.array.dtype == np.uint8
    assert dice(mask.array, truth) > 0.7


def test_clean_organ_gives_empty_mask():
    ct, organs, _ = _organ_with_lesion(False)
    assert segment_organ_outliers(ct, organs).array.sum() == 0


def test_grid_mismatch_is_refused():
    ct, organs, _ = _organ_with_lesion(True)
    shifted = Volume(organs.array, spacing=organs.spacing, origin=(5.0, 0.0, 0.0))
    with pytest.raises(GeometryMismatchError, match="organ labels"):
        segment_organ_outliers(ct, shifted)

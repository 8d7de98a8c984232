"""PET statistics on analytic SUV distributions: uniform sphere, hot core, resampled PET."""

from __future__ import annotations

import numpy as np
import pytest

from tests.measure.shapes import ellipsoid, volumes
from tumorseg.io import Volume
from tumorseg.measure import SUV_PEAK_RADIUS_MM, measure_case, pet_stats


def test_peak_radius_is_one_millilitre():
    assert 4 / 3 * np.pi * SUV_PEAK_RADIUS_MM**3 == pytest.approx(1000.0)


def test_uniform_sphere_all_suvs_equal():
    spacing = (2.0, 2.0, 2.0)
    lesion = ellipsoid((30, 30, 30), spacing, (15.0, 15.0, 15.0))
    suv = np.where(lesion, 5.0, 1.0).astype(np.float32)
    image, mask = volumes(lesion, spacing)
    x = measure_case(image, mask, pet=mask.with_array(suv, modality="PT")).lesions[0]
    assert x.suv_max == pytest.approx(5.0) and x.suv_mean == pytest.approx(5.0)
    assert x.suv_peak == pytest.approx(5.0, abs=1e-6)  # a 1 mL sphere fits inside
    assert x.mtv_ml == pytest.approx(x.volume_ml)
    assert x.tlg == pytest.approx(5.0 * x.mtv_ml)


def test_hot_core_peak_is_the_analytic_one_ml_mean():
    """Lesion r = 15 mm at SUV 2 with a core r = 4 mm at SUV 10 (1 mm voxels): the 1 mL
    sphere with the highest mean is concentric with the core, mean = 2 + 8 (4 / R_peak)³."""
    spacing = (1.0, 1.0, 1.0)
    lesion = ellipsoid((41, 41, 41), spacing, (15.0, 15.0, 15.0))
    core = ellipsoid((41, 41, 41), spacing, (4.0, 4.0, 4.0))
    suv = np.where(core, 10.0, np.where(lesion, 2.0, 0.5))
    s = pet_stats(suv, lesion, spacing)
    expected = 2.0 + 8.0 * (4.0 / SUV_PEAK_RADIUS_MM) ** 3
    assert s.suv_mean < s.suv_peak < s.suv_max == 10.0
    assert s.suv_peak == pytest.approx(expected, rel=0.05)
    assert s.tlg == pytest.approx(s.suv_mean * s.mtv_ml)


def test_pet_on_another_grid_is_resampled_and_said():
    spacing = (2.0, 2.0, 2.0)
    lesion = ellipsoid((24, 24, 24), spacing, (12.0, 12.0, 12.0))
    image, mask = volumes(lesion, spacing)
    coarse = Volume(np.full((12, 12, 12), 3.0, np.float32), (4.0, 4.0, 4.0), mask.origin,
                    modality="PT")
    result = measure_case(image, mask, pet=coarse)
    assert result.summary.pet_resampled is True
    assert any("resampled" in n for n in result.notes)
    x = result.lesions[0]
    assert x.suv_mean == pytest.approx(3.0, abs=1e-5)
    assert result.summary.total_tlg == pytest.approx(3.0 * x.mtv_ml, rel=1e-5)

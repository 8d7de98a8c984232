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


def test_lesions_outside_the_pet_field_of_view_get_no_suv():
    """A PET that covers only part of the mask's grid: a lesion reaching outside it gets no
    SUV (it was filled with 0 and reported SUVmax 0, TLG 0), with a note naming it."""
    spacing = (2.0, 2.0, 2.0)
    shape = (40, 20, 20)
    inside = ellipsoid(shape, spacing, (5.0, 5.0, 5.0), centre_mm=(-24.0, 0.0, 0.0))
    across = ellipsoid(shape, spacing, (5.0, 5.0, 5.0), centre_mm=(0.0, 0.0, 0.0))
    beyond = ellipsoid(shape, spacing, (5.0, 5.0, 5.0), centre_mm=(26.0, 0.0, 0.0))
    image, mask = volumes(inside | across | beyond, spacing)
    # the PET covers i < 20 of the mask grid (x < origin + 40 mm), on a grid of its own
    pet = Volume(np.full((10, 10, 10), 4.0, np.float32), (4.0, 4.0, 4.0),
                 tuple(np.asarray(mask.origin) + 1.0), modality="PT")
    result = measure_case(image, mask, pet=pet, instances="no")
    by_x = sorted(result.lesions, key=lambda x: x.centroid_mm[0])
    assert by_x[0].suv_mean == pytest.approx(4.0, abs=1e-5) and by_x[0].tlg is not None
    assert by_x[1].suv_max is None and by_x[1].tlg is None
    assert by_x[2].suv_max is None and by_x[2].suv_mean is None
    outside_notes = [n for n in result.notes if "outside the PET's field of view" in n]
    assert len(outside_notes) == 2
    assert f"lesion {by_x[2].lesion_id}: 100 %" in " ".join(outside_notes)
    assert result.summary.total_tlg == pytest.approx(by_x[0].tlg, rel=1e-6)

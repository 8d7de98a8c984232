"""Enhanced multi-frame CT (made by highdicom from a single-frame series) reads back to the
same array and geometry as the single-frame series it was made from."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from tests.io.dicom_factory import write_series
from tumorseg.errors import InputError
from tumorseg.io import read_volume

hd = pytest.importorskip("highdicom")


def _legacy_enhanced(paths, out):
    datasets = [pydicom.dcmread(p) for p in paths]
    datasets = datasets[::-1]  # frames stored top-down: the reader must sort them
    enhanced = hd.legacy.LegacyConvertedEnhancedCTImage(
        legacy_datasets=datasets,
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    enhanced.save_as(out)
    return out


def test_enhanced_ct_same_as_single_frame(tmp_path):
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 2000, size=(7, 6, 5)).astype(np.uint16)
    paths = write_series(tmp_path / "single", stored, spacing=(0.8, 0.7, 2.5),
                         origin=(-10.0, 20.0, -30.0))
    single = read_volume(tmp_path / "single")
    file = _legacy_enhanced(paths, tmp_path / "multi" / "enhanced.dcm")
    for source in (file, file.parent):  # the file, and its folder as a series
        multi = read_volume(source)
        np.testing.assert_array_equal(multi.array, single.array)
        np.testing.assert_allclose(multi.spacing, single.spacing, atol=1e-6)
        np.testing.assert_allclose(multi.origin, single.origin, atol=1e-6)
        np.testing.assert_allclose(multi.direction, single.direction, atol=1e-6)
        assert multi.modality == "CT"
    assert single.array.min() < 0  # rescaled to HU (intercept -1024)


def test_enhanced_with_a_missing_frame_refused(tmp_path):
    stored = np.zeros((4, 4, 5), dtype=np.uint16)
    paths = write_series(tmp_path / "single", stored)
    file = _legacy_enhanced([p for n, p in enumerate(paths) if n != 2],
                            tmp_path / "multi" / "enhanced.dcm")
    with pytest.raises(InputError, match="gap"):
        read_volume(file)


def test_enhanced_pet_is_read_in_suv(tmp_path):
    """A legacy-converted enhanced PET object gives the same SUV as its single-frame series."""
    from tests.io.dicom_factory import pet_tags

    stored = np.random.default_rng(3).integers(0, 3000, size=(6, 5, 4)).astype(np.uint16)
    slopes = np.array([0.5, 1.25, 2.0, 3.5])
    paths = write_series(tmp_path / "single", stored, modality="PT", slopes=slopes,
                         intercept=0.0, extra=pet_tags(weight_kg=70.0, dose_bq=350e6))
    datasets = [pydicom.dcmread(p) for p in paths][::-1]
    enhanced = hd.legacy.LegacyConvertedEnhancedPETImage(
        legacy_datasets=datasets, series_instance_uid=hd.UID(), series_number=98,
        sop_instance_uid=hd.UID(), instance_number=1)
    out = tmp_path / "enhanced" / "pet.dcm"
    out.parent.mkdir()
    enhanced.save_as(out)
    single, multi = read_volume(tmp_path / "single"), read_volume(out)
    assert multi.modality == "PT" and multi.array.dtype == np.float32
    decayed = 350e6 * 2.0 ** (-3600.0 / 6586.2)  # START: injection 10:00, series 11:00
    expected = stored * slopes[None, None, :] * 70_000.0 / decayed
    np.testing.assert_allclose(single.array, expected, rtol=1e-5)
    np.testing.assert_allclose(multi.array, expected, rtol=1e-5)
    np.testing.assert_allclose(multi.origin, single.origin, atol=1e-4)

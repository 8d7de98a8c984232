"""PET series → SUVbw from the tags, checked against the formula by hand; refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pydicom
import pytest

from tests.io.dicom_factory import pet_tags, write_series
from tumorseg.errors import InputError
from tumorseg.io import read_dicom_series, read_volume

HALF_LIFE = 6586.2  # F-18, s


def _stored(shape=(6, 5, 4), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3000, size=shape).astype(np.uint16)


def test_suv_start_decay_per_slice_slope(tmp_path):
    stored = _stored()
    slopes = np.array([0.5, 1.25, 2.0, 3.5])
    write_series(tmp_path, stored, modality="PT", slopes=slopes, intercept=0.0,
                 extra=pet_tags(weight_kg=70.0, dose_bq=350e6))
    vol = read_volume(tmp_path)
    assert vol.modality == "PT" and vol.array.dtype == np.float32
    # injection 10:00, SeriesTime 11:00 → the dose decayed over 3600 s
    decayed = 350e6 * 2.0 ** (-3600.0 / HALF_LIFE)
    expected = stored * slopes[None, None, :] * 70_000.0 / decayed
    np.testing.assert_allclose(vol.array, expected, rtol=1e-5)
    # the raw activity (Bq/mL) without conversion
    raw = read_dicom_series(tmp_path, suv=False)
    np.testing.assert_allclose(raw.array, stored * slopes[None, None, :], rtol=1e-5)


def test_suv_admin_and_gml_and_none(tmp_path):
    stored = _stored(seed=1)
    write_series(tmp_path / "admin", stored, modality="PT", intercept=0.0,
                 extra=pet_tags(weight_kg=80.0, dose_bq=400e6, decay="ADMIN"))
    vol = read_volume(tmp_path / "admin")
    np.testing.assert_allclose(vol.array, stored * 80_000.0 / 400e6, rtol=1e-5)

    write_series(tmp_path / "gml", stored, modality="PT", intercept=0.0, slopes=[0.01] * 4,
                 extra=pet_tags(units="GML"))
    np.testing.assert_allclose(read_volume(tmp_path / "gml").array, stored * 0.01, rtol=1e-5)

    # NONE: each slice decays to its own acquisition time (11:00 + k minutes)
    paths = write_series(tmp_path / "none", stored, modality="PT", intercept=0.0,
                         extra=pet_tags(decay="NONE"))
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.AcquisitionDate, ds.AcquisitionTime = "20240102", f"11{k:02d}00"
        ds.SeriesTime = "120000"  # later than every acquisition: must not be used
        ds.save_as(path)
    vol = read_volume(tmp_path / "none")
    for k in range(4):
        decayed = 350e6 * 2.0 ** (-(3600.0 + 60 * k) / HALF_LIFE)
        np.testing.assert_allclose(vol.array[..., k], stored[..., k] * 70_000.0 / decayed,
                                   rtol=1e-5)


def test_start_uses_earliest_acquisition_when_series_time_is_later(tmp_path):
    stored = _stored(seed=2)
    paths = write_series(tmp_path, stored, modality="PT", intercept=0.0, extra=pet_tags())
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SeriesTime, ds.AcquisitionDate, ds.AcquisitionTime = "113000", "20240102", "103000"
        ds.save_as(path)
    decayed = 350e6 * 2.0 ** (-1800.0 / HALF_LIFE)
    np.testing.assert_allclose(read_volume(tmp_path).array, stored * 70_000.0 / decayed,
                               rtol=1e-5)


def test_injection_time_only_before_midnight(tmp_path):
    """RadiopharmaceuticalStartTime 23:30 with a series at 00:30 the next day: 1 h uptake."""
    tags = pet_tags()
    info = tags["RadiopharmaceuticalInformationSequence"][0]
    del info.RadiopharmaceuticalStartDateTime
    info.RadiopharmaceuticalStartTime = "233000"
    stored = _stored(seed=3)
    paths = write_series(tmp_path, stored, modality="PT", intercept=0.0, extra=tags)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SeriesTime = "003000"
        ds.save_as(path)
    decayed = 350e6 * 2.0 ** (-3600.0 / HALF_LIFE)
    np.testing.assert_allclose(read_volume(tmp_path).array, stored * 70_000.0 / decayed,
                               rtol=1e-5)


@pytest.mark.parametrize(("missing", "named"), [
    ("PatientWeight", "PatientWeight"),
    ("DecayCorrection", "DecayCorrection"),
    ("Units", "Units"),
    ("RadiopharmaceuticalInformationSequence", "RadiopharmaceuticalInformationSequence"),
    ("RadionuclideTotalDose", "RadionuclideTotalDose"),
    ("RadionuclideHalfLife", "RadionuclideHalfLife"),
    ("RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartDateTime"),
])
def test_missing_tag_is_refused_by_name(tmp_path, missing, named):
    tags = pet_tags()
    info = tags["RadiopharmaceuticalInformationSequence"][0]
    if missing in tags:
        del tags[missing]
    else:
        delattr(info, missing)
    write_series(tmp_path, _stored(), modality="PT", intercept=0.0, extra=tags)
    with pytest.raises(InputError, match=named) as err:
        read_volume(tmp_path)
    assert "\n" not in str(err.value) and str(tmp_path) in str(err.value)


def test_counts_units_refused(tmp_path):
    write_series(tmp_path, _stored(), modality="PT", intercept=0.0,
                 extra=pet_tags(units="CNTS"))
    with pytest.raises(InputError, match="CNTS"):
        read_volume(tmp_path)


def test_gap_and_uneven_series_refused(tmp_path):
    stored = _stored(shape=(4, 4, 5))
    write_series(tmp_path / "gap", stored, z_positions=[0, 2.5, 5, 10, 12.5])
    with pytest.raises(InputError, match=r"gap \(missing 1 slice"):
        read_volume(tmp_path / "gap")
    write_series(tmp_path / "uneven", stored, z_positions=[0, 2.5, 5, 6.5, 9])
    with pytest.raises(InputError, match="uneven slice spacing"):
        read_volume(tmp_path / "uneven")
    write_series(tmp_path / "ok", stored)
    assert read_volume(tmp_path / "ok").spacing == pytest.approx((0.8, 0.7, 2.5))


def test_decayed_dose_formula():
    from tumorseg.io.dicom_pet import SuvParameters

    p = SuvParameters("BQML", 70, 100.0, 10.0, dt.datetime(2024, 1, 1), "START", None)
    assert p.decayed_dose_bq(dt.datetime(2024, 1, 1, 0, 0, 20)) == pytest.approx(25.0)

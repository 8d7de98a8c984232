"""The real DICOM series reads like SimpleITK's own series reader and fits its organ labels."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from tests.conftest import require_real
from tumorseg.io import align_to_grid, read_volume, write_volume


def _sitk_series(folder) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    ids = reader.GetGDCMSeriesIDs(str(folder))
    files = max((reader.GetGDCMSeriesFileNames(str(folder), i) for i in ids), key=len)
    reader.SetFileNames(files)
    return reader.Execute()


def _check_same_as_sitk(folder):
    vol = read_volume(folder)
    ref = _sitk_series(folder)
    np.testing.assert_array_equal(vol.array, sitk.GetArrayFromImage(ref).transpose(2, 1, 0))
    np.testing.assert_allclose(vol.spacing, ref.GetSpacing())
    np.testing.assert_allclose(vol.origin, ref.GetOrigin())
    np.testing.assert_allclose(vol.direction.reshape(-1), ref.GetDirection())
    assert vol.modality == "CT"
    return vol


def test_raw_series_same_as_sitk_reader():
    """The over-anonymised, JPEG 2000 series (empty UIDs) still reads."""
    vol = _check_same_as_sitk(require_real("ct_abdomen_dicom"))
    assert vol.shape == (512, 512, 20)
    np.testing.assert_allclose(vol.spacing, (0.9765625, 0.9765625, 2.0))
    assert -1100 < vol.array.min() < -900 and vol.array.max() > 1000  # HU, rescaled


def test_clean_series_same_pixels_as_raw():
    raw = read_volume(require_real("ct_abdomen_dicom"))
    clean = _check_same_as_sitk(require_real("ct_abdomen_dicom_clean"))
    np.testing.assert_array_equal(raw.array, clean.array)


def test_organ_labels_fit_the_series():
    """The organ NIfTI holds the series' lattice with the row axis flipped: aligning it
    exactly (no resampling) puts liver and spleen on soft-tissue HU, and the unaligned
    (wrong) order would not."""
    ct = read_volume(require_real("ct_abdomen_dicom"))
    organs = read_volume(require_real("ct_abdomen_dicom_organs.nii.gz"))
    aligned = align_to_grid(organs, ct)
    assert aligned.same_grid(ct)
    np.testing.assert_allclose(ct.index_to_world([3, 5, 7]), aligned.index_to_world([3, 5, 7]))
    for organ in (1, 5):  # spleen, liver
        hu = ct.array[aligned.array == organ]
        assert hu.size > 1000
        assert 30 < np.median(hu) < 150
        soft = np.mean((hu > -30) & (hu < 200))
        wrong = ct.array[organs.array == organ]  # raw array order ignores the flip
        wrong_soft = np.mean((wrong > -30) & (wrong < 200))
        assert soft > 0.95 and wrong_soft < soft - 0.1, (soft, wrong_soft)


def test_dicom_to_nifti_keeps_geometry(tmp_path):
    ct = read_volume(require_real("ct_abdomen_dicom_clean"))
    back = read_volume(write_volume(ct, tmp_path / "ct.nii.gz"))
    np.testing.assert_array_equal(back.array, ct.array)
    np.testing.assert_allclose(back.spacing, ct.spacing, atol=1e-6)
    np.testing.assert_allclose(back.origin, ct.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, ct.direction, atol=1e-6)


def test_folder_with_two_series_reads_the_longest_and_warns(tmp_path, caplog):
    """A second, shorter series in the folder is listed in a warning, not read."""
    import pydicom

    src = require_real("ct_abdomen_dicom_clean")
    files = sorted(src.iterdir())
    for f in files:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    series_uid = pydicom.uid.generate_uid(entropy_srcs=["tumorseg-test-series"])
    for n, f in enumerate(files[:5]):
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[f"tumorseg-test-{n}"])
        ds.SeriesDescription = "localizer copy"
        ds.save_as(tmp_path / f"second_{n}.dcm")
    with caplog.at_level("WARNING"):
        vol = read_volume(tmp_path)
    assert vol.shape == (512, 512, 20)
    assert "2 DICOM series found" in caplog.text and "(5 files)" in caplog.text

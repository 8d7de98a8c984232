"""Export against the real CT series; the CLI: flipped NIfTI masks, one-line refusals,
nothing half-written; the over-anonymised raw series is refused."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from tests.conftest import require_real
from tests.export.conftest import lesion_mask
from tests.export.readers import dciodvfy_errors, dice, rtutils_masks, seg_labels
from tumorseg.cli.main import main
from tumorseg.errors import InputError
from tumorseg.export import load_reference
from tumorseg.io import reorient, write_volume


def _real_mask(shape):
    """Three small lesions in the real 512×512×20 CT (one with a hole)."""
    i, j, k = np.mgrid[:shape[0], :shape[1], :shape[2]]
    mask = np.zeros(shape, dtype=np.uint8)
    r2 = (i - 300) ** 2 + (j - 250) ** 2 + ((k - 10) * 2.0) ** 2
    mask[r2 < 15**2] = 1
    mask[r2 < 5**2] = 0
    mask[((i - 180) ** 2 + (j - 300) ** 2 + ((k - 5) * 2.0) ** 2) < 8**2] = 1
    mask[350:356, 200:204, 14:16] = 1
    return mask


def test_real_series_seg_and_rtstruct(tmp_path):
    series = require_real("ct_abdomen_dicom_clean")
    ref = load_reference(series)
    mask = _real_mask(ref.volume.shape)
    path = tmp_path / "mask.nii.gz"
    write_volume(ref.volume.with_array(mask, modality="SEG"), path)
    assert main(["export", str(path), "--reference", str(series), "--format", "seg",
                 "-o", str(tmp_path / "seg.dcm")]) == 0
    assert main(["export", str(path), "--reference", str(series), "--format", "rtstruct",
                 "-o", str(tmp_path / "rt.dcm")]) == 0
    labels = seg_labels(tmp_path / "seg.dcm", ref)
    assert np.array_equal(labels > 0, mask > 0) and labels.max() == 3
    masks = rtutils_masks(tmp_path / "rt.dcm", series)
    assert sorted(masks) == ["Lesion 1", "Lesion 2", "Lesion 3"]
    union = np.zeros(mask.shape, dtype=bool)
    for m in masks.values():
        union |= m
    assert dice(union, mask > 0) >= 0.98
    assert dciodvfy_errors(tmp_path / "seg.dcm") == []
    assert dciodvfy_errors(tmp_path / "rt.dcm") == []
    rt = pydicom.dcmread(tmp_path / "rt.dcm")
    assert rt.ReferringPhysicianName == "" and "AccessionNumber" in rt  # Type 2, kept empty


def test_raw_over_anonymised_series_refused(tmp_path, capsys):
    raw = require_real("ct_abdomen_dicom")
    with pytest.raises(InputError, match="SOPClassUID, SOPInstanceUID, StudyInstanceUID, "
                                         "SeriesInstanceUID empty in 20 of 20 files"):
        load_reference(raw)
    mask = tmp_path / "m.nii.gz"
    clean = load_reference(require_real("ct_abdomen_dicom_clean"))
    write_volume(clean.volume.with_array(_real_mask(clean.volume.shape)), mask)
    out = tmp_path / "seg.dcm"
    assert main(["export", str(mask), "--reference", str(raw), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "over-anonymised" in err
    assert list(tmp_path.iterdir()) == [mask]


def test_flipped_nifti_mask_is_aligned(ct_series, tmp_path):
    ref = load_reference(ct_series)
    mask = lesion_mask(ref.volume.shape)
    flipped = reorient(ref.volume.with_array(mask), np.diag([1.0, -1.0, -1.0]))
    assert not np.array_equal(flipped.array, mask)
    path = write_volume(flipped, tmp_path / "flipped.nii.gz")
    out = tmp_path / "seg.dcm"
    assert main(["export", str(path), "-r", str(ct_series), "-o", str(out),
                 "--segments", "tumor"]) == 0
    np.testing.assert_array_equal(seg_labels(out, ref), mask)


@pytest.mark.parametrize("problem", ["grid", "empty"])
def test_bad_masks_one_line_nothing_written(ct_series, tmp_path, capsys, problem):
    ref = load_reference(ct_series)
    if problem == "grid":
        vol = ref.volume.with_array(lesion_mask(ref.volume.shape))
        from dataclasses import replace
        vol = replace(vol, spacing=(1.0, 0.8, 2.5))
        expected = "grid differs"
    else:
        vol = ref.volume.with_array(np.zeros(ref.volume.shape, dtype=np.uint8))
        expected = "the mask is empty"
    path = write_volume(vol, tmp_path / "mask.nrrd")
    for fmt in ("seg", "rtstruct"):
        out = tmp_path / f"{fmt}.dcm"
        assert main(["export", str(path), "-r", str(ct_series), "-f", fmt, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and expected in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.nrrd"]

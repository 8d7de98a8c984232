"""A CT volume written as a DICOM series: read back identically by SimpleITK/GDCM and pydicom,
valid for dciodvfy, and usable as the reference of a DICOM SEG export."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from tests.conftest import oblique_direction
from tests.export.readers import dciodvfy_errors, seg_labels
from tumorseg.cli.main import main
from tumorseg.errors import InputError
from tumorseg.export import load_reference
from tumorseg.io import Volume, align_to_grid, read_volume, write_dicom_series, write_volume


def _ct(direction: np.ndarray | None = None) -> Volume:
    rng = np.random.default_rng(3)
    hu = rng.integers(-1024, 1500, size=(12, 9, 7)).astype(np.int16)
    return Volume(hu, spacing=(0.7, 0.9, 2.5), origin=(-40.0, 12.5, 300.0),
                  direction=np.eye(3) if direction is None else direction, modality="CT",
                  source="scan.nii.gz")


@pytest.mark.parametrize("direction", [None, oblique_direction(4)])
def test_round_trip_keeps_voxels_and_geometry(tmp_path, direction):
    ct = _ct(direction)
    paths = write_dicom_series(ct, tmp_path / "series")
    assert [p.name for p in paths] == [f"slice_{k:04d}.dcm" for k in range(7)]
    back = read_volume(tmp_path / "series")
    assert back.modality == "CT"
    # same voxels at the same LPS positions (a left-handed direction comes back with k
    # reversed: align_to_grid undoes exactly such flips and nothing else)
    same = align_to_grid(back, ct)
    np.testing.assert_array_equal(same.array, ct.array)
    np.testing.assert_allclose(back.spacing, ct.spacing, atol=1e-6)
    first = pydicom.dcmread(paths[0])
    np.testing.assert_allclose([float(v) for v in first.ImagePositionPatient],
                               ct.index_to_world([0, 0, 0]), atol=1e-4)
    np.testing.assert_array_equal(first.pixel_array.T, ct.array[:, :, 0])
    assert first.ImageType[:2] == ["DERIVED", "SECONDARY"]
    assert len({pydicom.dcmread(p).SOPInstanceUID for p in paths}) == 7


def test_dciodvfy_finds_no_error(tmp_path):
    paths = write_dicom_series(_ct(), tmp_path / "series")
    assert dciodvfy_errors(paths[3]) == []


def test_refusals_leave_nothing(tmp_path):
    mr = _ct().with_array(_ct().array, modality="MR")
    with pytest.raises(InputError, match=r"scan\.nii\.gz: DICOM output is written for CT only"):
        write_dicom_series(mr, tmp_path / "mr")
    big = _ct().with_array(_ct().array.astype(np.float32) * 100)
    with pytest.raises(InputError, match="do not fit 16-bit"):
        write_dicom_series(big, tmp_path / "big")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.dcm").write_bytes(b"x")
    with pytest.raises(InputError, match="new or empty folder"):
        write_dicom_series(_ct(), tmp_path / "full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_convert_then_export_a_seg_on_it(tmp_path):
    """The README path: a NIfTI CT → DICOM series → DICOM SEG referencing it."""
    ct = _ct()
    mask = np.zeros(ct.shape, np.uint8)
    mask[3:7, 2:6, 2:5] = 1
    src = write_volume(ct, tmp_path / "ct.nii.gz")
    label = write_volume(ct.with_array(mask, modality="SEG"), tmp_path / "mask.nii.gz")
    assert main(["convert", str(src), "-o", str(tmp_path / "ct_dicom")]) == 0
    assert main(["export", str(label), "--reference", str(tmp_path / "ct_dicom"), "-o",
                 str(tmp_path / "seg.dcm")]) == 0
    reference = load_reference(tmp_path / "ct_dicom")
    np.testing.assert_array_equal(seg_labels(tmp_path / "seg.dcm", reference) > 0, mask > 0)
    assert main(["convert", str(src), "-o", str(tmp_path / "ct.txt")]) == 2


def test_4d_ct_phases_share_a_study_and_frame_of_reference(tmp_path, capsys):
    """``convert --phases``: one series per phase, read back by itv's phase loader in
    breathing order even when the folders are listed in another order."""
    from tumorseg.fourd.phases import load_phases

    base = _ct()
    phases = [base.with_array(base.array + 10 * p, source=f"phase_{p:02d}.nii.gz")
              for p in range(3)]
    files = [str(write_volume(v, tmp_path / f"phase_{p:02d}.nii.gz"))
             for p, v in enumerate(phases)]
    out = tmp_path / "4dct"
    assert main(["convert", *files, "--phases", "-o", str(out)]) == 0
    folders = sorted(out.iterdir())
    assert [f.name for f in folders] == ["phase_00", "phase_01", "phase_02"]
    heads = [pydicom.dcmread(next(f.iterdir()), stop_before_pixels=True) for f in folders]
    assert len({h.StudyInstanceUID for h in heads}) == 1
    assert len({h.FrameOfReferenceUID for h in heads}) == 1
    assert len({h.SeriesInstanceUID for h in heads}) == 3
    assert [h.SeriesDescription for h in heads] == [
        "4DCT phase 00 0%", "4DCT phase 01 33.3333%", "4DCT phase 02 66.6667%"]
    assert dciodvfy_errors(next(folders[1].iterdir())) == []
    loaded = load_phases([str(out)])
    assert loaded.order_from == "dicom-percent"
    for p, v in enumerate(loaded.volumes):
        np.testing.assert_array_equal(align_to_grid(v, base).array, phases[p].array)
    # refusals: one phase only, phases on different grids, an output named like a file
    other = write_volume(Volume(np.zeros((5, 5, 5), np.int16), (1.0, 1.0, 1.0),
                                modality="CT"), tmp_path / "small.nii.gz")
    for argv, expected in ((files[:1], "at least two phases"),
                           ([files[0], str(other)], "small.nii.gz: grid differs")):
        capsys.readouterr()
        assert main(["convert", *argv, "--phases", "-o", str(tmp_path / "bad")]) == 2
        assert expected in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()


def test_convert_checks_modality_self_overwrite_and_guesses_ct(tmp_path, capsys):
    ct = _ct()
    unknown = write_volume(ct.with_array(ct.array, modality="unknown"), tmp_path / "u.nii.gz")
    before = unknown.read_bytes()
    for argv, expected in (
        (["convert", str(unknown), "-o", str(unknown)], "would overwrite the input"),
        (["convert", str(unknown), "-o", str(tmp_path / "x.nrrd"), "--modality", "XX"],
         "--modality XX: use one of CT, MR, PT"),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        assert expected in capsys.readouterr().err
    assert unknown.read_bytes() == before and not (tmp_path / "x.nrrd").exists()
    # a NIfTI without a recorded modality but with air at -1000: written as CT, with a note
    assert main(["convert", str(unknown), "-o", str(tmp_path / "series")]) == 0
    assert "treated as CT" in capsys.readouterr().err
    assert read_volume(tmp_path / "series").modality == "CT"

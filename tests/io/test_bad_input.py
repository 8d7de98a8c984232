"""Bad input: one clear error naming the file and the problem, nothing half-written."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume, atomic_path, check_same_grid, read_volume, write_volume


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match=r"nope\.nii\.gz: no such file"):
        read_volume(tmp_path / "nope.nii.gz")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "corrupt.nii.gz"
    bad.write_bytes(b"\x1f\x8b this is not a gzip stream" * 10)
    with pytest.raises(InputError, match=r"corrupt\.nii\.gz: cannot read image"):
        read_volume(bad)


def test_truncated_file(tmp_path, oblique_volume):
    path = write_volume(oblique_volume, tmp_path / "t.nrrd", compress=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"t\.nrrd: cannot read image"):
        read_volume(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.txt: unsupported file type"):
        read_volume(path)


def test_not_3d(tmp_path):
    path = tmp_path / "slice.nii.gz"
    sitk.WriteImage(sitk.Image(8, 8, sitk.sitkInt16), str(path))
    with pytest.raises(InputError, match=r"slice\.nii\.gz: not a 3D image \(2D"):
        read_volume(path)


@pytest.mark.parametrize("bad_value, word", [(np.nan, "NaN"), (np.inf, "infinite")])
def test_nan_inf(tmp_path, oblique_volume, bad_value, word):
    arr = oblique_volume.array.copy()
    arr[1, 2, 3] = bad_value
    path = write_volume(oblique_volume.with_array(arr), tmp_path / "n.nii.gz")
    with pytest.raises(InputError, match=rf"n\.nii\.gz: contains .*{word}"):
        read_volume(path)


def test_empty_dicom_folder(tmp_path):
    folder = tmp_path / "empty_series"
    folder.mkdir()
    (folder / "readme.txt").write_text("no dicom here")
    with pytest.raises(InputError, match=r"empty_series: no DICOM series found"):
        read_volume(folder)


@pytest.mark.parametrize(
    "change, word",
    [
        ({"array": np.zeros((13, 11, 8), np.float32)}, "size"),
        ({"spacing": (0.73, 1.21, 3.0)}, "spacing"),
        ({"origin": (-120.5, 33.25, -401.0)}, "origin"),
        ({"direction": np.eye(3)}, "direction"),
    ],
)
def test_grid_mismatch_names_the_difference(tmp_path, oblique_volume, change, word):
    from dataclasses import replace

    other = replace(oblique_volume, source=str(tmp_path / "label.nii.gz"), **change)
    with pytest.raises(GeometryMismatchError, match=rf"label\.nii\.gz: grid differs .*{word}"):
        check_same_grid(oblique_volume, other)
    assert not oblique_volume.same_grid(other)


def test_same_grid_passes(oblique_volume):
    check_same_grid(oblique_volume, oblique_volume.with_array(oblique_volume.array > 0))


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.nii.gz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash half-way")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_survives_failed_write(tmp_path, oblique_volume):
    target = write_volume(oblique_volume, tmp_path / "keep.nii.gz")
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash half-way")
    assert target.read_bytes() == before


def test_volume_rejects_bad_arrays():
    with pytest.raises(ValueError, match="3D or 4D"):
        Volume(np.zeros((4, 4)), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="spacing must be positive"):
        Volume(np.zeros((4, 4, 4)), spacing=(1, 0, 1))


def test_folder_names_that_look_like_files_are_refused(tmp_path):
    from tumorseg.errors import InputError
    from tumorseg.io.atomic import require_folder_name

    for name in ("liver.v2", "run.final", "results", "abdomen.2026"):
        assert require_folder_name(tmp_path / name, "-o", "") == tmp_path / name
    with pytest.raises(InputError, match=r"metrics\.csv: -o takes a folder here"):
        require_folder_name(tmp_path / "metrics.csv", "-o", "")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="file: exists and is not a folder"):
        require_folder_name(tmp_path / "file", "-o", "")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_a_truncated_nifti_is_refused_not_read_as_zeros(tmp_path, suffix):
    """ITK reads a cut-short NIfTI without an error and fills the rest with zeros."""
    from tumorseg.io import Volume, read_volume, write_volume

    arr = np.random.default_rng(0).integers(-1000, 1000, (40, 30, 20)).astype(np.int16)
    full = write_volume(Volume(arr, (1.0, 1.0, 2.0), modality="CT"), tmp_path / f"ct{suffix}")
    np.testing.assert_array_equal(read_volume(full).array, arr)  # a whole file reads
    data = full.read_bytes()
    for keep in (len(data) // 2, len(data) - 8):
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(data[:keep])
        with pytest.raises(InputError, match=r"cut\.nii(\.gz)?: truncated"):
            read_volume(cut)


def test_an_empty_folder_is_one_line_without_gdcm_noise(tmp_path, capfd):
    from tumorseg.cli.main import main

    (tmp_path / "empty").mkdir()
    assert main(["info", str(tmp_path / "empty")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'empty'}: no DICOM series found in this folder"], err


def test_atomic_outputs_get_normal_permissions(tmp_path):
    """Staging folders (mkdtemp: 0700) and files (mkstemp: 0600) end with the umask's
    permissions, so another user or a PACS import service can read what was written."""
    import os

    from tumorseg.io.atomic import atomic_folder, atomic_write_text

    old = os.umask(0o022)
    try:
        with atomic_folder(tmp_path / "series") as tmp:
            (tmp / "a.dcm").write_bytes(b"x")
        written = atomic_write_text(tmp_path / "t.csv", "a\n")
    finally:
        os.umask(old)
    assert (tmp_path / "series").stat().st_mode & 0o777 == 0o755
    assert written.stat().st_mode & 0o777 == 0o644

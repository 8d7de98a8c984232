"""Round trips keep data, spacing, origin and direction exactly, in every format."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from tumorseg.io import Volume, read_channels, read_volume, write_volume

FORMATS = [".nii.gz", ".nii", ".nrrd", ".mha"]


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint8])
def test_roundtrip_keeps_data_and_geometry(tmp_path, oblique_volume, suffix, dtype):
    vol = oblique_volume.with_array(oblique_volume.array.astype(dtype))
    path = write_volume(vol, tmp_path / f"v{suffix}")
    back = read_volume(path)
    assert back.shape == vol.shape
    assert back.array.dtype == vol.array.dtype
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_allclose(back.spacing, vol.spacing, atol=1e-5)
    np.testing.assert_allclose(back.origin, vol.origin, atol=1e-4)
    np.testing.assert_allclose(back.direction, vol.direction, atol=1e-5)
    assert back.source == str(path)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_modality_kept_in_headers(tmp_path, oblique_volume, suffix):
    back = read_volume(write_volume(oblique_volume, tmp_path / f"v{suffix}"))
    assert back.modality == "CT"


def test_axis_order_matches_itk_index(tmp_path):
    """array[i, j, k] is the voxel SimpleITK calls index (i, j, k)."""
    arr = np.zeros((5, 6, 7), dtype=np.int16)
    arr[4, 1, 2] = 7
    path = write_volume(Volume(arr, spacing=(1.0, 2.0, 3.0)), tmp_path / "a.nii.gz")
    image = sitk.ReadImage(str(path))
    assert image.GetSize() == (5, 6, 7)
    assert image.GetPixel(4, 1, 2) == 7
    assert image.GetSpacing() == (1.0, 2.0, 3.0)


def test_index_world_mapping_matches_sitk(oblique_volume):
    image = oblique_volume.to_sitk()
    for ijk in [(0, 0, 0), (12, 3, 6), (5, 10, 1)]:
        expected = image.TransformIndexToPhysicalPoint(ijk)
        np.testing.assert_allclose(oblique_volume.index_to_world(ijk), expected, atol=1e-9)
        np.testing.assert_allclose(oblique_volume.world_to_index(expected), ijk, atol=1e-9)


def test_four_d_file_becomes_channels(tmp_path, oblique_volume):
    stack = np.stack([oblique_volume.array, oblique_volume.array * 2, oblique_volume.array + 1])
    multi = oblique_volume.with_array(stack)
    path = write_volume(multi, tmp_path / "multi.nii.gz")
    back = read_volume(path)
    assert back.n_channels == 3 and back.shape == oblique_volume.shape
    np.testing.assert_allclose(back.array, stack, rtol=1e-6)
    np.testing.assert_allclose(back.direction, oblique_volume.direction, atol=1e-5)
    np.testing.assert_allclose(back.origin, oblique_volume.origin, atol=1e-4)


def test_several_files_become_channels(tmp_path, oblique_volume):
    a = write_volume(oblique_volume, tmp_path / "case_0000.nii.gz")
    negated = oblique_volume.with_array(oblique_volume.array * -1)
    b = write_volume(negated, tmp_path / "case_0001.nii.gz")
    multi = read_channels([a, b])
    assert multi.n_channels == 2
    assert multi.channel_names == ("case_0000", "case_0001")
    np.testing.assert_array_equal(multi.array[1], -oblique_volume.array)
    np.testing.assert_array_equal(multi.channel(0).array, oblique_volume.array)


def test_write_leaves_no_temporary_files(tmp_path, oblique_volume):
    write_volume(oblique_volume, tmp_path / "out" / "x.nii.gz")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.nii.gz"]


def test_nifti_keeps_the_modality_in_descrip(tmp_path, oblique_volume):
    """NIfTI has no modality field: tumorseg writes ``tumorseg_modality=PT`` into ``descrip``
    and reads only that form back (another description says nothing)."""
    pet = oblique_volume.with_array(oblique_volume.array, modality="PT")
    path = write_volume(pet, tmp_path / "pet.nii.gz")
    assert read_volume(path).modality == "PT"
    assert sitk.ReadImage(str(path)).GetMetaData("descrip") == "tumorseg_modality=PT"
    foreign = sitk.ReadImage(str(path))
    foreign.SetMetaData("ITK_FileNotes", "FSL5.0 CT-like")
    sitk.WriteImage(foreign, str(tmp_path / "other.nii.gz"))
    assert read_volume(tmp_path / "other.nii.gz").modality == "unknown"

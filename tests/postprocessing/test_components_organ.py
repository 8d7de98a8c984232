"""Component removal by mm³ (not voxels), largest-k, and organ restriction."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume
from tumorseg.postprocessing import (
    PostprocessConfig,
    keep_largest_components,
    postprocess,
    remove_small_components,
    restrict_to_organ,
)


def _two_blobs() -> np.ndarray:
    lab = np.zeros((20, 20, 10), np.uint8)
    lab[2:4, 2:4, 2:4] = 1  # 8 voxels
    lab[10:15, 10:15, 4:8] = 1  # 100 voxels
    return lab


def test_threshold_is_in_mm3_not_voxels():
    lab = _two_blobs()
    # 8 voxels: 8 mm³ at 1 mm isotropic (removed at 10 mm³), 24 mm³ at 1×1×3 mm (kept)
    iso = remove_small_components(lab, (1.0, 1.0, 1.0), 10.0)
    aniso = remove_small_components(lab, (1.0, 1.0, 3.0), 10.0)
    assert iso.sum() == 100 and aniso.sum() == 108
    # a voxel-count rule would treat both the same; ours scales with the voxel volume
    assert remove_small_components(lab, (0.5, 0.5, 3.0), 10.0).sum() == 100  # 6 mm³
    assert remove_small_components(lab, (1, 1, 1), 0).sum() == 108
    assert lab.sum() == 108  # input untouched


def test_components_are_per_label():
    lab = np.zeros((10, 10, 10), np.uint8)
    lab[2:6, 2:6, 2:6] = 1
    lab[6, 2:4, 2:4] = 2  # touches label 1 but is its own 4-voxel component
    out = remove_small_components(lab, (1, 1, 1), 5.0)
    assert (out == 2).sum() == 0 and (out == 1).sum() == 64


def test_connectivity_matters():
    lab = np.zeros((6, 6, 6), np.uint8)
    lab[1, 1, 1] = lab[2, 2, 2] = 1  # corner neighbours
    assert remove_small_components(lab, (1, 1, 1), 2.0, connectivity=26).sum() == 2
    assert remove_small_components(lab, (1, 1, 1), 2.0, connectivity=6).sum() == 0


def test_keep_largest():
    lab = _two_blobs()
    lab[16:18, 16:18, 1:2] = 1
    out = keep_largest_components(lab, 1)
    assert out.sum() == 100
    assert keep_largest_components(lab, 2).sum() == 108


def test_organ_drop_keeps_whole_lesions_touching_the_organ():
    lab = _two_blobs()
    organ = np.zeros_like(lab)
    organ[12:20, 12:20, :] = 5  # overlaps the big blob partly, not the small one
    out = restrict_to_organ(lab, organ)
    assert out.sum() == 100  # big blob kept whole (it bulges out), small dropped
    masked = restrict_to_organ(lab, organ, mode="mask")
    assert masked.sum() == 3 * 3 * 4
    assert restrict_to_organ(lab, organ, organ_labels=[1, 2]).sum() == 0  # 5 not an organ
    assert restrict_to_organ(lab, organ, min_overlap=0.5).sum() == 0  # 36 % inside


def test_organ_holes_are_filled():
    lab = np.zeros((12, 12, 12), np.uint8)
    lab[5:7, 5:7, 5:7] = 1
    organ = np.zeros_like(lab)
    organ[2:10, 2:10, 2:10] = 1
    organ[4:8, 4:8, 4:8] = 0  # the tumor is a hole in the organ segmentation
    assert restrict_to_organ(lab, organ).sum() == 8
    assert restrict_to_organ(lab, organ, fill_holes=False).sum() == 0


def test_postprocess_pipeline_and_grid_check():
    vol = Volume(_two_blobs(), spacing=(1.0, 1.0, 1.0), origin=(1, 2, 3))
    out = postprocess(vol, PostprocessConfig(min_volume_mm3=10))
    assert out.array.sum() == 100 and out.same_grid(vol) and out.array.dtype == np.uint8
    organ = vol.with_array(np.zeros_like(vol.array), source="organs.nii.gz")
    assert postprocess(vol, PostprocessConfig(), organ).array.sum() == 0
    shifted = Volume(organ.array, spacing=(1.0, 1.0, 1.0), source="organs.nii.gz")
    with pytest.raises(GeometryMismatchError, match=r"organs\.nii\.gz"):
        postprocess(vol, PostprocessConfig(), shifted)
    with pytest.raises(InputError, match="min-volume"):
        PostprocessConfig(min_volume_mm3=-1)

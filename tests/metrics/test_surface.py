"""Surface metrics against MONAI (exact definitions), DeepMind (surfels) and hand-computed cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import surface_distance as deepmind
from monai.metrics import (
    compute_average_surface_distance,
    compute_hausdorff_distance,
    compute_surface_dice,
)
from monai.metrics.utils import get_mask_edges
from scipy import ndimage as ndi

from tests.metrics.shapes import SPACING, blob_pair, ellipsoid_pair, onehot
from tumorseg.metrics import (
    average_symmetric_surface_distance,
    border_voxels,
    hausdorff_distance,
    normalized_surface_dice,
    surface_distances,
    surface_metrics,
)

PAIRS = [(make, seed) for make in (blob_pair, ellipsoid_pair) for seed in range(4)]
DIAGONAL_MM = math.sqrt(sum(s * s for s in SPACING))


def _monai(pred, ref, tol):
    p, r = onehot(pred), onehot(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            compute_hausdorff_distance(p, r, percentile=95, spacing=SPACING).item(),
            compute_average_surface_distance(p, r, symmetric=True, spacing=SPACING).item(),
            compute_surface_dice(p, r, [tol], spacing=SPACING).item(),
        )


@pytest.mark.parametrize(("make", "seed"), PAIRS)
def test_border_voxels_equal_monai_mask_edges(make, seed):
    pred, ref = make(seed)
    edges_pred, edges_ref = get_mask_edges(pred, ref, crop=False)
    assert np.array_equal(border_voxels(pred), edges_pred)
    assert np.array_equal(border_voxels(ref), edges_ref)
    assert np.array_equal(border_voxels(ref), ref ^ ndi.binary_erosion(ref))


def test_border_is_the_cross_erosion_not_the_cube_erosion():
    ref = blob_pair(0)[1]
    cube = ref ^ ndi.binary_erosion(ref, structure=np.ones((3, 3, 3), bool))
    assert np.count_nonzero(cube) > np.count_nonzero(border_voxels(ref))


@pytest.mark.parametrize(("make", "seed"), PAIRS)
@pytest.mark.parametrize("tol", [1.0, 2.0, 3.3])
def test_hd95_assd_nsd_equal_monai(make, seed, tol):
    pred, ref = make(seed)
    hd95, assd, nsd = _monai(pred, ref, tol)
    m = surface_metrics(pred, ref, SPACING, tolerance_mm=tol)
    assert m.hd95_mm == pytest.approx(hd95, abs=1e-4)
    assert m.assd_mm == pytest.approx(assd, abs=1e-4)
    assert m.nsd == pytest.approx(nsd, abs=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("make", "seed"), PAIRS)
def test_hd95_within_one_voxel_diagonal_of_deepmind(make, seed):
    # DeepMind puts area-weighted surfels on voxel corners, not border voxel centres, so its
    # HD95 differs from MONAI's definition by up to about one voxel diagonal.
    pred, ref = make(seed)
    sd = deepmind.compute_surface_distances(ref, pred, SPACING)
    theirs = deepmind.compute_robust_hausdorff(sd, 95)
    assert hausdorff_distance(pred, ref, SPACING) == pytest.approx(theirs, abs=DIAGONAL_MM)


@pytest.mark.parametrize(("make", "seed"), PAIRS[:3])
def test_kdtree_and_distance_transform_give_the_same_distances(make, seed):
    pred, ref = make(seed)
    a = surface_distances(pred, ref, SPACING, method="kdtree")
    b = surface_distances(pred, ref, SPACING, method="edt")
    np.testing.assert_allclose(a.pred_to_ref, b.pred_to_ref, atol=1e-9)
    np.testing.assert_allclose(a.ref_to_pred, b.ref_to_pred, atol=1e-9)


def test_crop_and_padding_do_not_change_results():
    pred, ref = blob_pair(5)  # touches the array faces
    padded = [np.pad(m, ((3, 7), (0, 5), (11, 2))) for m in (pred, ref)]
    a = surface_metrics(pred, ref, SPACING)
    b = surface_metrics(*padded, SPACING)
    assert (a.hd95_mm, a.assd_mm, a.nsd) == pytest.approx((b.hd95_mm, b.assd_mm, b.nsd),
                                                          abs=1e-12)
    assert (a.hd95_mm, a.assd_mm, a.nsd) == pytest.approx(_monai(pred, ref, 2.0), abs=1e-4)


def test_two_slabs_offset_by_one_slice():
    # Both masks are 2 slices thick, so every voxel is a border voxel. Half of each border
    # lies on the other one (distance 0), the other half one slice (2.5 mm) away.
    ref = np.zeros((12, 12, 8), bool)
    ref[4:8, 4:8, 2:4] = True
    pred = np.roll(ref, 1, axis=2)
    d = surface_distances(pred, ref, SPACING)
    assert sorted(d.pred_to_ref) == pytest.approx([0.0] * 16 + [2.5] * 16)
    assert hausdorff_distance(pred, ref, SPACING) == pytest.approx(2.5)
    assert average_symmetric_surface_distance(pred, ref, SPACING) == pytest.approx(1.25)
    assert normalized_surface_dice(pred, ref, SPACING, tolerance_mm=2.0) == pytest.approx(0.5)
    assert normalized_surface_dice(pred, ref, SPACING, tolerance_mm=2.5) == pytest.approx(1.0)


def test_cubes_offset_by_two_voxels_have_hausdorff_two_voxels():
    ref = np.zeros((30, 30, 20), bool)
    ref[10:20, 10:20, 5:10] = True
    pred = np.roll(ref, 2, axis=0)
    assert hausdorff_distance(pred, ref, SPACING, percentile=None) == pytest.approx(1.6)
    assert hausdorff_distance(pred, ref, SPACING, percentile=100) == pytest.approx(1.6)


def test_both_empty_is_perfect():
    z = np.zeros((6, 6, 6), bool)
    m = surface_metrics(z, z, SPACING)
    assert (m.hd95_mm, m.assd_mm, m.nsd) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("empty_side", ["pred", "ref"])
def test_one_empty_is_infinitely_far(empty_side):
    z = np.zeros((6, 6, 6), bool)
    m = z.copy()
    m[2:4, 2:4, 2:4] = True
    pred, ref = (z, m) if empty_side == "pred" else (m, z)
    s = surface_metrics(pred, ref, SPACING)
    assert (s.hd95_mm, s.assd_mm, s.nsd) == (math.inf, math.inf, 0.0)


def test_percentile_is_checked():
    pred, ref = blob_pair(0)
    with pytest.raises(ValueError, match="percentile"):
        hausdorff_distance(pred, ref, SPACING, percentile=120)

"""The click robot: analytic shapes, anisotropic spacing, error-region choice and sign, and a
brute-force reference implementation on a small random case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tumorseg.interactive.robot import deepest_point, first_click, next_click


def _sphere(shape, centre, radius_mm, spacing=(1.0, 1.0, 1.0)):
    grid = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                                indexing="ij"), -1)
    return ((grid - np.asarray(centre) * np.asarray(spacing)) ** 2).sum(-1) <= radius_mm ** 2


def _brute_depth(mask: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) of every mask voxel to the nearest voxel outside it, the array's outside
    included (a one-voxel frame around it), by checking every pair."""
    padded = np.pad(mask, 1)
    inside = np.argwhere(padded)
    outside = np.argwhere(~padded)
    sp = np.asarray(spacing, dtype=float)
    depth = np.zeros(mask.shape)
    for p in inside:
        d = np.sqrt((((outside - p) * sp) ** 2).sum(axis=1)).min()
        depth[tuple(p - 1)] = d
    return depth


def test_sphere_first_click_is_its_centre():
    target = _sphere((31, 29, 27), (14, 16, 11), 9.0)
    click = first_click(target, (1.0, 1.0, 1.0))
    assert click.index == (14, 16, 11)
    assert click.positive and click.lesion == 1


def test_sphere_on_anisotropic_grid_centre():
    spacing = (0.8, 0.8, 3.0)
    target = _sphere((41, 41, 15), (20, 18, 7), 12.0, spacing)
    assert first_click(target, spacing).index == (20, 18, 7)


def test_even_sized_box_tie_break_is_deterministic_and_central():
    target = np.zeros((12, 12, 12), bool)
    target[2:8, 2:8, 2:8] = True  # 6 voxels: the centre lies between voxels 4 and 5
    a = first_click(target, (1, 1, 1)).index
    assert a == first_click(target.copy(), (1, 1, 1)).index
    assert all(v in (4, 5) for v in a)


def test_anisotropic_spacing_moves_the_first_click():
    # A: 9 x 9 x 3 voxels (flat), B: 5 x 5 x 5 voxels (cube), far apart.
    target = np.zeros((30, 14, 14), bool)
    target[1:10, 2:11, 5:8] = True
    target[20:25, 4:9, 4:9] = True
    # isotropic voxels: B is deeper (3 voxels vs 2)
    assert first_click(target, (1.0, 1.0, 1.0)).index == (22, 6, 6)
    # 4 mm slices: A is 5 mm deep in-plane, B only 3 mm
    assert first_click(target, (1.0, 1.0, 4.0)).index == (5, 6, 6)


def test_volume_border_counts_as_boundary():
    target = np.zeros((20, 9, 9), bool)
    target[:12] = True  # touches the i = 0 face and fills j, k
    i, j, k = first_click(target, (1, 1, 1)).index
    assert (j, k) == (4, 4)
    assert 3 <= i <= 7  # not at the volume border


def test_next_click_none_when_perfect():
    target = _sphere((15, 15, 15), (7, 7, 7), 4.0)
    assert next_click(target.copy(), target, (1, 1, 1)) is None


def test_next_click_positive_in_a_miss():
    target = np.zeros((20, 20, 20), bool)
    target[2:18, 5:15, 5:15] = True
    pred = target.copy()
    pred[10:18] = False  # the upper half missed
    click = next_click(pred, target, (1, 1, 1))
    assert click is not None and click.positive
    assert target[click.index] and not pred[click.index]


def test_next_click_negative_in_a_false_positive():
    target = np.zeros((24, 20, 20), bool)
    target[2:10, 5:15, 5:15] = True
    pred = target.copy()
    pred[14:22, 6:14, 6:14] = True  # a separate false-positive blob
    click = next_click(pred, target, (1, 1, 1), lesion=3)
    assert click is not None and not click.positive and click.lesion == 3
    assert pred[click.index] and not target[click.index]
    i, j, k = click.index
    assert 17 <= i <= 18 and 9 <= j <= 10 and 9 <= k <= 10


def test_next_click_chooses_the_largest_region_in_mm3():
    target = np.zeros((30, 20, 20), bool)
    target[2:12, 2:12, 2:12] = True
    pred = target.copy()
    pred[2:5, 2:12, 2:12] = False  # miss: 3 x 10 x 10 = 300 voxels
    pred[20:27, 2:9, 2:9] = True  # false positive: 7 x 7 x 7 = 343 voxels
    click = next_click(pred, target, (1, 1, 1))
    assert not click.positive
    pred[20:27, 2:9, 2:9] = False
    pred[20:25, 2:7, 2:7] = True  # false positive: 125 voxels < 300 missed
    assert next_click(pred, target, (1, 1, 1)).positive


def _brute_next(pred, target, spacing):
    """Reference next click: scipy labelling, brute-force depth."""
    best = None
    for errors, positive in ((target & ~pred, True), (pred & ~target, False)):
        labels, n = ndimage.label(errors, structure=np.ones((3, 3, 3)))
        for lab in range(1, n + 1):
            size = int((labels == lab).sum())
            if best is None or size > best[0]:
                best = (size, positive, labels == lab)
    if best is None:
        return None
    depth = _brute_depth(best[2], spacing)
    return best[1], best[2], depth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_robot_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    spacing = (0.7, 1.3, 2.0)
    field = ndimage.gaussian_filter(rng.normal(size=(14, 12, 9)), 1.5)
    target = field > np.quantile(field, 0.6)
    depth = _brute_depth(target, spacing)
    click = first_click(target, spacing)
    assert target[click.index]
    assert depth[click.index] == pytest.approx(depth.max(), abs=1e-9)

    noise = ndimage.gaussian_filter(rng.normal(size=target.shape), 1.0)
    pred = noise > np.quantile(noise, 0.55)
    ref = _brute_next(pred, target, spacing)
    click = next_click(pred, target, spacing)
    positive, region, ref_depth = ref
    assert click.positive == positive
    assert region[click.index], "click must lie inside the largest error region"
    assert ref_depth[click.index] == pytest.approx(ref_depth.max(), abs=1e-9)


def test_deepest_point_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        deepest_point(np.zeros((4, 4, 4), bool), (1, 1, 1))


def test_ties_between_regions_of_equal_size_are_deterministic():
    target = np.zeros((20, 8, 8), bool)
    pred = np.zeros_like(target)
    for a in (2, 12):
        target[a:a + 4, 2:6, 2:6] = True  # two equal misses
    clicks = {next_click(pred, target, (1, 1, 1)).index for _ in range(3)}
    assert len(clicks) == 1
    assert next(iter(clicks))[0] < 8  # the first region in C order

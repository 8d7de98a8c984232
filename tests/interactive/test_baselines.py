"""Classical click segmenters (random walker, region growing) on tiny synthetic spheres."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.interactive.baselines import (
    RandomWalkerConfig,
    RandomWalkerSegmenter,
    RegionGrowingConfig,
    RegionGrowingSegmenter,
    click_roi,
    random_walker_segment,
    region_growing_segment,
)
from tumorseg.interactive.evaluation import ClickSegmenter, dice
from tumorseg.interactive.prompts import Click
from tumorseg.interactive.robot import first_click, next_click
from tumorseg.io import Volume

SPACING = (1.0, 1.0, 1.5)
SEGMENT = {"random-walker": random_walker_segment, "region-growing": region_growing_segment}


def _ball(shape, centre_mm, radius_mm, spacing=SPACING):
    grid = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                                indexing="ij"), -1)
    return ((grid - np.asarray(centre_mm)) ** 2).sum(-1) <= radius_mm ** 2


def _noisy(mask, seed=0, contrast=100.0, noise=15.0):
    rng = np.random.default_rng(seed)
    return (contrast * mask + rng.normal(0, noise, mask.shape) - 40).astype(np.float32)


@pytest.fixture(scope="module")
def sphere_case():
    target = _ball((26, 26, 16), (12, 13, 12), 6.0)
    return _noisy(target), target


@pytest.mark.parametrize("method", sorted(SEGMENT))
def test_one_click_on_a_bright_noisy_sphere(sphere_case, method):
    image, target = sphere_case
    mask = SEGMENT[method](image, SPACING, [first_click(target, SPACING)])
    assert mask.shape == image.shape and mask.dtype == bool
    assert dice(mask, target) >= 0.80


@pytest.mark.parametrize("method", sorted(SEGMENT))
def test_robot_clicks_keep_it_good_and_never_crash(sphere_case, method):
    image, target = sphere_case
    clicks = [first_click(target, SPACING)]
    scores = []
    for _ in range(4):
        mask = SEGMENT[method](image, SPACING, clicks)
        scores.append(dice(mask, target))
        nxt = next_click(mask, target, SPACING)
        if nxt is None:
            break
        clicks.append(nxt)
    assert max(scores) >= 0.85
    assert scores[-1] >= scores[0] - 0.05


def test_negative_click_removes_a_touching_blob_random_walker():
    shape = (36, 36, 24)
    sphere = _ball(shape, (14, 18, 18), 7.0)
    blob = _ball(shape, (25, 18, 18), 5.0)
    image = _noisy(sphere | blob)
    pos = first_click(sphere, SPACING)
    neg = Click((25, 18, 12), positive=False)
    before = random_walker_segment(image, SPACING, [pos])
    after = random_walker_segment(image, SPACING, [pos, neg])
    assert before[neg.index], "the blob is taken without the negative click"
    assert not after[neg.index]
    assert dice(after, sphere) > dice(before, sphere) + 0.05


def test_negative_click_region_growing_cuts_the_clicked_part():
    shape = (36, 36, 24)
    sphere = _ball(shape, (14, 18, 18), 7.0)
    blob = _ball(shape, (25, 18, 18), 5.0)
    image = _noisy(sphere | blob, noise=5.0)
    pos = first_click(sphere, SPACING)
    neg = Click((25, 18, 12), positive=False)
    before = region_growing_segment(image, SPACING, [pos])
    after = region_growing_segment(image, SPACING, [pos, neg])
    assert before[neg.index] and not after[neg.index]
    assert after[pos.index]
    assert (after & blob).sum() < 0.2 * (before & blob).sum()
    assert dice(after, sphere) > dice(before, sphere)


@pytest.mark.parametrize("method", sorted(SEGMENT))
def test_no_positive_click_gives_an_empty_mask(sphere_case, method):
    image, _ = sphere_case
    mask = SEGMENT[method](image, SPACING, [Click((3, 3, 3), positive=False)])
    assert not mask.any()


def test_region_growing_roi_grows_for_a_lesion_larger_than_the_margin():
    shape = (56, 56, 36)
    target = _ball(shape, (28, 28, 27), 18.0)  # radius 18 mm > 10 mm margin
    image = _noisy(target, seed=3, noise=10.0)
    click = first_click(target, SPACING)
    mask = region_growing_segment(image, SPACING, [click], RegionGrowingConfig(margin_mm=10))
    assert dice(mask, target) >= 0.95


def test_adaptive_roi_doubles_the_margin_while_the_object_reaches_the_border():
    from tumorseg.interactive.baselines import _adaptive_roi

    image = np.zeros((100, 100, 100), np.float32)
    seen = []

    def everything(roi):
        seen.append(roi)
        return np.ones(tuple(s.stop - s.start for s in roi), bool)

    mask, touching = _adaptive_roi(image, (1, 1, 1), [Click((50, 50, 50))], 5.0, 20.0,
                                   everything)
    assert [r[0].stop - r[0].start for r in seen] == [11, 21, 41]  # margins 5, 10, 20 mm
    assert mask.sum() == 41 ** 3 and touching
    seen.clear()

    def centre_only(roi):
        seen.append(roi)
        m = np.zeros(tuple(s.stop - s.start for s in roi), bool)
        m[tuple(np.array(m.shape) // 2)] = True
        return m

    mask, touching = _adaptive_roi(image, (1, 1, 1), [Click((50, 50, 50))], 5.0, 20.0,
                                   centre_only)
    assert len(seen) == 1 and not touching and mask.sum() == 1 and mask[50, 50, 50]


def test_random_walker_on_a_coarsened_roi_still_works(sphere_case):
    image, target = sphere_case
    config = RandomWalkerConfig(max_roi_voxels=3_000)
    mask = random_walker_segment(image, SPACING, [first_click(target, SPACING)], config)
    assert mask.shape == image.shape
    assert dice(mask, target) >= 0.75


def test_click_roi_is_clipped_and_in_mm():
    roi = click_roi((50, 50, 20), (1.0, 1.0, 5.0), [Click((2, 30, 10))], margin_mm=10)
    assert roi == (slice(0, 13), slice(20, 41), slice(8, 13))


@pytest.mark.parametrize("cls", [RandomWalkerSegmenter, RegionGrowingSegmenter])
def test_segmenters_follow_the_protocol(sphere_case, cls):
    image, target = sphere_case
    seg = cls()
    assert isinstance(seg, ClickSegmenter)
    with pytest.raises(RuntimeError, match="start"):
        seg.update(Click((1, 1, 1)))
    volume = Volume(image, SPACING)
    seg.start(volume)
    first = seg.update(first_click(target, SPACING))
    assert dice(first, target) >= 0.8
    seg.start(volume)  # a fresh start forgets the clicks
    assert not seg.update(Click((2, 2, 2), positive=False)).any()

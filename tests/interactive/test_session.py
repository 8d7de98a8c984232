"""InteractiveSession semantics with a deterministic fake model (the guidance ball itself)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.errors import InputError
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import InteractiveModelSpec, default_network
from tumorseg.interactive.prompts import Box, Click
from tumorseg.interactive.session import InteractiveSession
from tumorseg.io import Volume, point_to_index


class BallModel:
    """Predicts the positive guidance (a ball of 4 mm) and the prior, minus the negative
    guidance: what a perfect 'segment the ball under the click' network would do."""

    def __init__(self, radius_mm: float = 4.0, spacing: float = 1.0, patch: int = 24) -> None:
        self.spec = InteractiveModelSpec(
            spacing_mm=(spacing,) * 3, patch_size=(patch,) * 3,
            guidance=GuidanceConfig(kind="ball", radius_mm=radius_mm),
            network=default_network())
        self.calls = 0

    def predict(self, roi_image, pos, neg, prior):
        self.calls += 1
        assert roi_image.shape[1:] == pos.shape == neg.shape == prior.shape == self.spec.patch_size
        return np.maximum(pos, prior) * (neg < 0.5)


def _volume(shape=(60, 50, 30), spacing=(1.0, 1.0, 1.0), direction=None) -> Volume:
    arr = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    return Volume(arr, spacing=spacing, origin=(10.0, -20.0, 5.0),
                  direction=np.eye(3) if direction is None else direction, modality="CT")


def _ball_at(shape, centre, radius_vox):
    g = np.indices(shape)
    d2 = sum((g[a] - centre[a]) ** 2 for a in range(3))
    return d2 <= radius_vox**2


def test_click_segments_the_active_lesion_and_outside_roi_is_untouched():
    vol = _volume()
    model = BallModel()
    s = InteractiveSession(vol, model=model)
    mask = s.add_click(Click((20, 20, 15)))
    assert mask.dtype == np.uint16
    np.testing.assert_array_equal(mask > 0, _ball_at(vol.shape, (20, 20, 15), 4))
    assert set(np.unique(mask)) == {0, 1}
    assert s.last_seconds is not None and s.last_seconds >= 0
    assert s.results[0].label == 1 and s.results[0].voxels == int((mask > 0).sum())
    assert s.results[0].clicks == (1, 0)


def test_positive_click_in_a_missed_part_extends_the_lesion():
    s = InteractiveSession(_volume(), model=BallModel())
    s.add_click((20, 20, 15))
    first = s.mask.copy()
    s.add_click((26, 20, 15))  # 6 voxels away: a separate ball, but the same lesion
    assert set(np.unique(s.mask)) == {0, 1}
    assert (s.mask[first > 0] == 1).all()
    assert s.mask[26, 20, 15] == 1 and s.mask[29, 20, 15] == 1
    assert s.active_lesion == 1


def test_negative_click_removes_and_other_lesions_are_never_overwritten():
    s = InteractiveSession(_volume(), model=BallModel())
    s.add_click((20, 20, 15))
    assert s.new_lesion() == 2
    s.add_click((25, 20, 15))  # its ball overlaps lesion 1
    one = s.mask == 1
    np.testing.assert_array_equal(one, _ball_at(s.shape, (20, 20, 15), 4))  # lesion 1 intact
    assert (s.mask == 2).sum() > 0
    # lesion 1 is a negative constraint for lesion 2: no voxel of it was taken
    s.select_lesion(1)
    s.add_click((17, 20, 15), positive=False)
    assert s.mask[17, 20, 15] == 0
    assert (s.mask == 2).sum() > 0  # lesion 2 untouched by refining lesion 1


def test_undo_redo_reset():
    s = InteractiveSession(_volume(), model=BallModel())
    s.add_click((20, 20, 15))
    after_one = s.mask.copy()
    s.add_click((30, 30, 15))
    after_two = s.mask.copy()
    assert s.undo()
    np.testing.assert_array_equal(s.mask, after_one)
    assert len(s.prompts[1].clicks) == 1
    assert s.redo()
    np.testing.assert_array_equal(s.mask, after_two)
    assert not s.redo()
    s.reset()
    assert not s.mask.any() and s.prompts == {}
    assert s.undo()
    np.testing.assert_array_equal(s.mask, after_two)
    s.undo(), s.undo()
    assert not s.mask.any() and not s.undo()


def test_prior_mask_starts_the_lesions_and_box_limits_the_result():
    vol = _volume()
    prior = np.zeros(vol.shape, bool)
    prior[5:9, 5:9, 5:9] = True
    prior[40:44, 40:44, 20:24] = True
    s = InteractiveSession(vol, model=BallModel(), prior=prior)
    assert set(np.unique(s.mask)) == {0, 1, 2}
    s.new_lesion()
    s.set_box(Box((20, 20, 10), (22, 22, 20)))
    three = s.mask == 3
    assert three.any()
    idx = np.argwhere(three)
    assert idx.min(0)[0] >= 19 and idx.max(0)[0] <= 23


def test_roi_is_cached_between_clicks_and_far_voxels_untouched():
    vol = _volume(shape=(200, 200, 40))
    s = InteractiveSession(vol, model=BallModel())
    s._mask[150:160, 150:160, 5:10] = 7  # a lesion far from the clicks
    s.add_click((50, 50, 20))
    roi = s._rois[1]
    s.add_click((52, 50, 20))
    assert s._rois[1] is roi and len(s._cache) == 1
    assert (s.mask[150:160, 150:160, 5:10] == 7).all()
    lo, hi = np.argwhere(s.mask == 1).min(0), np.argwhere(s.mask == 1).max(0)
    assert (lo >= np.array(roi.lo)).all() and (hi < np.array(roi.hi)).all()


def test_anisotropic_oblique_volume_and_mm_clicks(oblique_volume):
    # the session works in index space: an oblique direction changes nothing, and a click
    # given in LPS mm lands on the voxel that point_to_index names
    big = Volume(np.zeros((40, 36, 12), np.float32), spacing=oblique_volume.spacing,
                 origin=oblique_volume.origin, direction=oblique_volume.direction)
    target = (20, 18, 6)
    world = tuple(big.index_to_world(target))
    index = point_to_index(big, world, "mm")
    assert index == target
    s = InteractiveSession(big, model=BallModel(radius_mm=4.0, spacing=1.0, patch=24))
    s.add_click(index)
    mask = s.mask > 0
    assert mask[target]
    # the ball is 4 mm in every direction: ~5 voxels along i (0.73 mm), 1 along k (3.3 mm)
    extent = np.ptp(np.argwhere(mask), axis=0) + 1
    assert extent[0] > extent[2]
    assert extent[0] >= 9 and extent[2] <= 3


def test_bad_clicks_raise_input_error():
    s = InteractiveSession(_volume(), model=BallModel())
    with pytest.raises(InputError, match="outside"):
        s.add_click((100, 0, 0))
    with pytest.raises(InputError, match="does not match"):
        InteractiveSession(_volume(), model=BallModel(), prior=np.zeros((3, 3, 3)))


def test_click_far_from_a_prior_lesion_extends_it_without_dropping_the_prior_part():
    vol = _volume()
    prior = np.zeros(vol.shape, bool)
    prior[18:23, 18:23, 13:18] = True
    s = InteractiveSession(vol, model=BallModel(), prior=prior)
    s.add_click((30, 20, 15))  # a missed part of lesion 1, not touching its prior voxels
    assert (s.mask[prior] == 1).all()
    assert s.mask[30, 20, 15] == 1 and set(np.unique(s.mask)) == {0, 1}


def test_multichannel_volume_uses_the_chosen_channel():
    arr = np.zeros((2, 30, 30, 20), np.float32)
    arr[1] = np.random.default_rng(0).normal(size=(30, 30, 20))
    seen = []

    class Spy(BallModel):
        def predict(self, roi_image, pos, neg, prior):
            seen.append(float(np.abs(roi_image).max()))
            return super().predict(roi_image, pos, neg, prior)

    vol = Volume(arr, spacing=(1.0, 1.0, 1.0))
    s = InteractiveSession(vol, model=Spy(), channel=1)
    s.add_click((15, 15, 10))
    assert s.mask.shape == (30, 30, 20) and s.mask[15, 15, 10] == 1
    assert seen[0] > 0.5  # channel 0 is constant: it would normalise to all zeros
    with pytest.raises(InputError, match="no channel 2"):
        InteractiveSession(vol, model=BallModel(), channel=2)


def test_last_changed_bounds_every_change_and_results_match_cc3d():
    import cc3d

    vol = _volume()
    s = InteractiveSession(vol, model=BallModel())
    assert s.last_changed is None
    steps = [lambda: s.add_click(Click((20, 20, 15))), s.new_lesion,
             lambda: s.add_click(Click((40, 30, 10))), lambda: s.add_click((42, 30, 10)),
             s.undo, s.redo, s.reset, s.undo]
    for step in steps:
        before = s.mask.copy()
        step()
        outside = np.ones(vol.shape, bool)
        if s.last_changed is not None:
            outside[s.last_changed] = False
        np.testing.assert_array_equal(s.mask[outside], before[outside])
        stats = cc3d.statistics(s.mask)
        expected = [(k, int(n)) for k, n in enumerate(stats["voxel_counts"]) if k and n]
        assert [(r.label, r.voxels) for r in s.results] == expected
        for r in s.results:
            np.testing.assert_allclose(r.centroid_mm,
                                       vol.index_to_world(stats["centroids"][r.label]))
            box = stats["bounding_boxes"][r.label]
            assert r.bbox == (tuple(b.start for b in box), tuple(b.stop - 1 for b in box))


def test_negative_click_rejects_an_unconfirmed_detection_but_only_trims_a_confirmed_one():
    vol = _volume()
    prior = np.zeros(vol.shape, bool)
    prior[18:23, 18:23, 13:18] = True  # a 5³ cube centred on (20, 20, 15): 125 voxels
    prior[40:49, 30:39, 10:19] = True  # a 9³ cube centred on (44, 34, 14)
    model = BallModel(radius_mm=3.2)  # the negative ball covers the small cube but its corners
    s = InteractiveSession(vol, model=model, prior=prior)
    small, big = int(s.mask[20, 20, 15]), int(s.mask[44, 34, 14])
    s.select_lesion(small)
    s.add_click((20, 20, 15), positive=False)
    assert not (s.mask == small).any()  # 8/125 corners left by the network: rejected whole
    s.select_lesion(big)
    s.add_click((40, 34, 14), positive=False)  # trims a face of the big cube
    kept = int((s.mask == big).sum())
    assert 0 < kept < 729 and s.mask[40, 34, 14] == 0 and s.mask[46, 34, 14] == big
    # a confirmed lesion (it has a positive click) keeps the network's residue
    s2 = InteractiveSession(vol, model=model, prior=prior)
    s2.select_lesion(small)
    s2.add_click((22, 22, 17))  # a corner, confirming the detection
    s2.add_click((20, 20, 15), positive=False)
    assert (s2.mask == small).any()


class GrowingModel(BallModel):
    """Predicts the positive ball and the prior, each dilated by one model voxel: every pass
    fed its own mask grows the lesion by one voxel. Records the priors it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.priors: list[np.ndarray] = []

    def predict(self, roi_image, pos, neg, prior):
        from scipy.ndimage import binary_dilation

        self.calls += 1
        self.priors.append(prior.copy())
        return binary_dilation((pos > 0.5) | (prior > 0.5)).astype(np.float32)


@pytest.mark.parametrize("passes", [1, 3])
def test_first_prompt_passes_feed_the_mask_back_only_for_a_new_lesion(passes):
    model = GrowingModel()
    s = InteractiveSession(_volume(), model=model, first_prompt_passes=passes)
    mask = s.add_click((30, 25, 15))
    assert model.calls == passes
    assert not model.priors[0].any()
    for before, after in zip(model.priors[1:], model.priors[2:], strict=False):
        assert after.sum() > before.sum()  # each pass got the previous, larger, mask
    # ball of 4 mm grown by one voxel per pass (the clicked ball itself is the first pass)
    assert mask[30, 25, 15 + 4 + passes] == 1 and mask[30, 25, 15 + 4 + passes + 1] == 0
    s.add_click((30, 25, 14))  # the lesion has a mask now: one pass
    assert model.calls == passes + 1


def test_first_prompt_passes_must_be_positive():
    with pytest.raises(ValueError, match="first_prompt_passes"):
        InteractiveSession(_volume(), model=BallModel(), first_prompt_passes=0)


class ForgetfulModel(BallModel):
    """Ignores the prior and predicts only the ball under the positive clicks, plus a stray
    ball around every negative click: a network (or refinement) that restarts from the
    click cores, as the random walker did on corrective clicks."""

    def predict(self, roi_image, pos, neg, prior):
        self.calls += 1
        return np.maximum(pos, neg)


@pytest.mark.parametrize("monotone", [True, False])
def test_monotone_clicks_never_shrink_on_positive_nor_grow_on_negative(monotone):
    vol = _volume()
    prior = np.zeros(vol.shape, bool)
    prior[12:29, 12:29, 7:24] = True  # a 17³ lesion found by an automatic model
    s = InteractiveSession(vol, model=ForgetfulModel(), prior=prior, monotone=monotone)
    before = int((s.mask == 1).sum())
    s.add_click((20, 20, 15))  # a positive click on the lesion it already has
    after = int((s.mask == 1).sum())
    if monotone:
        assert after == before  # kept whole: nothing added outside, nothing lost
        s.add_click((14, 14, 9), positive=False)  # its guidance ball would add voxels
        assert ((s.mask == 1) <= prior).all() and s.mask[14, 14, 9] == 0
        assert (s.mask == 1).sum() < before
    else:
        assert after < before / 10  # the old behaviour: shrunk to the click's ball
    assert s.mask[20, 20, 15] == 1


def test_a_box_on_a_found_lesion_keeps_it_inside_the_box_and_drops_the_rest():
    vol = _volume()
    prior = np.zeros(vol.shape, bool)
    prior[12:29, 12:29, 7:24] = True
    s = InteractiveSession(vol, model=ForgetfulModel(), prior=prior)
    s.set_box(Box((10, 10, 5), (24, 30, 25)))  # cuts off i ≥ 25 (with a one-voxel margin)
    lesion = s.mask == 1
    assert lesion[12:25, 12:29, 7:24].all()
    assert not lesion[27:, :, :].any()


@pytest.mark.parametrize("monotone", [True, False])
def test_a_box_drawn_away_from_the_active_lesion_keeps_the_lesion(monotone):
    """A box that does not touch the active lesion adds its content and deletes nothing
    (before: the lesion outside the box was wiped, 41 of a click's 42 voxels)."""
    vol = _volume()
    s = InteractiveSession(vol, model=BallModel(patch=48), monotone=monotone)
    s.add_click((20, 20, 8))
    clicked = s.mask == 1
    assert clicked.sum() > 30
    s.set_box(Box((34, 30, 16), (42, 38, 24)))
    lesion = s.mask == 1
    assert (lesion >= clicked).all()  # nothing of the clicked part lost
    assert lesion[34:43, 30:39, 16:25].any()  # the box's content added
    assert not lesion[:, :, 25:].any()


def test_a_positive_click_outside_the_box_adds_its_part():
    vol = _volume()
    s = InteractiveSession(vol, model=BallModel(patch=48))
    s.set_box(Box((34, 30, 16), (42, 38, 24)))
    s.add_click((20, 20, 8))
    lesion = s.mask == 1
    ball = _ball_at(vol.shape, (20, 20, 8), 4)
    assert lesion[ball].all()  # the whole ball, not only the clicked voxel
    assert lesion[34:43, 30:39, 16:25].any()

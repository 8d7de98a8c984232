"""Random-walker refinement of the click network's probability (tumorseg.interactive.refine)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.interactive.guidance import GuidanceConfig, encode_clicks
from tumorseg.interactive.model import InteractiveModel, InteractiveModelSpec, default_network
from tumorseg.interactive.refine import RefinementConfig, refine_probability, walker_probability
from tumorseg.models import build_network

SHAPE = (32, 32, 32)
SPACING = (2.5, 2.5, 2.5)
CENTRE = (16.0, 16.0, 16.0)
WALKER = RefinementConfig(method="random-walker")


def _ball(radius: float, centre=CENTRE) -> np.ndarray:
    g = np.indices(SHAPE).astype(float)
    return ((g - np.array(centre)[:, None, None, None]) ** 2).sum(0) <= radius**2


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.fixture(scope="module")
def scene():
    """A bright ball of radius 9 voxels in mild noise, a click at its centre, and a
    'network' that predicts only a ball of radius 3 around the click (under-segmentation)."""
    lesion = _ball(9)
    image = np.random.default_rng(0).normal(0.0, 0.1, SHAPE) + lesion
    image = image.astype(np.float32)
    pos = encode_clicks(SHAPE, SPACING, [CENTRE], GuidanceConfig(), image)
    blob = _ball(3).astype(np.float32) * 0.9 + 0.05
    return image, lesion, pos, blob


def test_the_walker_extends_an_under_segmented_blob_to_the_edges(scene):
    image, lesion, pos, blob = scene
    neg = np.zeros(SHAPE, np.float32)
    refined = refine_probability(blob, image, pos, neg, WALKER)
    assert refined.dtype == np.float32 and refined.shape == SHAPE
    assert _dice(blob > 0.5, lesion) < 0.1
    assert _dice(refined > 0.5, lesion) > 0.9
    # it is the stated average: 0.3 × network + 0.7 × walker
    walker = walker_probability(image, pos, neg, WALKER)
    np.testing.assert_allclose(refined, 0.3 * blob + 0.7 * walker, atol=1e-6)
    assert walker[tuple(int(c) for c in CENTRE)] == pytest.approx(1.0)


def test_negative_guidance_and_the_roi_faces_are_background_seeds(scene):
    image, lesion, pos, _ = scene
    # a second bright ball, touching nothing, marked negative (as the session marks an
    # existing lesion): the walker must not take it
    other = _ball(4, (16.0, 16.0, 29.0)) & ~lesion
    image2 = image + other.astype(np.float32)
    neg = other.astype(np.float32)
    walker = walker_probability(image2, pos, neg, WALKER)
    assert walker[other].max() == pytest.approx(0.0, abs=1e-6)
    assert walker[0].max() == pytest.approx(0.0, abs=1e-6)  # a face of the ROI


def test_none_and_no_positive_seed_leave_the_network_alone(scene):
    image, _, pos, blob = scene
    neg = np.zeros(SHAPE, np.float32)
    assert refine_probability(blob, image, pos, neg, RefinementConfig()) is blob
    weak = np.minimum(pos, 0.5)  # guidance that never reaches seed_level (e.g. a box alone)
    assert walker_probability(image, weak, neg, WALKER) is None
    assert refine_probability(blob, image, weak, neg, WALKER) is blob


def test_config_is_checked_and_old_model_folders_mean_none():
    assert RefinementConfig.from_dict(None).method == "none"
    assert RefinementConfig.from_dict(WALKER.to_dict()) == WALKER
    for bad in ({"method": "crf"}, {"network_weight": 1.5}, {"beta": 0.0},
                {"seed_level": 0.0}):
        with pytest.raises(ValueError):
            RefinementConfig(**bad)


def _spec(refinement: RefinementConfig) -> InteractiveModelSpec:
    return InteractiveModelSpec(spacing_mm=SPACING, patch_size=(16, 16, 16),
                                guidance=GuidanceConfig(kind="ball"),
                                network=default_network(features=(4, 8, 16)),
                                refinement=refinement)


def test_model_json_carries_the_refinement_and_predict_applies_it():
    spec = _spec(WALKER)
    d = spec.to_dict()
    assert d["refinement"]["method"] == "random-walker"
    assert InteractiveModelSpec.from_dict(d).refinement == WALKER
    del d["refinement"]  # a folder written before refinement existed
    assert InteractiveModelSpec.from_dict(d).refinement.method == "none"

    torch.manual_seed(0)
    network = build_network(spec.network)
    refined = InteractiveModel(spec, network)
    plain = InteractiveModel(spec, network, refinement=RefinementConfig())
    assert refined.refinement == WALKER and plain.refinement.method == "none"
    rng = np.random.default_rng(1)
    image = rng.normal(size=(1, 16, 16, 16)).astype(np.float32)
    pos = np.zeros((16, 16, 16), np.float32)
    pos[7:10, 7:10, 7:10] = 1.0
    neg = prior = np.zeros_like(pos)
    p_net = plain.predict(image, pos, neg, prior)
    expected = refine_probability(p_net, image[0], pos, neg, WALKER)
    np.testing.assert_allclose(refined.predict(image, pos, neg, prior), expected, atol=1e-6)
    assert np.abs(expected - p_net).max() > 0.1


def test_override_by_name():
    from tumorseg.interactive.refine import override

    assert override("model") is None  # keep the model folder's
    assert override("none") == RefinementConfig()
    assert override("random-walker") == WALKER
    with pytest.raises(ValueError, match="unknown refinement"):
        override("crf")

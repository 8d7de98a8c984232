"""Mirroring test-time augmentation of InteractiveModel, against an independent computation:
the mean of single passes on flipped inputs, flipped back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import InteractiveModel, InteractiveModelSpec, default_network
from tumorseg.models import build_network


def _model(mirror_axes) -> InteractiveModel:
    torch.manual_seed(0)
    config = default_network(features=(4, 8, 16))
    spec = InteractiveModelSpec(spacing_mm=(2.0, 2.0, 2.0), patch_size=(16, 16, 16),
                                guidance=GuidanceConfig(kind="ball"), network=config)
    return InteractiveModel(spec, build_network(config), mirror_axes=mirror_axes)


def test_mirrored_prediction_is_the_mean_of_flipped_single_passes():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(1, 16, 16, 12)).astype(np.float32)  # k not a multiple of 8
    pos, neg, prior = (rng.random((16, 16, 12)).astype(np.float32) for _ in range(3))
    single, mirrored = _model(()), _model((0, 1))
    expected = []
    for axes in [(), (0,), (1,), (0, 1)]:
        def flip(a, lead=0, axes=axes):
            return np.flip(a, tuple(x + lead for x in axes)).copy() if axes else a
        p = single.predict(flip(image, 1), flip(pos), flip(neg), flip(prior))
        expected.append(flip(p))
    got = mirrored.predict(image, pos, neg, prior)
    assert got.shape == (16, 16, 12)
    np.testing.assert_allclose(got, np.mean(expected, axis=0), atol=1e-5)
    # and it is not just the single pass (the random network is not mirror-symmetric)
    assert np.abs(got - expected[0]).max() > 1e-3


def test_bad_mirror_axes_are_refused():
    with pytest.raises(ValueError, match="mirror axes"):
        _model((3,))

"""InteractiveModel.warm_up: one pass of the network on a zero ROI of the model's patch size,
with every image channel the model takes, leaving later predictions unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import InteractiveModel, InteractiveModelSpec, default_network
from tumorseg.models import build_network


@pytest.mark.parametrize("scheme", ["roi-percentile-zscore", "roi-zscore+local-window"])
def test_warm_up_runs_the_network_once_on_the_patch_shape(scheme):
    torch.manual_seed(0)
    config = default_network(features=(4, 8, 16), normalization=scheme)
    spec = InteractiveModelSpec(spacing_mm=(2.0, 2.0, 2.0), patch_size=(16, 24, 8),
                                guidance=GuidanceConfig(kind="ball"), network=config,
                                normalization={"scheme": scheme})
    model = InteractiveModel(spec, build_network(config))
    rng = np.random.default_rng(1)
    image = rng.normal(size=(config.in_channels - 3, 16, 16, 16)).astype(np.float32)
    pos, neg, prior = (rng.random((16, 16, 16)).astype(np.float32) for _ in range(3))
    before = model.predict(image, pos, neg, prior)

    seen: list[tuple[int, ...]] = []
    hook = model.network.register_forward_hook(lambda _m, args, _o: seen.append(
        tuple(args[0].shape)))
    seconds = model.warm_up()
    hook.remove()

    assert seen == [(1, config.in_channels, 16, 24, 8)]
    assert seconds > 0
    np.testing.assert_array_equal(model.predict(image, pos, neg, prior), before)

"""ROI normalisation of the guided network's image channels."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import (
    InteractiveModelSpec,
    default_network,
    guide_image,
    local_window,
    normalize_roi,
    roi_image_channels,
)


def _ct_roi() -> np.ndarray:
    """A 32³ CT-like ROI: liver (100 HU) with a 60 HU lesion, air (−1000) and bone (1000)."""
    rng = np.random.default_rng(0)
    x = np.full((32, 32, 32), 100.0) + rng.normal(0, 8, (32, 32, 32))
    g = np.indices(x.shape)
    lesion = sum((g[a] - 16) ** 2 for a in range(3)) <= 25
    x[lesion] -= 40
    x[:4] = -1000.0
    x[-3:] = 1000.0
    return x.astype(np.float32), lesion


def test_local_window_keeps_lesion_contrast_that_the_zscore_loses():
    x, lesion = _ct_roi()
    ring = np.zeros_like(lesion)
    ring[8:24, 8:24, 8:24] = True
    ring &= ~lesion
    z, w = normalize_roi(x), local_window(x)
    contrast_z = z[ring].mean() - z[lesion].mean()
    contrast_w = w[ring].mean() - w[lesion].mean()
    assert contrast_z < 0.2  # air and bone dominate the ROI's standard deviation
    # robust scale of the centre ≈ noise + lesion share: 40 HU is several units
    assert contrast_w > 2.5
    assert w.min() == -5.0 and w.max() == 5.0  # air and bone are clipped
    # independent computation of the centre statistics
    centre = x[8:24, 8:24, 8:24]
    m = np.median(centre)
    s = 1.4826 * np.median(np.abs(centre - m))
    np.testing.assert_allclose(w[10, 10, 10], np.clip((x[10, 10, 10] - m) / s, -5, 5),
                               rtol=1e-5)


def test_constant_roi_gives_zeros_and_schemes_give_their_channel_count():
    flat = np.full((8, 8, 8), 7.0, np.float32)
    assert not local_window(flat).any() and not normalize_roi(flat).any()
    x, _ = _ct_roi()
    one = roi_image_channels(x, "roi-percentile-zscore")
    two = roi_image_channels(x, "roi-zscore+local-window")
    assert one.shape == (1, 32, 32, 32) and two.shape == (2, 32, 32, 32)
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(guide_image(two), two[1])
    with pytest.raises(ValueError, match="unknown ROI normalisation"):
        roi_image_channels(x, "minmax")


def test_model_description_without_scheme_means_the_single_channel_zscore():
    scheme = "roi-zscore+local-window"
    spec = InteractiveModelSpec(spacing_mm=(2.5,) * 3, patch_size=(32,) * 3,
                                guidance=GuidanceConfig(),
                                network=default_network(normalization=scheme),
                                normalization={"scheme": scheme})
    assert spec.normalization_scheme == scheme and spec.network.in_channels == 5
    assert InteractiveModelSpec.from_dict(spec.to_dict()).normalization_scheme == scheme
    d = spec.to_dict()
    del d["normalization"]
    assert InteractiveModelSpec.from_dict(d).normalization_scheme == "roi-percentile-zscore"
    assert default_network().in_channels == 4

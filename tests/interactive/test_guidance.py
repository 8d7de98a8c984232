"""Guidance encodings (checked against direct formulas), boxes, priors, ROI resampling."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.interactive.guidance import GuidanceConfig, encode_box, encode_clicks, prior_channel
from tumorseg.interactive.randomize import RandomizationConfig, randomize_appearance
from tumorseg.interactive.roi import extract, make_roi, paste_probability

SPACING = (1.0, 2.0, 3.0)


def _dist_mm(shape, point, spacing):
    g = np.indices(shape).astype(float)
    return np.sqrt(sum(((g[a] - point[a]) * spacing[a]) ** 2 for a in range(3)))


def test_ball_is_radius_in_mm_on_anisotropic_grid():
    shape = (30, 20, 12)
    out = encode_clicks(shape, SPACING, [(15, 10, 6)], GuidanceConfig(kind="ball", radius_mm=6))
    np.testing.assert_array_equal(out, (_dist_mm(shape, (15, 10, 6), SPACING) <= 6))
    assert out.dtype == np.float32


def test_gaussian_matches_formula_and_combines_by_max():
    shape = (20, 20, 10)
    cfg = GuidanceConfig(kind="gaussian", sigma_mm=4.0)
    pts = [(5, 5, 5), (14, 12, 3)]
    out = encode_clicks(shape, SPACING, pts, cfg)
    expected = np.maximum(*[np.exp(-_dist_mm(shape, p, SPACING) ** 2 / 32.0) for p in pts])
    expected[expected < np.exp(-4.5)] = 0  # truncated at 3 sigma
    np.testing.assert_allclose(out[expected > 0], expected[expected > 0], atol=1e-5)
    assert out[5, 5, 5] == pytest.approx(1.0)
    assert not encode_clicks(shape, SPACING, [], cfg).any()


def test_adaptive_follows_intensity_and_stops_at_edges():
    image = np.zeros((40, 40, 20), np.float32)
    image[10:20, 10:30, 5:15] = 5.0  # a bright block
    cfg = GuidanceConfig(kind="adaptive", adaptive_radius_mm=30, tau_mm=50, core_radius_mm=1)
    out = encode_clicks(image.shape, (1, 1, 1), [(15, 20, 10)], cfg, image=image)
    assert out[15, 20, 10] == pytest.approx(1.0)
    assert out[15, 28, 10] > 0.5            # inside the block, 8 mm away: covered
    assert out[25, 20, 10] == 0             # 10 mm away but across the edge: not covered
    # without an image it falls back to the Gaussian
    fallback = encode_clicks(image.shape, (1, 1, 1), [(15, 20, 10)], cfg)
    assert fallback[25, 20, 10] > 0


def test_box_and_prior_channels():
    box = encode_box((20, 20, 20), (5, 5, 5), (14, 14, 14))
    assert box[9, 9, 9] > 0.9 and box[0, 0, 0] == 0 and box.max() <= 1
    assert not box[:4].any() and not box[16:].any()
    assert not prior_channel(None, (3, 3, 3)).any()
    assert prior_channel(np.array([[[0, 2]]]), (1, 1, 2)).tolist() == [[[0.0, 1.0]]]
    with pytest.raises(ValueError, match="guidance kind"):
        GuidanceConfig(kind="star")


def test_roi_round_trip_keeps_positions():
    spacing = (0.8, 0.8, 2.5)
    roi = make_roi((50, 60, 10), spacing, (2.0, 2.0, 2.0), (16, 16, 16))
    assert roi.size == (40, 40, 13)
    image = np.zeros((100, 100, 20), np.float32)
    image[48:53, 58:63, 9:12] = 1.0
    on_model = extract(image, roi)
    assert on_model.shape == (16, 16, 16)
    centre = np.unravel_index(np.argmax(on_model), on_model.shape)
    expected = roi.to_model((50, 60, 10))
    assert np.allclose(centre, expected, atol=1.0)
    slices, back = paste_probability(on_model, roi, image.shape)
    peak = np.unravel_index(np.argmax(back), back.shape)
    assert np.allclose(np.array(peak) + [s.start for s in slices], (50, 60, 10), atol=1.5)


def test_roi_outside_the_array_is_clipped():
    roi = make_roi((0, 0, 0), (1, 1, 1), (1, 1, 1), (8, 8, 8))
    labels = np.arange(1000, dtype=np.uint16).reshape(10, 10, 10)
    out = extract(labels, roi, label=True)
    assert out.dtype == np.uint16 and out.shape == (8, 8, 8)
    slices, vals = paste_probability(np.ones((8, 8, 8)), roi, (10, 10, 10))
    assert vals.shape == (4, 4, 4) and all(s.start == 0 for s in slices)


def test_randomisation_is_seeded_and_changes_contrast():
    rng_img = np.random.default_rng(1)
    image = rng_img.normal(size=(24, 24, 24)).astype(np.float32)
    regions = np.zeros(image.shape, np.uint8)
    regions[8:16, 8:16, 8:16] = 1
    image[regions > 0] += 3
    cfg = RandomizationConfig()
    a = randomize_appearance(image, regions, cfg, np.random.default_rng(5))
    b = randomize_appearance(image, regions, cfg, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    contrasts = []
    for seed in range(12):
        out = randomize_appearance(image, regions, cfg, np.random.default_rng(seed))
        assert out.shape == image.shape and np.isfinite(out).all()
        contrasts.append(out[regions > 0].mean() - out[regions == 0].mean())
    # the lesion is sometimes darker, sometimes brighter than its surroundings
    assert min(contrasts) < 0 < max(contrasts)

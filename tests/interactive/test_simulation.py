"""Training-time click simulation: first clicks, error-driven clicks, channels."""

from __future__ import annotations

import numpy as np

from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.simulation import (
    ClickSample,
    SimulationConfig,
    add_error_clicks,
    error_click,
    first_clicks,
    guidance_channels,
    simulate_prompts,
)

SPACING = (1.0, 1.0, 1.0)


def _target():
    t = np.zeros((24, 24, 24), bool)
    t[6:18, 6:18, 6:18] = True
    return t


def test_first_clicks_are_inside_and_centre_weighting_pulls_inwards():
    target = _target()
    rng = np.random.default_rng(0)
    centre_cfg = SimulationConfig(p_center=1.0, p_negative=1.0, max_first_clicks=1)
    uniform_cfg = SimulationConfig(p_center=0.0, p_negative=0.0, max_first_clicks=1)
    dc, du = [], []
    for _ in range(60):
        pos, neg = first_clicks(target, SPACING, centre_cfg, rng)
        assert all(target[tuple(int(v) for v in p)] for p in pos)
        assert neg and all(not target[tuple(int(v) for v in p)] for p in neg)
        dc.append(np.abs(np.array(pos[0]) - 11.5).max())
        pos, neg = first_clicks(target, SPACING, uniform_cfg, rng)
        assert not neg
        du.append(np.abs(np.array(pos[0]) - 11.5).max())
    assert np.mean(dc) < np.mean(du)
    assert first_clicks(np.zeros((4, 4, 4), bool), SPACING, centre_cfg, rng) == ([], [])


def test_error_click_targets_largest_error_centre():
    target = _target()
    pred = target.copy()
    pred[7:16, 7:16, 7:16] = False          # a missed cube (9³ = 729 voxels)
    pred[0:3, 0:3, 0:3] = True              # a small false positive (27 voxels)
    (point, positive) = error_click(pred, target, SPACING)
    assert positive
    assert point == (11.0, 11.0, 11.0)      # its centre
    fp_only = target | np.pad(np.ones((5, 5, 5), bool), ((19, 0), (19, 0), (19, 0)))
    (point, positive) = error_click(fp_only, target, SPACING)
    assert not positive and point == (21.0, 21.0, 21.0)
    assert error_click(target, target, SPACING) is None


def test_channels_and_error_rounds():
    rng = np.random.default_rng(3)
    target = _target()
    others = np.zeros_like(target)
    others[20:23, 20:23, 20:23] = True
    image = rng.normal(size=target.shape).astype(np.float32)
    cfg = SimulationConfig(p_drop_prior=1.0, p_others_negative=1.0)
    sample = simulate_prompts(image, target, others, SPACING, cfg, rng)
    assert sample.prior is None and sample.positive
    x = guidance_channels(sample, SPACING, GuidanceConfig(kind="ball", radius_mm=2))
    assert x.shape == (4, 24, 24, 24)
    assert (x[2][others] == 1).all() and not x[3].any()

    calls = []

    def predict_nothing(batch):
        calls.append(batch.shape)
        return np.zeros((batch.shape[0], *batch.shape[2:]), np.float32)

    samples = [ClickSample(image=image, target=target, others=others, positive=[(11, 11, 11)])]
    out = add_error_clicks(samples, predict_nothing, SPACING, GuidanceConfig(), iterations=2)
    assert len(calls) == 2 and out.shape == (1, 4, 24, 24, 24)
    # nothing predicted → two more positive clicks inside the target, prior = empty prediction
    assert len(samples[0].positive) == 3
    assert all(target[tuple(int(v) for v in p)] for p in samples[0].positive)
    assert samples[0].prior is not None and not samples[0].prior.any()

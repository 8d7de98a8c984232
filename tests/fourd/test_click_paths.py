"""The click-guided paths with a stand-in session (the real model is tested by its owners):
clicks reach the session as voxel indices, and per-phase clicks land inside the moved tumor."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tests.fourd.synthetic import moving_tumor, sphere
from tumorseg.fourd import (
    ITVSettings,
    PerPhaseSettings,
    PhaseSet,
    RegistrationSettings,
    compute_itv,
    gtv_from_clicks,
    gtv_source,
)
from tumorseg.metrics.overlap import dice


class FakeSession:
    """Answers a click with an 8 mm ball around it (as instance label 1)."""

    clicks: ClassVar[list] = []

    def __init__(self, volume):
        self.volume = volume

    def add_click(self, click):
        FakeSession.clicks.append(click.index)
        return sphere(click.index, 8.0, self.volume.shape, self.volume.spacing).astype(np.uint16)


def test_reference_gtv_from_clicks(monkeypatch):
    (ref,), (truth,) = moving_tumor([(0, 0, 0)])
    monkeypatch.setattr(gtv_source, "click_session_factory", lambda device="cpu": FakeSession)
    FakeSession.clicks = []
    gtv = gtv_from_clicks(ref, [(20, 20, 14)], method="model")
    assert FakeSession.clicks == [(20, 20, 14)]
    assert dice(gtv, truth) > 0.95


def test_per_phase_with_the_click_segmenter_clicks_inside_the_moved_tumor():
    shifts = [(0, 0, 0), (2, 0, 3), (0, -2, -3)]
    phases, truth = moving_tumor(shifts, seed=8)
    FakeSession.clicks = []
    settings = ITVSettings("per-phase", RegistrationSettings(deformable=False),
                           PerPhaseSettings(segmenter="click"), session_factory=FakeSession)
    ps = PhaseSet(tuple(phases), ("a", "b", "c"), (None,) * 3, "given")
    result = compute_itv(ps, truth[0], 0, settings)
    assert len(FakeSession.clicks) == 2  # not on the reference phase
    for click, p in zip(FakeSession.clicks, (1, 2), strict=True):
        assert truth[p][click]
        assert dice(result.gtvs[p], truth[p]) > 0.95

"""Tumor-centred registration: a known rigid shift is recovered, by NCC and by the B-spline."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fourd.synthetic import SPACING, moving_tumor
from tumorseg.fourd.motion import centroid_mm
from tumorseg.fourd.register import RegistrationSettings, ncc_shift, register_phase, warp_label
from tumorseg.metrics.overlap import dice


def test_ncc_shift_finds_an_integer_shift():
    rng = np.random.default_rng(1)
    fixed = rng.normal(size=(30, 28, 26))
    moving = np.roll(fixed, shift=(-3, 2, -4), axis=(0, 1, 2))  # moving[x] = fixed[x + s]
    box = (slice(10, 18), slice(9, 17), slice(10, 16))
    shift, peak, edge = ncc_shift(fixed, moving, box)
    np.testing.assert_allclose(shift, [3, -2, 4], atol=0.05)  # sub-voxel parabola fit
    assert peak == pytest.approx(1.0, abs=1e-9) and not edge


@pytest.mark.parametrize("deformable", [False, True])
def test_propagation_recovers_a_rigid_shift(deformable):
    shift = (2, -3, 3)
    (ref, tgt), (g_ref, g_tgt) = moving_tumor([(0, 0, 0), shift])
    reg = register_phase(ref, tgt, g_ref, RegistrationSettings(deformable=deformable))
    np.testing.assert_allclose(reg.translation_mm, np.multiply(shift, SPACING), atol=0.5)
    assert reg.info["deformable"] is deformable
    warped = warp_label(g_ref, ref, reg)
    assert dice(warped, g_tgt) > 0.95
    moved = centroid_mm(warped, ref) - centroid_mm(g_ref, ref)
    np.testing.assert_allclose(moved, np.multiply(shift, SPACING), atol=0.5 * max(SPACING))


def test_identity_phase_gives_the_same_mask():
    (ref, tgt), (g_ref, _) = moving_tumor([(0, 0, 0), (0, 0, 0)], seed=3)
    reg = register_phase(ref, tgt, g_ref, RegistrationSettings(deformable=False))
    assert dice(warp_label(g_ref, ref, reg), g_ref) > 0.98

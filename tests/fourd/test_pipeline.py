"""compute_itv on synthetic moving tumors: ITV ⊇ GTVs, exact motion, both methods, edges."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fourd.synthetic import SPACING, moving_tumor
from tumorseg.errors import InputError
from tumorseg.fourd import ITVSettings, PhaseSet, RegistrationSettings, compute_itv, mip
from tumorseg.metrics.overlap import dice

SHIFTS = [(0, 0, -3), (0, 1, -1), (0, 1, 0), (1, 0, 2)]
FAST = RegistrationSettings(deformable=False)


def _phase_set(volumes) -> PhaseSet:
    n = len(volumes)
    return PhaseSet(tuple(volumes), tuple(f"p{i}" for i in range(n)), (None,) * n, "given")


@pytest.fixture(scope="module")
def both():
    phases, gtvs = moving_tumor(SHIFTS, seed=5)
    result = compute_itv(_phase_set(phases), gtvs[2], 2, ITVSettings("both", FAST))
    return phases, gtvs, result


def test_itv_contains_every_gtv_and_is_their_union(both):
    _, _, r = both
    for g in r.gtvs:
        assert g.any() and not (g & ~r.itv).any()
    np.testing.assert_array_equal(r.itv, np.logical_or.reduce(r.gtvs))


def test_gtvs_and_motion_amplitude_match_the_known_shifts(both):
    phases, truth, r = both
    for name in ("propagate", "per-phase"):
        for g, t in zip(r.gtvs_by_method[name], truth, strict=True):
            assert dice(g, t) > 0.9, name
        amp = r.motion_by_method[name].amplitude_mm
        s = np.asarray(SHIFTS)
        expected = (s.max(axis=0) - s.min(axis=0)) * np.asarray(SPACING)
        assert np.all(np.abs(amp - expected) <= np.asarray(SPACING)), (name, amp, expected)
    assert r.agreement_dice is not None and min(r.agreement_dice) > 0.85
    assert r.agreement_dice[2] == 1.0  # the reference phase is the given GTV in both
    np.testing.assert_array_equal(r.mip, mip(phases))
    assert r.mip.dtype == np.int16 and np.all(r.mip >= phases[0].array)
    assert r.motion.volumes_ml[2] == pytest.approx(truth[2].sum() * np.prod(SPACING) / 1000)


def test_reference_mask_on_another_grid_is_one_line_error():
    phases, gtvs = moving_tumor(SHIFTS[:2])
    with pytest.raises(InputError, match=r"reference GTV: size .* differs"):
        compute_itv(_phase_set(phases), gtvs[0][:-1], 0, ITVSettings("propagate", FAST))
    with pytest.raises(InputError, match="is empty"):
        compute_itv(_phase_set(phases), np.zeros_like(gtvs[0]), 0)


def test_tumor_leaving_the_field_of_view():
    # partly out of the image along z in phase 1: a warning, the result is still usable
    phases, gtvs = moving_tumor([(0, 0, 0), (0, 0, 5)], center=(20, 20, 25))
    r = compute_itv(_phase_set(phases), gtvs[0], 0, ITVSettings("propagate", FAST))
    assert any("touches the edge of the field of view" in w for w in r.warnings)
    assert r.gtvs[1].any() and r.gtvs[1][:, :, -1].any()


def test_tumor_gone_from_the_field_of_view_is_an_error():
    phases, gtvs = moving_tumor([(0, 0, 0), (0, 0, 0)])
    phases[1] = phases[1].with_array(np.full(phases[1].shape, -850, np.int16))
    with pytest.raises(InputError, match=r"phase 01 \(p1\): the tumor leaves the field of "
                                         r"view or was not found"):
        compute_itv(_phase_set(phases), gtvs[0], 0, ITVSettings("per-phase", FAST))


def test_unknown_method():
    phases, gtvs = moving_tumor(SHIFTS[:2])
    with pytest.raises(InputError, match="unknown method 'magic'"):
        compute_itv(_phase_set(phases), gtvs[0], 0, ITVSettings("magic"))

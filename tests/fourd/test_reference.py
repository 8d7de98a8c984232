"""Reference phase: end-exhale = smallest lung air volume inside the body, unless given."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fourd.synthetic import SPACING, moving_tumor
from tumorseg.errors import InputError
from tumorseg.fourd import choose_reference_phase, lung_air_ml


def test_smallest_lung_is_end_exhale_and_air_outside_the_body_does_not_count():
    phases, _ = moving_tumor([(0, 0, 0)] * 4, lung_scale=[0, 2, 4, 1])
    ref, air = choose_reference_phase(phases)
    assert ref == 2 and air[2] == min(air)
    assert air[0] > air[3] > air[1] > air[2]  # cuts 0, 1, 2, 4 voxels
    # air inside the body box (its 2-voxel rim of outside air excluded); no subsampling here
    inside = np.count_nonzero(phases[0].array[2:-2, 2:-2, :] < -400)
    assert lung_air_ml(phases[0]) == pytest.approx(inside * np.prod(SPACING) / 1000.0)


def test_requested_reference_phase_wins_and_is_checked():
    phases, _ = moving_tumor([(0, 0, 0)] * 2, lung_scale=[0, 3])
    assert choose_reference_phase(phases, 0)[0] == 0
    with pytest.raises(InputError, match=r"--reference-phase 2: out of range \(the phases"):
        choose_reference_phase(phases, 2)

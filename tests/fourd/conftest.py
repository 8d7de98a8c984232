"""Fixtures of the fourd tests: a tiny lung-4dct phantom written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tumorseg.phantoms.generate import case_seed
from tumorseg.phantoms.lung_4dct import Lung4DCase, make_lung_4dct, write_lung_4dct_case

#: A test-split seed whose tumor (46 mm, intraparenchymal) is big enough for a 5 mm grid.
PHANTOM_SEED = case_seed(0, 4, "Ts")


@pytest.fixture(scope="session")
def lung_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lung4DCase, Path]:
    """A 3-phase lung phantom on a 64×64×40 grid of 5×5×6 mm, and its written folder."""
    case = make_lung_4dct(PHANTOM_SEED, n_phases=3, shape=(64, 64, 40), spacing=(5, 5, 6))
    folder = write_lung_4dct_case(case, tmp_path_factory.mktemp("lung4d"))
    return case, folder

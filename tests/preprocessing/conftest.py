"""Fixtures: tiny synthetic datasets and their plans (CPU, small budget)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.planning.synthetic import ANISO_SPECS, CaseSpec, write_v1, write_v2
from tumorseg.planning import compute_fingerprint, make_plan, read_dataset


def _planned(root: Path):
    info = read_dataset(root)
    return info, make_plan(compute_fingerprint(info, samples_per_case=500), info, 2.0, "cpu")


@pytest.fixture(scope="module")
def ct_planned(tmp_path_factory):
    """(DatasetInfo, Plan) of a 3-case anisotropic CT dataset."""
    return _planned(write_v2(tmp_path_factory.mktemp("ct"), ANISO_SPECS, ("CT",)))


@pytest.fixture(scope="module")
def mr_planned(tmp_path_factory):
    """(DatasetInfo, Plan) of a 2-case, 2-channel MSD v1 MR dataset with a zero border."""
    specs = [CaseSpec((30, 28, 26), (1.0, 1.0, 1.0)), CaseSpec((28, 30, 24), (1.0, 1.0, 1.2))]
    return _planned(write_v1(tmp_path_factory.mktemp("mr"), specs))

"""Fixtures: a tiny plan (no training needed to test the model folder API)."""

from __future__ import annotations

import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tests.training.synthetic import tiny_plan, write_sphere_dataset


@pytest.fixture(scope="module")
def plan_and_dataset(tmp_path_factory):
    """(Plan, dataset folder) of a 2-case sphere dataset with a (4, 8, 16) U-Net."""
    root = write_sphere_dataset(tmp_path_factory.mktemp("ds"), n_cases=2)
    return tiny_plan(root), root

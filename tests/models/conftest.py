"""Fixtures: a tiny plan (no training needed to test the model folder API)."""

from __future__ import annotations

import pytest
import torch

from tests.training.synthetic import tiny_plan, write_sphere_dataset


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def plan_and_dataset(tmp_path_factory):
    """(Plan, dataset folder) of a 2-case sphere dataset with a (4, 8, 16) U-Net."""
    root = write_sphere_dataset(tmp_path_factory.mktemp("ds"), n_cases=2)
    return tiny_plan(root), root

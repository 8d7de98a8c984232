"""Fixtures: a tiny sphere dataset, a tiny plan, and one short training run (per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tests.training.synthetic import tiny_plan, write_sphere_dataset
from tumorseg.training import TrainingConfig, train


@pytest.fixture(scope="session")
def sphere_dataset(tmp_path_factory) -> Path:
    """4 cases of 32×32×24 voxels, one CT channel, one sphere label each."""
    return write_sphere_dataset(tmp_path_factory.mktemp("spheres"), n_cases=4)


@pytest.fixture(scope="session")
def tiny_plan_file(sphere_dataset, tmp_path_factory) -> Path:
    """plan.json: patch 24×24×16, batch 2, U-Net features (4, 8, 16)."""
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    tiny_plan(sphere_dataset, path)
    return path


def tiny_config(plan_file: Path, **changes) -> TrainingConfig:
    """2 epochs × 2 iterations on the tiny plan, no worker processes."""
    base = {"epochs": 2, "iterations_per_epoch": 2, "plan_file": str(plan_file),
            "num_workers": 0}
    return TrainingConfig(**(base | changes))


@pytest.fixture(scope="session")
def trained(sphere_dataset, tiny_plan_file, tmp_path_factory):
    """(TrainResult, model_dir) of fold 0 trained for 2 epochs × 2 iterations."""
    model_dir = tmp_path_factory.mktemp("model") / "spheres"
    result = train(sphere_dataset, model_dir, 0, tiny_config(tiny_plan_file), "cpu")
    return result, model_dir

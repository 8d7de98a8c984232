"""Fixtures: a tiny untrained model folder (two folds) and small synthetic CT volumes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import oblique_direction
from tests.planning.synthetic import ANISO_SPECS, write_v2
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.io import Volume
from tumorseg.models import build_network, save_model_folder, save_weights
from tumorseg.planning import Plan, compute_fingerprint, make_plan, read_dataset

#: Tiny network and window, coarse spacing: every test prediction takes well under a second.
TINY_FEATURES = (4, 8, 8, 8)
TINY_PATCH = (32, 32, 8)
TINY_SPACING = (2.0, 2.0, 4.0)


def tiny_plan(tmp: Path) -> tuple[Plan, Path]:
    """A real plan of a 3-case synthetic CT dataset, shrunk to a tiny network and patch."""
    root = write_v2(tmp, ANISO_SPECS, ("CT",))
    info = read_dataset(root)
    plan = make_plan(compute_fingerprint(info, samples_per_case=500), info, 2.0, "cpu")
    network = replace(plan.network, features=TINY_FEATURES)
    plan = replace(plan, network=network, patch_size=TINY_PATCH, target_spacing=TINY_SPACING)
    return plan, root / "dataset.json"


def make_model_dir(model_dir: Path, plan: Plan, dataset_json: Path,
                   folds: tuple[str, ...] = ("0", "1")) -> Path:
    """A model folder with untrained (seeded) networks for ``folds``."""
    save_model_folder(model_dir, plan, dataset_json)
    for i, fold in enumerate(folds):
        torch.manual_seed(100 + i)
        net = build_network(plan)
        # a large output bias spread keeps fresh networks away from a constant argmax
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(3.0)
        save_weights(model_dir, fold, net, epochs=0)
    return model_dir


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """Model folder with folds 0 and 1 (tiny untrained DynUNets, one CT channel, 2 classes)."""
    tmp = tmp_path_factory.mktemp("tiny_model")
    plan, dataset_json = tiny_plan(tmp / "dataset")
    return make_model_dir(tmp / "model", plan, dataset_json)


def ct_like(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """int16 CT-like array: air outside an ellipsoidal body, a bright sphere inside."""
    rng = np.random.default_rng(seed)
    idx = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    body = (idx**2).sum(0) < 0.8
    ball = ((idx - 0.2) ** 2).sum(0) < 0.08
    a = np.where(body, 40.0, -1000.0) + np.where(ball, 80.0, 0.0)
    return (a + rng.normal(0, 10, shape)).astype(np.int16)


@pytest.fixture
def oblique_ct() -> Volume:
    """An oblique, anisotropic CT-like volume with an off-centre origin."""
    return Volume(ct_like((41, 30, 9)), spacing=(1.3, 0.9, 3.7), origin=(-81.5, 20.25, 402.0),
                  direction=oblique_direction(5), modality="CT")

"""The bundled model ships in the package, verifies its weights hash and predicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tumorseg.inference import Predictor
from tumorseg.inference.registry import DEFAULT_MODEL, bundled_model_dir
from tumorseg.models import load_model
from tumorseg.phantoms import make_case


def test_bundled_model_is_small_and_self_describing():
    folder = bundled_model_dir(DEFAULT_MODEL)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 25 * 1024**2
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest["task"] == "automatic"
    assert (folder / "plan.json").exists() and (folder / "fold_all" / "weights.pt").exists()


def test_bundled_model_loads_with_verified_hash():
    network, plan, _ = load_model(bundled_model_dir(), verify=True)
    assert plan.channel_names == ("CT",)
    assert sum(p.numel() for p in network.parameters()) > 0


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bundled_model_predicts_on_the_input_grid():
    case = make_case("abdomen-ct", seed=5, name="t", size="small", shape=(64, 64, 40))
    image = case.channels[0]
    prediction = Predictor.from_model_dir(bundled_model_dir(), device="cpu",
                                          fast=True).predict_volume(image)
    assert prediction.labels.same_grid(image)
    assert prediction.labels.array.dtype == np.uint8
    probs = prediction.probabilities.array
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-3)
    assert 0.0 <= float(prediction.uncertainty.array.min()) <= float(
        prediction.uncertainty.array.max()) <= 1.0

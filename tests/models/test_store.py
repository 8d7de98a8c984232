"""Model folders: save, list, load with SHA-256 verification, and one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from tumorseg.errors import InputError
from tumorseg.models import (
    ModelFolder,
    ModelManifest,
    build_network,
    list_folds,
    load_model,
    save_model_folder,
    save_weights,
    sha256_file,
)


@pytest.fixture
def model_folder(plan_and_dataset, tmp_path):
    """A model folder with fold 0 (float32) and fold "all" (float16) weights."""
    plan, dataset = plan_and_dataset
    manifest = save_model_folder(tmp_path / "m", plan, dataset / "dataset.json", {"epochs": 1})
    assert manifest.task == "automatic" and manifest.labels == plan.labels
    torch.manual_seed(0)
    net = build_network(plan)
    save_weights(tmp_path / "m", 0, net, epochs=3, val_dice={"tumor": 0.5}, val_dice_mean=0.5,
                 half=False)
    save_weights(tmp_path / "m", "all", net, epochs=3)
    return tmp_path / "m", net


def test_round_trip(model_folder, plan_and_dataset):
    root, net = model_folder
    plan, _ = plan_and_dataset
    assert list_folds(root) == ["0", "all"]
    x = torch.randn(1, 1, *plan.patch_size)
    with torch.inference_mode():
        expected = net.eval()(x)
        exact, loaded_plan, manifest = load_model(root, 0)
        assert torch.equal(exact(x), expected) and not exact.training
        half, _, _ = load_model(root)  # default: fold "all"
        assert next(half.parameters()).dtype == torch.float32
        assert torch.allclose(half(x), expected, atol=5e-2)
    assert loaded_plan.to_dict() == plan.to_dict()
    assert set(manifest.folds) == {"0", "all"} and manifest.folds["0"].val_dice == {"tumor": 0.5}
    assert manifest.folds["all"].dtype == "float16"
    n_params = sum(p.numel() for p in net.parameters())  # shared tensors are saved once:
    assert manifest.folds["all"].size_bytes < 2 * n_params + 25_000
    assert manifest.folds["0"].size_bytes < 4 * n_params + 25_000
    assert ModelManifest.load(ModelFolder(root).manifest) == manifest


def test_corrupt_weights_are_refused(model_folder):
    root, _ = model_folder
    path = ModelFolder(root).weights(0)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256 mismatch") as err:
        load_model(root, 0)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_manifest_and_fold_record_must_agree(model_folder):
    root, _ = model_folder
    folder = ModelFolder(root)
    record = json.loads(folder.fold_record(0).read_text())
    record["sha256"] = "0" * 64
    folder.fold_record(0).write_text(json.dumps(record))
    with pytest.raises(InputError, match="differs"):
        load_model(root, 0)


def test_missing_things_are_input_errors(model_folder, plan_and_dataset, tmp_path):
    root, _ = model_folder
    with pytest.raises(InputError, match="fold 3 has no finished weights"):
        load_model(root, 3)
    with pytest.raises(InputError, match="no such model folder"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"model\.json"):
        load_model(tmp_path)
    plan, dataset = plan_and_dataset
    other = replace(plan, batch_size=plan.batch_size + 1)
    with pytest.raises(InputError, match="different plan"):
        save_model_folder(root, other, dataset / "dataset.json")


def test_weights_that_do_not_fit_the_plan(model_folder):
    root, _ = model_folder
    folder = ModelFolder(root)
    torch.save({"nonsense": torch.zeros(1)}, folder.weights(0))
    record = json.loads(folder.fold_record(0).read_text())
    record["sha256"] = sha256_file(folder.weights(0))
    folder.fold_record(0).write_text(json.dumps(record))
    manifest = json.loads(folder.manifest.read_text())
    manifest["folds"]["0"]["sha256"] = record["sha256"]
    folder.manifest.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="do not fit"):
        load_model(root, 0)

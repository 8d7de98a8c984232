"""A short training run writes a complete, loadable model folder; folds share one split."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from tests.training.conftest import tiny_config
from tumorseg.cli.train import train_command
from tumorseg.errors import InputError
from tumorseg.models import ModelFolder, PlainUNet, list_folds, load_model
from tumorseg.training import read_training_log, train

FOLD_FILES = ("checkpoint_latest.pt", "checkpoint_best.pt", "weights.pt", "fold.json",
              "training_log.csv", "training_config.json")


def test_model_folder_is_complete(trained):
    result, model_dir = trained
    folder = ModelFolder(model_dir)
    for path in (folder.plan, folder.dataset_json, folder.splits, folder.manifest):
        assert path.is_file(), path
    for name in FOLD_FILES:
        assert (model_dir / "fold_0" / name).is_file(), name
    assert result.epochs_completed == 2 and result.start_epoch == 0
    assert result.iterations_per_second and result.iterations_per_second > 0
    manifest = json.loads(folder.manifest.read_text())
    assert manifest["task"] == "automatic" and manifest["labels"] == {"background": 0,
                                                                     "tumor": 1}
    assert manifest["channel_names"] == ["CT"] and manifest["tumorseg_version"]
    assert manifest["folds"]["0"]["sha256"] == json.loads(
        folder.fold_record(0).read_text())["sha256"]
    fold_config = json.loads(folder.training_config(0).read_text())
    splits = json.loads(folder.splits.read_text())
    assert fold_config["val_cases"] == splits["folds"][0]["val"]
    assert list_folds(model_dir) == ["0"]


def test_training_log_has_one_row_per_epoch(trained):
    result, _ = trained
    rows = read_training_log(result.log)
    assert [r["epoch"] for r in rows] == [1, 2]
    for row in rows:
        assert row["train_loss"] > 0 and row["lr"] > 0 and row["iterations_per_s"] > 0
        assert row["val_loss"] is not None and 0 <= row["val_dice_tumor"] <= 1
        assert row["val_dice_mean"] == row["val_dice_tumor"]
    assert rows[1]["lr"] < rows[0]["lr"]  # poly decay


def test_trained_weights_load_and_predict(trained):
    _, model_dir = trained
    net, plan, manifest = load_model(model_dir, 0)
    assert not net.training and manifest.folds["0"].dtype == "float16"
    with torch.inference_mode():
        out = net(torch.zeros(1, 1, *plan.patch_size))
    assert out.shape == (1, 2, *plan.patch_size)


def test_second_fold_reuses_the_split(trained, sphere_dataset, tiny_plan_file):
    _, model_dir = trained
    folder = ModelFolder(model_dir)
    before = folder.splits.read_bytes()
    config = tiny_config(tiny_plan_file, epochs=1, iterations_per_epoch=1, split_seed=999)
    train(sphere_dataset, model_dir, 1, config, "cpu")
    assert folder.splits.read_bytes() == before  # another split_seed does not change it
    fold1 = json.loads(folder.training_config(1).read_text())
    assert fold1["val_cases"] == json.loads(before)["folds"][1]["val"]
    assert list_folds(model_dir) == ["0", "1"]
    assert set(json.loads(folder.manifest.read_text())["folds"]) == {"0", "1"}


def test_existing_fold_needs_resume(trained, sphere_dataset, tiny_plan_file):
    _, model_dir = trained
    with pytest.raises(InputError, match="--resume"):
        train(sphere_dataset, model_dir, 0, tiny_config(tiny_plan_file), "cpu")


def test_bad_fold_and_device(trained, sphere_dataset, tiny_plan_file):
    _, model_dir = trained
    with pytest.raises(InputError, match="fold"):
        train(sphere_dataset, model_dir, 7, tiny_config(tiny_plan_file), "cpu")
    with pytest.raises(InputError, match="fold"):
        train(sphere_dataset, model_dir, "seven", tiny_config(tiny_plan_file), "cpu")
    with pytest.raises(InputError, match="device"):
        train(sphere_dataset, model_dir, 0, tiny_config(tiny_plan_file), "tpu")


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(train_command)
    return app


def _train_one_step(dataset, plan_file, out, *options: str):
    """``tumorseg train DATASET -o OUT --fold all`` for one iteration, plus ``options``."""
    return CliRunner().invoke(_cli(), [
        str(dataset), "-o", str(out), "--fold", "all", "--epochs", "1",
        "--iterations-per-epoch", "1", "--plan", str(plan_file), "--device", "cpu",
        "--num-workers", "0", "--val-mode", "patches", *options])


def test_cli_trains_fold_all(sphere_dataset, tiny_plan_file, tmp_path):
    out = tmp_path / "model"
    result = _train_one_step(sphere_dataset, tiny_plan_file, out, "--optimizer", "adamw")
    assert result.exit_code == 0, result.output
    assert (out / "fold_all" / "weights.pt").is_file()
    config = json.loads((out / "fold_all" / "training_config.json").read_text())
    assert len(config["train_cases"]) == 4 and len(config["val_cases"]) == 2
    assert set(config["val_cases"]) <= set(config["train_cases"])
    rows = read_training_log(out / "fold_all" / "training_log.csv")
    assert len(rows) == 1 and rows[0]["val_loss"] is not None
    assert np.isfinite(rows[0]["train_loss"])


def test_cli_trains_a_plain_monai_unet(sphere_dataset, tiny_plan_file, tmp_path):
    out = tmp_path / "unet"
    result = _train_one_step(sphere_dataset, tiny_plan_file, out, "--architecture", "unet")
    assert result.exit_code == 0, result.output
    network, plan, manifest = load_model(out, "all")
    assert isinstance(network, PlainUNet) and plan.network.architecture == "unet"
    assert not plan.network.deep_supervision and manifest.architecture == "UNet"
    # a plan that names the UNet keeps it when --architecture is not given
    unet_plan = tmp_path / "unet_plan.json"
    plan.save(unet_plan)
    kept = _train_one_step(sphere_dataset, unet_plan, tmp_path / "kept")
    assert kept.exit_code == 0, kept.output
    assert isinstance(load_model(tmp_path / "kept", "all")[0], PlainUNet)
    bad = CliRunner().invoke(_cli(), [str(sphere_dataset), "-o", str(tmp_path / "x"),
                                      "--architecture", "vnet"])
    assert isinstance(bad.exception, InputError) and "--architecture" in str(bad.exception)


def test_cli_bad_input_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(_cli(), [str(missing), "-o", str(tmp_path / "m")])
    assert isinstance(result.exception, InputError) and str(missing) in str(result.exception)
    result = CliRunner().invoke(_cli(), [str(tmp_path), "-o", str(tmp_path / "m"),
                                         "--optimizer", "adam"])
    assert isinstance(result.exception, InputError) and "--optimizer" in str(result.exception)


def test_cli_help_has_example():
    result = CliRunner().invoke(_cli(), ["--help"])
    assert "tumorseg train data/abdomen -o models/abdomen --fold 0 --epochs 50" in result.output

"""--resume after kill -9 continues at the saved epoch; a resumed run equals an unbroken one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
import torch

from tests.training.conftest import tiny_config
from tumorseg.models import ModelFolder
from tumorseg.training import TrainingCallback, load_checkpoint, read_training_log, train


def _train_forever(dataset, model_dir, plan_file) -> None:
    torch.set_num_threads(1)
    train(dataset, model_dir, 0, tiny_config(plan_file, epochs=200), "cpu")


def test_resume_after_kill_9(sphere_dataset, tiny_plan_file, tmp_path):
    model_dir = tmp_path / "model"
    folder = ModelFolder(model_dir)
    # a forked child starts at once (torch already imported and warmed up in this process)
    child = multiprocessing.get_context("fork").Process(
        target=_train_forever, args=(sphere_dataset, model_dir, tiny_plan_file), daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not folder.checkpoint_latest(0).exists():
            assert child.is_alive(), f"training died with exit code {child.exitcode}"
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)  # possibly in the middle of the next checkpoint write
    finally:
        child.kill()
        child.join()
    reached = int(load_checkpoint(folder.checkpoint_latest(0))["epoch"])
    assert 1 <= reached < 200
    assert not folder.weights(0).exists()  # training did not finish

    result = train(sphere_dataset, model_dir, 0,
                   tiny_config(tiny_plan_file, epochs=reached + 1), "cpu", resume=True)
    assert result.start_epoch == reached and result.epochs_completed == reached + 1
    epochs = [r["epoch"] for r in read_training_log(folder.training_log(0))]
    assert epochs == list(range(1, reached + 2))  # no duplicate, no gap
    assert folder.weights(0).is_file()
    assert not [p for p in folder.fold_dir(0).iterdir() if ".tmp" in p.name]


class _Crash(TrainingCallback):
    """Simulates a crash right after the first epoch's checkpoint."""

    def on_epoch_end(self, epoch, row):
        raise KeyboardInterrupt


def test_resumed_run_equals_unbroken_run(sphere_dataset, tiny_plan_file, tmp_path):
    config = tiny_config(tiny_plan_file)
    straight = train(sphere_dataset, tmp_path / "a", 0, config, "cpu")
    with pytest.raises(KeyboardInterrupt):
        train(sphere_dataset, tmp_path / "b", 0, config, "cpu", callback=_Crash())
    resumed = train(sphere_dataset, tmp_path / "b", 0, config, "cpu", resume=True)
    assert resumed.start_epoch == 1 and resumed.epochs_completed == 2
    a = torch.load(straight.weights, weights_only=True)
    b = torch.load(resumed.weights, weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows_a, rows_b = read_training_log(straight.log), read_training_log(resumed.log)
    assert [r["train_loss"] for r in rows_a] == [r["train_loss"] for r in rows_b]


def test_resume_without_checkpoint_starts_fresh(sphere_dataset, tiny_plan_file, tmp_path):
    config = tiny_config(tiny_plan_file, epochs=1, iterations_per_epoch=1)
    result = train(sphere_dataset, tmp_path / "m", 0, config, "cpu", resume=True)
    assert result.start_epoch == 0 and result.epochs_completed == 1

"""Two DDP processes on the CPU (Gloo), launched by torchrun, train one tiny epoch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tumorseg.models import ModelFolder, list_folds, load_model
from tumorseg.training import read_training_log


def test_torchrun_two_processes_gloo(sphere_dataset, tiny_plan_file, tmp_path):
    model_dir = tmp_path / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "tumorseg.training.ddp_entry", str(sphere_dataset), "-o", str(model_dir),
           "--fold", "0", "--epochs", "1", "--iterations-per-epoch", "2", "--plan",
           str(tiny_plan_file), "--device", "cpu", "--num-workers", "0"]
    proc = subprocess.run(cmd, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=120, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Grad strides do not match" not in proc.stderr  # channels-last weights fit DDP
    for rank in (0, 1):
        assert f"[rank {rank}] INFO: rank {rank}/2: fold 0" in proc.stderr, proc.stderr[-3000:]
    folder = ModelFolder(model_dir)
    assert list_folds(model_dir) == ["0"]
    config = json.loads(folder.training_config(0).read_text())
    assert config["world_size"] == 2
    assert [r["epoch"] for r in read_training_log(folder.training_log(0))] == [1]
    for path in (folder.plan, folder.splits, folder.checkpoint_latest(0), folder.weights(0)):
        assert path.is_file()
    load_model(model_dir, 0)

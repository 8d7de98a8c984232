"""Checkpoint writes are atomic; unreadable checkpoints are one-line InputErrors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tumorseg.errors import InputError
from tumorseg.training import load_checkpoint, save_checkpoint
from tumorseg.training.checkpoint import capture_rng, remove_stale_temporaries, restore_rng


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint_latest.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(3)}, "epoch": 1})

    def half_write(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_write)
    with pytest.raises(OSError):
        save_checkpoint(path, {"model": {"w": torch.zeros(3)}, "epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint_latest.pt"]


def test_bad_checkpoints_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=str(broken)):
        load_checkpoint(broken)


def test_rng_round_trip():
    state = capture_rng()
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    restore_rng(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a  # noqa: NPY002


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / ".checkpoint_best.pt.abc123.tmp.pt").write_bytes(b"x")
    (tmp_path / "checkpoint_best.pt").write_bytes(b"y")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".checkpoint_best.pt.abc123.tmp.pt"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint_best.pt"]

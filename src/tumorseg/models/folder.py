"""Where each file of a model folder lives (paths only; nothing is read or written here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tumorseg.errors import InputError

__all__ = ["FOLD_ALL", "ModelFolder", "fold_name"]

#: Fold name of a model trained on every case.
FOLD_ALL = "all"


def fold_name(fold: int | str) -> str:
    """Normalise a fold: 0 … 9 (int or digits) → "0" … "9"; "all" → "all".

    Raises:
        InputError: anything else.
    """
    text = str(fold).strip().lower()
    if text == FOLD_ALL or (text.isdigit() and int(text) < 10):
        return str(int(text)) if text.isdigit() else text
    raise InputError(f"fold must be a number 0-4 or 'all', got {fold!r}")


@dataclass(frozen=True)
class ModelFolder:
    """The layout of a model folder (see :mod:`tumorseg.models` for what each file holds)."""

    root: Path

    def __init__(self, root: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def plan(self) -> Path:
        """``plan.json``: the plan the network was trained with."""
        return self.root / "plan.json"

    @property
    def dataset_json(self) -> Path:
        """``dataset.json``: a copy of the training dataset's."""
        return self.root / "dataset.json"

    @property
    def splits(self) -> Path:
        """``splits.json``: the cross-validation split."""
        return self.root / "splits.json"

    @property
    def manifest(self) -> Path:
        """``model.json``: the manifest."""
        return self.root / "model.json"

    @property
    def preprocessed(self) -> Path:
        """``preprocessed/``: the training cache (not needed for inference)."""
        return self.root / "preprocessed"

    def fold_dir(self, fold: int | str) -> Path:
        """``fold_K/``."""
        return self.root / f"fold_{fold_name(fold)}"

    def checkpoint_latest(self, fold: int | str) -> Path:
        """``fold_K/checkpoint_latest.pt``: written atomically after every epoch."""
        return self.fold_dir(fold) / "checkpoint_latest.pt"

    def checkpoint_best(self, fold: int | str) -> Path:
        """``fold_K/checkpoint_best.pt``: the epoch with the best smoothed validation Dice."""
        return self.fold_dir(fold) / "checkpoint_best.pt"

    def weights(self, fold: int | str) -> Path:
        """``fold_K/weights.pt``: the shipped state_dict."""
        return self.fold_dir(fold) / "weights.pt"

    def fold_record(self, fold: int | str) -> Path:
        """``fold_K/fold.json``: the weights' SHA-256 and summary."""
        return self.fold_dir(fold) / "fold.json"

    def training_log(self, fold: int | str) -> Path:
        """``fold_K/training_log.csv``: one row per epoch."""
        return self.fold_dir(fold) / "training_log.csv"

    def training_config(self, fold: int | str) -> Path:
        """``fold_K/training_config.json``: the fold's training configuration and cases."""
        return self.fold_dir(fold) / "training_config.json"

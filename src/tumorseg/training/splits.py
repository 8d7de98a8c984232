"""The cross-validation split: K folds fixed by a seed, saved once in splits.json and reused.

The split is a seeded permutation of the sorted case names cut into K nearly equal parts
(``numpy.array_split``); fold *k* validates on part *k* and trains on the rest (scikit-learn's
shuffled KFold, without scikit-learn). With fewer cases than K, K becomes the number of cases.
Fold "all" trains on every case and validates on ``n_val`` of them chosen by the same seed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io import atomic_write_text
from tumorseg.models import FOLD_ALL, fold_name

__all__ = ["FoldCases", "Splits", "fold_cases", "kfold_splits", "load_or_create_splits"]


@dataclass(frozen=True)
class Splits:
    """A K-fold split of named cases.

    Attributes:
        seed: the permutation seed.
        cases: every case name, sorted.
        folds: per fold, ``(train, val)`` name tuples.
    """

    seed: int
    cases: tuple[str, ...]
    folds: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.folds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``folds`` as nnU-Net's splits_final.json: train/val lists)."""
        return {"seed": self.seed, "n_folds": self.n_folds, "cases": list(self.cases),
                "folds": [{"train": list(t), "val": list(v)} for t, v in self.folds]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Splits:
        """Inverse of :meth:`to_dict`."""
        folds = tuple((tuple(f["train"]), tuple(f["val"])) for f in d["folds"])
        return cls(int(d["seed"]), tuple(d["cases"]), folds)


@dataclass(frozen=True)
class FoldCases:
    """The training and validation cases of one fold (sorted names)."""

    fold: str
    train: tuple[str, ...]
    val: tuple[str, ...]


def kfold_splits(case_names: Sequence[str], n_folds: int = 5, seed: int = 12345) -> Splits:
    """Split ``case_names`` into ``min(n_folds, len)`` folds (see the module docstring).

    Raises:
        InputError: fewer than 2 cases (no validation possible; train fold "all").
    """
    names = sorted(set(case_names))
    if len(names) < 2:
        raise InputError(f"{len(names)} case(s) cannot be split into folds; use fold 'all'")
    k = min(n_folds, len(names))
    perm = np.random.default_rng(seed).permutation(len(names))
    parts = np.array_split(perm, k)
    folds = []
    for part in parts:
        val = sorted(names[i] for i in part)
        train = sorted(n for n in names if n not in set(val))
        folds.append((tuple(train), tuple(val)))
    return Splits(seed, tuple(names), tuple(folds))


def load_or_create_splits(path: str | os.PathLike[str], case_names: Sequence[str],
                          n_folds: int = 5, seed: int = 12345, write: bool = True) -> Splits:
    """The split stored at ``path``, or a new one (written there when ``write``).

    A stored split is reused whatever ``n_folds``/``seed`` say, so every fold of a model uses
    the same split.

    Raises:
        InputError: the stored split is unreadable or lists other cases than ``case_names``.
    """
    p = Path(path)
    names = tuple(sorted(set(case_names)))
    if p.exists():
        try:
            splits = Splits.from_dict(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: unreadable split file ({exc})") from exc
        if splits.cases != names:
            extra = sorted(set(names) - set(splits.cases))
            missing = sorted(set(splits.cases) - set(names))
            raise InputError(f"{p}: the split lists other cases than the dataset "
                             f"(new: {extra[:3]}, gone: {missing[:3]}); use another model folder")
        return splits
    splits = kfold_splits(names, n_folds, seed)
    if write:
        atomic_write_text(p, json.dumps(splits.to_dict(), indent=2) + "\n")
    return splits


def fold_cases(splits: Splits, fold: int | str, n_val_all: int = 2) -> FoldCases:
    """Training and validation cases of ``fold`` ("all": every case, ``n_val_all`` of them
    also validated, chosen by the split seed).

    Raises:
        InputError: a fold number the split does not have.
    """
    name = fold_name(fold)
    if name == FOLD_ALL:
        perm = np.random.default_rng(splits.seed).permutation(len(splits.cases))
        val = sorted(splits.cases[i] for i in perm[: max(0, n_val_all)])
        return FoldCases(name, splits.cases, tuple(val))
    k = int(name)
    if k >= splits.n_folds:
        raise InputError(f"fold {k} does not exist: the split has {splits.n_folds} folds "
                         f"(0-{splits.n_folds - 1}) for {len(splits.cases)} cases")
    train, val = splits.folds[k]
    return FoldCases(name, train, val)

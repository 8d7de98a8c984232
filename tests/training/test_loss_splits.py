"""Deep-supervision loss, K-fold split, poly LR."""

from __future__ import annotations

import json

import pytest
import torch

from tumorseg.errors import InputError
from tumorseg.training import (
    DeepSupervisionLoss,
    deep_supervision_weights,
    fold_cases,
    kfold_splits,
    load_or_create_splits,
    poly_lr,
)


def test_deep_supervision_weights():
    assert deep_supervision_weights(1) == [1.0]
    w = deep_supervision_weights(4)
    assert w == pytest.approx([8 / 14, 4 / 14, 2 / 14, 0.0])
    assert sum(w) == pytest.approx(1.0)


def test_loss_handles_every_level():
    torch.manual_seed(0)
    target = torch.zeros(2, 1, 16, 16, 8, dtype=torch.uint8)
    target[:, :, 4:12, 4:12, 2:6] = 1
    outputs = [torch.randn(2, 2, *s, requires_grad=True)
               for s in [(16, 16, 8), (8, 8, 4), (4, 4, 2), (2, 2, 1)]]
    loss = DeepSupervisionLoss()(outputs, target)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [o.grad for o in outputs]
    assert all(g is not None for g in grads)  # every level is in the graph ...
    assert all(g.abs().sum() > 0 for g in grads[:3]) and grads[3].abs().sum() == 0  # ... last w=0
    perfect = [torch.cat([1 - t, t], 1).float() * 20 - 10 for t in
               [torch.nn.functional.interpolate(target.float(), size=o.shape[2:],
                                                mode="nearest-exact") for o in outputs]]
    assert DeepSupervisionLoss()(perfect, target) < 0.05 < loss
    single = DeepSupervisionLoss()(outputs[0], target)
    assert torch.isfinite(single)


def test_kfold_split_partitions_the_cases():
    names = [f"c{i:02d}" for i in range(13)]
    s = kfold_splits(names, 5, seed=1)
    vals = [set(v) for _, v in s.folds]
    assert s.n_folds == 5 and set().union(*vals) == set(names)
    assert sum(len(v) for v in vals) == 13 and {len(v) for v in vals} == {2, 3}
    for train, val in s.folds:
        assert not set(train) & set(val) and set(train) | set(val) == set(names)
    assert kfold_splits(list(reversed(names)), 5, seed=1) == s  # order-independent
    assert kfold_splits(names, 5, seed=2) != s
    assert kfold_splits(names[:3], 5).n_folds == 3
    with pytest.raises(InputError):
        kfold_splits(names[:1])


def test_split_file_is_fixed_and_reused(tmp_path):
    path = tmp_path / "splits.json"
    names = [f"c{i}" for i in range(10)]
    first = load_or_create_splits(path, names, 5, seed=1)
    text = path.read_text()
    assert load_or_create_splits(path, names, 3, seed=99) == first and path.read_text() == text
    assert json.loads(text)["folds"][0].keys() == {"train", "val"}
    with pytest.raises(InputError, match=str(path)):
        load_or_create_splits(path, [*names, "new"], 5, seed=1)
    assert fold_cases(first, 2).val == first.folds[2][1]
    with pytest.raises(InputError, match="fold 5"):
        fold_cases(first, 5)
    every = fold_cases(first, "all", n_val_all=2)
    assert every.train == tuple(sorted(names)) and len(every.val) == 2


def test_poly_lr():
    assert poly_lr(0.01, 0, 100) == 0.01
    assert poly_lr(0.01, 50, 100, 0.9) == pytest.approx(0.01 * 0.5**0.9)
    assert poly_lr(0.01, 100, 100) == 0.0

"""The network, loss and optimiser learn: the loss drops when over-fitting one tiny case."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tumorseg.models import build_network
from tumorseg.planning import Plan, read_dataset
from tumorseg.training import (
    AugmentationConfig,
    DeepSupervisionLoss,
    PatchDataset,
    TrainingConfig,
    make_loader,
    make_optimizer,
    preprocess_dataset,
)


@pytest.mark.parametrize("architecture", ["dynunet", "unet"])
def test_loss_drops_on_one_case(sphere_dataset, tiny_plan_file, tmp_path, architecture):
    plan = Plan.load(tiny_plan_file)
    plan = replace(plan, network=replace(plan.network, architecture=architecture))
    cache = preprocess_dataset(read_dataset(sphere_dataset), plan, tmp_path / "cache")
    case = next(iter(cache.values()))
    ds = PatchDataset([case], plan.patch_size, AugmentationConfig.off(), 0.5, seed=0)
    batches = iter(make_loader(ds, batch_size=2))
    torch.manual_seed(0)
    net = build_network(plan)
    optimizer = make_optimizer(net.parameters(), TrainingConfig())  # SGD, nnU-Net settings
    loss_fn = DeepSupervisionLoss()
    losses = []
    for _ in range(40):
        batch = next(batches)
        optimizer.zero_grad()
        loss = loss_fn(net(batch["image"]), batch["label"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
        optimizer.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.6 * first, losses

"""Optimiser and learning-rate schedule (nnU-Net: SGD Nesterov with poly decay per epoch)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from tumorseg.training.config import TrainingConfig

__all__ = ["make_optimizer", "poly_lr", "set_lr"]


def make_optimizer(params: Iterable[torch.nn.Parameter], config: TrainingConfig
                   ) -> torch.optim.Optimizer:
    """SGD (Nesterov, ``config.momentum``) or AdamW, with the config's LR and weight decay."""
    lr, wd = config.lr_for(), config.weight_decay_for()
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                           nesterov=True)


def poly_lr(initial: float, epoch: int, epochs: int, exponent: float = 0.9) -> float:
    """``initial * (1 - epoch / epochs) ** exponent`` (epoch counted from 0; never negative)."""
    return initial * max(0.0, 1.0 - epoch / max(epochs, 1)) ** exponent


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr

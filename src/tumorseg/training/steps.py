"""One epoch of optimisation steps (autocast, GradScaler, gradient clipping), and the memory
format the network runs in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import torch

from tumorseg.training.config import TrainingConfig
from tumorseg.training.loss import DeepSupervisionLoss
from tumorseg.training.progress import TrainingCallback

__all__ = ["autocast", "in_memory_format", "train_steps"]


def in_memory_format(network: torch.nn.Module, memory_format: torch.memory_format
                     ) -> torch.nn.Module:
    """``network`` with 5D weights in ``memory_format`` (changed in place and returned);
    1×1×1 kernels stay contiguous (their strides are ambiguous, and DDP warns when the
    gradients' strides differ from the weights')."""
    network = network.to(memory_format=memory_format)
    for param in network.parameters():
        if param.dim() == 5 and tuple(param.shape[2:]) == (1, 1, 1):
            fresh = torch.empty_like(param.data, memory_format=torch.contiguous_format)
            param.data = fresh.copy_(param.data)
    return network


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA when ``amp``; nothing otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def train_steps(model: torch.nn.Module, batches: Iterable[Mapping[str, torch.Tensor]],
                iterations: int, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, loss_fn: DeepSupervisionLoss,
                device: torch.device, config: TrainingConfig, epoch: int = 0,
                memory_format: torch.memory_format = torch.contiguous_format,
                callback: TrainingCallback | None = None) -> list[float]:
    """Run ``iterations`` training steps on batches ``{"image", "label"}``; returns the losses.

    ``scaler`` is a GradScaler (disabled on the CPU); gradients are clipped to
    ``config.grad_clip`` after unscaling; autocast when ``config.amp_for(device)``.
    """
    amp = config.amp_for(device.type)
    model.train()
    losses = []
    stream = iter(batches)
    try:
        for i in range(iterations):
            batch = next(stream)
            image = batch["image"].to(device, non_blocking=True, memory_format=memory_format)
            label = batch["label"].to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, amp):
                outputs = model(image)
            loss = loss_fn(outputs, label)
            scaler.scale(loss).backward()
            if config.grad_clip is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            losses.append(float(loss.detach()))
            if callback is not None:
                callback.on_iteration(epoch, i, losses[-1])
    finally:
        del stream  # stops this epoch's data-loader workers
    return losses

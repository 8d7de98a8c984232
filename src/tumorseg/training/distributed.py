"""PyTorch DDP plumbing for runs launched by ``torchrun`` (RANK / WORLD_SIZE in the environment).

One process per device: NCCL on CUDA (device ``cuda:LOCAL_RANK``), Gloo on the CPU. Rank 0 is
the main process: it preprocesses, validates, writes checkpoints, logs and weights; the others
wait at barriers. Every rank samples its own patch stream (seeded with its rank) with the
plan's batch size, so the global batch is ``batch_size × world_size``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

__all__ = ["DistContext", "all_reduce_mean", "barrier", "init_distributed", "launched_by_torchrun",
           "shutdown"]


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    enabled: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the process that writes files)."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the environment says this is one process of a multi-process launch."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device_type: str, timeout_minutes: float = 120.0) -> DistContext:
    """Join the process group when launched by torchrun; a single-process context otherwise.

    Args:
        device_type: "cuda" (NCCL, one GPU per local rank) or "cpu" (Gloo).
        timeout_minutes: collective timeout (rank 0 may preprocess a big dataset meanwhile).
    """
    if not launched_by_torchrun():
        return DistContext()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=rank,
                                world_size=world, timeout=timedelta(minutes=timeout_minutes))
    return DistContext(rank, world, local, True)


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in a single process)."""
    if ctx.enabled:
        dist.barrier()


def all_reduce_mean(value: float, ctx: DistContext, device: torch.device) -> float:
    """Mean of ``value`` over the ranks (``value`` itself in a single process)."""
    if not ctx.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def shutdown(ctx: DistContext) -> None:
    """Leave the process group."""
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()

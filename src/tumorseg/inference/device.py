"""Choosing the torch device: ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``) or ``"auto"``."""

from __future__ import annotations

import torch

from tumorseg.errors import InputError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else the CPU; ``"cuda"`` must be available.

    Raises:
        InputError: an unknown device name, or CUDA asked for but not available.
    """
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: CUDA is not available on this machine "
                             f"(torch {torch.__version__}); use --device cpu")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} GPU(s)")
        return dev
    raise InputError(f"--device must be cpu, cuda, cuda:N or auto, got {device!r}")

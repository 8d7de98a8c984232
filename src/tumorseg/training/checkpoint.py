"""Training checkpoints: written atomically (temporary file, fsync, rename), RNG included.

A checkpoint is a dict of tensors and plain Python values, so it loads with
``torch.load(weights_only=True)``: ``model``, ``optimizer``, ``scaler`` (state dicts),
``epoch`` (epochs completed), ``rng`` (:func:`capture_rng`), and whatever else the trainer
adds (validation history, log rows, configuration). A kill -9 at any moment leaves either the
previous complete file or the new complete file, never a partial one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tumorseg.errors import InputError
from tumorseg.io import atomic_path

__all__ = ["capture_rng", "load_checkpoint", "remove_stale_temporaries", "restore_rng",
           "save_checkpoint"]


def capture_rng() -> dict[str, Any]:
    """The global RNG states of Python, NumPy, torch (CPU) and the current CUDA device (when
    CUDA is in use)."""
    # the legacy global state is what third-party code (e.g. MONAI) may draw from
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos),
                  int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # the current device only
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (the CUDA state goes to the current device, when CUDA
    is available)."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss,  # noqa: NPY002
                             cached))
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` with ``torch.save`` atomically (see the module docstring)."""
    final = Path(path)
    with atomic_path(final) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
    try:  # make the rename itself durable
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return final


def load_checkpoint(path: str | os.PathLike[str],
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        InputError: missing or unreadable file (one line naming it).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such checkpoint")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a broken file
        raise InputError(f"{p}: unreadable checkpoint ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise InputError(f"{p}: not a tumorseg training checkpoint")
    return state


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files a killed run left in ``folder`` (``.NAME.XXXX.tmp…``, made by
    :func:`tumorseg.io.atomic_path`); returns what was removed. Finished files are never
    touched."""
    removed = []
    root = Path(folder)
    for p in root.glob(".*.tmp*") if root.is_dir() else []:
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed

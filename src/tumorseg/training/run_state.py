"""What a fold's run carries from epoch to epoch, in and out of ``checkpoint_latest.pt``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.training.checkpoint import capture_rng, load_checkpoint, restore_rng
from tumorseg.training.validation import ValidationResult

__all__ = ["CHECKPOINT_FORMAT", "RunState", "log_row"]

#: Version of the checkpoint layout.
CHECKPOINT_FORMAT = 1


@dataclass
class RunState:
    """Progress of one fold (mutable; updated by the trainer after every epoch).

    Attributes:
        epoch: epochs completed.
        rows: training-log rows so far (:mod:`~tumorseg.training.log`).
        ema: smoothed validation Dice; ``best_ema`` its best value, at 1-based ``best_epoch``.
    """

    epoch: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    ema: float | None = None
    best_ema: float | None = None
    best_epoch: int | None = None

    def update_ema(self, dice: float | None, alpha: float) -> bool:
        """Fold the epoch's mean Dice into the EMA (epoch = ``self.epoch``); True when it is
        the best so far."""
        if dice is None:
            return False
        self.ema = dice if self.ema is None else alpha * self.ema + (1 - alpha) * dice
        if self.best_ema is None or self.ema > self.best_ema:
            self.best_ema, self.best_epoch = self.ema, self.epoch
            return True
        return False

    def checkpoint(self, network: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler, fold: str, config: dict[str, Any]
                   ) -> dict[str, Any]:
        """The checkpoint dict (tensors and plain values only: loads with weights_only)."""
        return {"format": CHECKPOINT_FORMAT, "tumorseg_version": __version__, "fold": fold,
                "epoch": self.epoch, "model": network.state_dict(),
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "rng": capture_rng(), "rows": self.rows, "ema": self.ema,
                "best_ema": self.best_ema, "best_epoch": self.best_epoch, "config": config}

    @classmethod
    def restore(cls, path: Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler) -> RunState:
        """Load ``path`` into network, optimizer, scaler and the global RNGs.

        Raises:
            InputError: unreadable, or made for another network or optimiser.
        """
        # on the CPU: RNG states must stay CPU tensors; the optimizer moves its state to the
        # parameters' device itself
        ckpt = load_checkpoint(path, map_location="cpu")
        try:
            network.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: the checkpoint does not fit this network/optimizer "
                             f"({type(exc).__name__})") from exc
        restore_rng(ckpt.get("rng", {}))
        epoch = int(ckpt["epoch"])
        rows = [r for r in ckpt.get("rows", []) if int(r["epoch"]) <= epoch]
        return cls(epoch, rows, ckpt.get("ema"), ckpt.get("best_ema"), ckpt.get("best_epoch"))


def log_row(epoch: int, train_loss: float, val: ValidationResult | None, ema: float | None,
            lr: float, seconds: float, ips: float) -> dict[str, Any]:
    """The training-log row of 0-based ``epoch`` (written as ``epoch + 1``)."""
    row: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss, "lr": lr,
                           "seconds": seconds, "iterations_per_s": ips, "val_dice_ema": ema}
    if val is not None:
        row["val_loss"] = val.loss
        row["val_dice_mean"] = val.mean_dice
        row.update({f"val_dice_{k}": v for k, v in val.dice.items()})
    return row

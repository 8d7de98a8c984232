"""Dice + cross-entropy with deep supervision, as nnU-Net.

Each network output (full resolution first, then lower decoder stages) is compared with the
label map resized to its size (nearest neighbour), with MONAI's :class:`DiceCELoss` (softmax,
one-hot labels, batch Dice over foreground classes, plus cross-entropy). The weights halve per
level, the lowest-resolution output gets weight 0, and they are normalised to sum to 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from monai.losses import DiceCELoss

__all__ = ["DeepSupervisionLoss", "deep_supervision_weights", "downsample_label"]


def deep_supervision_weights(n_outputs: int) -> list[float]:
    """nnU-Net's weights for ``n_outputs`` outputs: ``1/2**i``, the last 0 (when there are
    several), normalised to sum 1. ``deep_supervision_weights(3) == [4/6, 2/6, 0]``."""
    if n_outputs < 1:
        raise ValueError("need at least one output")
    w = [1.0 / 2**i for i in range(n_outputs)]
    if n_outputs > 1:
        w[-1] = 0.0
    total = sum(w)
    return [x / total for x in w]


def downsample_label(label: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize a label map ``[b, 1, i, j, k]`` to spatial ``size`` (nearest, centre-aligned)."""
    if tuple(label.shape[2:]) == tuple(size):
        return label
    return F.interpolate(label.float(), size=tuple(size), mode="nearest-exact").to(label.dtype)


class DeepSupervisionLoss(torch.nn.Module):
    """Weighted Dice + CE over deep-supervision outputs (see the module docstring).

    Args:
        weights: per-output weights; None: :func:`deep_supervision_weights`.
        include_background: count the background class in the Dice term (nnU-Net: no).
        batch_dice: Dice over the whole batch rather than per sample (nnU-Net 3d: yes).
    """

    def __init__(self, weights: Sequence[float] | None = None, include_background: bool = False,
                 batch_dice: bool = True) -> None:
        super().__init__()
        self.weights = None if weights is None else [float(w) for w in weights]
        self.dice_ce = DiceCELoss(include_background=include_background, to_onehot_y=True,
                                  softmax=True, batch=batch_dice)

    def forward(self, outputs: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor
                ) -> torch.Tensor:
        """Loss of logits ``[b, classes, …]`` (one tensor or a list, full resolution first)
        against integer labels ``[b, 1, i, j, k]``; computed in float32."""
        outs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
        weights = self.weights or deep_supervision_weights(len(outs))
        if len(weights) != len(outs):
            raise ValueError(f"{len(weights)} weights for {len(outs)} outputs")
        total = outs[0].new_zeros((), dtype=torch.float32)
        for out, w in zip(outs, weights, strict=True):
            if w == 0:  # keep the head in the graph (DDP expects every parameter to get a grad)
                total = total + 0.0 * out.float().mean()
                continue
            lab = downsample_label(target, out.shape[2:]).long()
            total = total + w * self.dice_ce(out.float(), lab)
        return total

"""Uncertainty from the mean softmax of an ensemble (folds × mirrored copies).

**Voxel map**: the entropy of the mean class probabilities ``p̄`` (mean over every fold and
every mirrored copy), **normalised to [0, 1]** by dividing by ``log(n_classes)``:

    u = -Σ_c p̄_c log p̄_c / log C

0 where all members agree on a one-hot output; 1 where the mean is uniform over the classes
(e.g. two members, one-hot and disagreeing, with C = 2). Multiply by ``log C`` for nats.

**Per-case scores** (:class:`CaseUncertainty`):

* ``mean_entropy_foreground``: the mean of ``u`` over the predicted foreground (None when
  nothing is segmented);
* ``self_consistency_dice``: the soft Dice between the foreground probability ``1 - p̄_0``
  and the predicted foreground mask, ``2 Σ p·m / (Σ p + Σ m)`` — the Dice the prediction
  would get against a reference drawn from its own probabilities (1 when the model is
  certain; 1 when both sums are 0). It measures how sure the model is of its own mask,
  **not accuracy**: a lesion the model missed with confidence leaves it at 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["CaseUncertainty", "case_uncertainty", "entropy_map"]

_EPS = 1e-12


def entropy_map(probabilities: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Entropy over the class axis of channel-first probabilities [c, i, j, k].

    Args:
        probabilities: class probabilities summing to 1 over axis 0 (float).
        normalize: divide by ``log(c)`` so the result lies in [0, 1]; else nats.

    Returns:
        float32 [i, j, k]. Computed one channel at a time (memory: two [i, j, k] arrays).
    """
    probs = np.asarray(probabilities)
    if probs.ndim != 4:
        raise ValueError(f"probabilities must be [c, i, j, k], got shape {probs.shape}")
    n = probs.shape[0]
    out = np.zeros(probs.shape[1:], dtype=np.float32)
    if n < 2:
        return out
    for c in range(n):
        p = probs[c].astype(np.float32, copy=False)
        out -= p * np.log(np.maximum(p, _EPS))
    if normalize:
        out /= np.float32(math.log(n))
    np.clip(out, 0.0, None if not normalize else 1.0, out=out)
    return out


@dataclass(frozen=True)
class CaseUncertainty:
    """Per-case uncertainty scores (see the module docstring).

    Attributes:
        mean_entropy_foreground: mean normalised entropy (0–1) inside the predicted
            foreground, or None when nothing is segmented.
        self_consistency_dice: soft Dice of the foreground probability against the predicted
            mask (the model's certainty, not its accuracy).
        mean_entropy: mean normalised entropy over the whole volume.
        foreground_voxels: size of the predicted foreground in voxels.
    """

    mean_entropy_foreground: float | None
    self_consistency_dice: float
    mean_entropy: float
    foreground_voxels: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def case_uncertainty(probabilities: np.ndarray, labels: np.ndarray,
                     entropy: np.ndarray | None = None) -> CaseUncertainty:
    """Per-case scores from probabilities [c, i, j, k], the label map [i, j, k] and,
    optionally, the precomputed :func:`entropy_map`."""
    probs = np.asarray(probabilities)
    fg = np.asarray(labels) != 0
    ent = entropy_map(probs) if entropy is None else np.asarray(entropy)
    n_fg = int(fg.sum())
    p_fg = np.float32(1.0) - probs[0].astype(np.float32, copy=False)
    overlap = float(p_fg[fg].sum(dtype=np.float64))
    denom = float(p_fg.sum(dtype=np.float64)) + n_fg
    return CaseUncertainty(
        mean_entropy_foreground=float(ent[fg].mean()) if n_fg else None,
        self_consistency_dice=1.0 if denom == 0 else 2.0 * overlap / denom,
        mean_entropy=float(ent.mean(dtype=np.float64)),
        foreground_voxels=n_fg,
    )

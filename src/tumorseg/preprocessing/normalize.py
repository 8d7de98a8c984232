"""Per-channel intensity normalisation, as pure functions of arrays.

Schemes (chosen per channel by :mod:`tumorseg.planning.plan`, applied here):

``"ct"``
    nnU-Net's CTNormalization: clip to the dataset's foreground 0.5 and 99.5 percentiles,
    then subtract the foreground mean and divide by the foreground std (all from the
    fingerprint, so HU keep one meaning across cases).
``"zscore"``
    per-volume z-score: ``(x - mean(x)) / std(x)``; with ``use_nonzero_mask`` the statistics
    come from the nonzero region only and voxels outside it are set to 0 (nnU-Net's
    ZScoreNormalization with ``use_mask_for_norm``).
``"suv"``
    PET kept on its SUV scale (values unchanged, as float32), so that the network sees
    absolute uptake, which a per-volume z-score would remove.
``"none"``
    values unchanged (as float32).

Every function returns a new float32 array and leaves its input untouched. Arrays are
[i, j, k] (one channel) or channel-first [c, i, j, k].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "SCHEMES",
    "ChannelNormalization",
    "Scheme",
    "ct_normalize",
    "normalize",
    "normalize_channel",
    "zscore_normalize",
]

Scheme = Literal["ct", "zscore", "suv", "none"]
SCHEMES: tuple[str, ...] = ("ct", "zscore", "suv", "none")

_EPS = 1e-8


@dataclass(frozen=True)
class ChannelNormalization:
    """How to normalise one input channel.

    Attributes:
        channel: the channel name from dataset.json (e.g. "CT", "T2", "PET").
        scheme: one of :data:`SCHEMES` (see the module docstring).
        use_nonzero_mask: z-score statistics from the nonzero region only ("zscore").
        clip_low, clip_high: clipping bounds in input units (HU for CT), for "ct".
        mean, std: foreground mean and standard deviation after nothing else, for "ct".
    """

    channel: str
    scheme: Scheme
    use_nonzero_mask: bool = False
    clip_low: float | None = None
    clip_high: float | None = None
    mean: float | None = None
    std: float | None = None

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown normalisation scheme {self.scheme!r} "
                             f"(expected one of {', '.join(SCHEMES)})")
        if self.scheme == "ct" and None in (self.clip_low, self.clip_high, self.mean, self.std):
            raise ValueError("CT normalisation needs clip_low, clip_high, mean and std")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChannelNormalization:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


def ct_normalize(image: np.ndarray, clip_low: float, clip_high: float,
                 mean: float, std: float) -> np.ndarray:
    """Clip ``image`` to ``[clip_low, clip_high]`` then ``(x - mean) / std`` (float32)."""
    out = np.clip(np.asarray(image, dtype=np.float32), clip_low, clip_high)
    out -= np.float32(mean)
    out /= np.float32(max(std, _EPS))
    return out


def zscore_normalize(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-volume z-score (float32); with ``mask``, statistics inside it and 0 outside.

    An empty mask falls back to the whole volume. Statistics are computed in float64.
    """
    out = np.asarray(image, dtype=np.float32).copy()
    if mask is not None and mask.any() and not mask.all():
        values = out[mask].astype(np.float64)
        mean, std = float(values.mean()), float(values.std())
        out[mask] = (out[mask] - mean) / max(std, _EPS)
        out[~mask] = 0
        return out
    mean, std = float(out.mean(dtype=np.float64)), float(out.std(dtype=np.float64))
    out -= np.float32(mean)
    out /= np.float32(max(std, _EPS))
    return out


def normalize_channel(image: np.ndarray, norm: ChannelNormalization,
                      nonzero_mask: np.ndarray | None = None) -> np.ndarray:
    """Apply ``norm`` to one channel [i, j, k]; ``nonzero_mask`` is used by "zscore" only."""
    if norm.scheme == "ct":
        return ct_normalize(image, norm.clip_low, norm.clip_high,  # type: ignore[arg-type]
                            norm.mean, norm.std)  # type: ignore[arg-type]
    if norm.scheme == "zscore":
        return zscore_normalize(image, nonzero_mask if norm.use_nonzero_mask else None)
    return np.array(image, dtype=np.float32, copy=True)


def normalize(array: np.ndarray, norms: Sequence[ChannelNormalization],
              nonzero_mask: np.ndarray | None = None) -> np.ndarray:
    """Normalise every channel of ``array`` ([c, i, j, k], or [i, j, k] for one channel).

    Returns a new float32 array of the same shape.
    """
    array = np.asarray(array)
    channels = array[None] if array.ndim == 3 else array
    if len(norms) != channels.shape[0]:
        raise ValueError(f"{len(norms)} normalisations for {channels.shape[0]} channels")
    out = np.empty(channels.shape, dtype=np.float32)
    for c, norm in enumerate(norms):
        out[c] = normalize_channel(channels[c], norm, nonzero_mask)
    return out[0] if array.ndim == 3 else out

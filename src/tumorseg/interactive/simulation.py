"""Training-time click simulation for the guided network.

One training sample is a patch ``[i, j, k]`` on the model grid with a *target* (the lesion the
user means) and optionally *other* lesions. Its prompts are simulated the way a user (or the
standard click robot) would give them:

1. **first clicks** inside the target: 1…``max_first_clicks`` positive clicks, each either
   centre-weighted (a voxel drawn with probability ∝ its distance to the border, squared) or
   uniformly random inside the target (mix set by ``p_center``); optionally a few negative
   clicks in a ring around it (else the negative channel stays empty: ``p_empty_negative``);
2. **error-driven clicks** (:func:`error_click`): with the current model run without gradients
   on the batch, a click at the centre (farthest-inside point, in mm) of the largest error
   region — positive for a missed part, negative for a false positive — repeated 0…k times
   per batch (:func:`add_error_clicks`), the model's own prediction becoming the prior;
3. **prior channel**: dropped (zeros) with ``p_drop_prior``, else a perturbed target (random
   erosion/dilation and shift) or a box around the target (:func:`~.guidance.encode_box`);
4. **other lesions** in the patch go into the negative channel with ``p_others_negative`` (the
   session does the same: existing lesions are negative constraints).

Points are voxel indices of the patch. Everything random comes from the Generator passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.interactive.guidance import GuidanceConfig, encode_box, encode_clicks
from tumorseg.interactive.model import guide_image

__all__ = [
    "ClickSample",
    "SimulationConfig",
    "add_error_clicks",
    "error_click",
    "first_clicks",
    "guidance_channels",
    "simulate_prompts",
]

Point = tuple[float, float, float]


@dataclass(frozen=True)
class SimulationConfig:
    """Probabilities and counts of the click simulation (see the module docstring)."""

    max_first_clicks: int = 2
    p_center: float = 0.5
    p_negative: float = 0.3
    max_first_negative: int = 2
    p_drop_prior: float = 0.6
    p_box_prior: float = 0.15
    p_others_negative: float = 0.7
    max_error_iterations: int = 3
    p_error_iterations: float = 0.6

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimulationConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class ClickSample:
    """The prompts of one training patch (mutable: error-driven clicks are appended).

    Attributes:
        image: normalised patch channels ``[c, i, j, k]`` (float32; ``[i, j, k]`` for one).
        target: the lesion to segment, bool ``[i, j, k]``.
        others: other lesions in the patch, bool ``[i, j, k]``.
        positive, negative: click positions (voxel indices of the patch).
        prior: prior mask (float32 0/1 or soft box) or None.
        others_negative: whether ``others`` go into the negative channel.
    """

    image: np.ndarray
    target: np.ndarray
    others: np.ndarray
    positive: list[Point] = field(default_factory=list)
    negative: list[Point] = field(default_factory=list)
    prior: np.ndarray | None = None
    others_negative: bool = True


def _edt(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    return ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]


def _pick(mask: np.ndarray, weights: np.ndarray | None, rng: np.random.Generator) -> Point:
    idx = np.flatnonzero(mask)
    if weights is None:
        flat = int(rng.choice(idx))
    else:
        w = weights.ravel()[idx].astype(np.float64)
        flat = int(rng.choice(idx, p=w / w.sum())) if w.sum() > 0 else int(rng.choice(idx))
    return tuple(float(v) for v in np.unravel_index(flat, mask.shape))  # type: ignore[return-value]


def first_clicks(target: np.ndarray, spacing: Sequence[float], config: SimulationConfig,
                 rng: np.random.Generator) -> tuple[list[Point], list[Point]]:
    """Initial positive (inside ``target``) and negative (ring around it) clicks."""
    if not target.any():
        return [], []
    dist = _edt(target, spacing)
    positive = []
    for _ in range(int(rng.integers(1, config.max_first_clicks + 1))):
        weights = dist**2 if rng.random() < config.p_center else None
        positive.append(_pick(target, weights, rng))
    negative: list[Point] = []
    if rng.random() < config.p_negative:
        ring = ndimage.binary_dilation(target, iterations=4) & ~target
        for _ in range(int(rng.integers(1, config.max_first_negative + 1))):
            if ring.any():
                negative.append(_pick(ring, None, rng))
    return positive, negative


def _perturbed(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = target
    step = int(rng.integers(-2, 3))
    if step > 0:
        out = ndimage.binary_dilation(out, iterations=step)
    elif step < 0:
        eroded = ndimage.binary_erosion(out, iterations=-step)
        out = eroded if eroded.any() else out
    shift = rng.integers(-2, 3, 3)
    return np.roll(out, tuple(int(s) for s in shift), axis=(0, 1, 2)).astype(np.float32)


def _box_prior(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    coords = np.argwhere(target)
    lo, hi = coords.min(0).astype(float), coords.max(0).astype(float)
    jitter = rng.uniform(-2, 2, (2, 3))
    return encode_box(target.shape, lo + jitter[0], hi + jitter[1])


def simulate_prompts(image: np.ndarray, target: np.ndarray, others: np.ndarray,
                     spacing: Sequence[float], config: SimulationConfig,
                     rng: np.random.Generator) -> ClickSample:
    """First clicks, prior and the others-as-negative choice for one patch."""
    positive, negative = first_clicks(target, spacing, config, rng)
    prior = None
    if target.any() and rng.random() >= config.p_drop_prior:
        prior = _box_prior(target, rng) if rng.random() < config.p_box_prior \
            else _perturbed(target, rng)
    return ClickSample(image=image, target=target, others=others, positive=positive,
                       negative=negative, prior=prior,
                       others_negative=bool(rng.random() < config.p_others_negative))


def guidance_channels(sample: ClickSample, spacing: Sequence[float],
                      guidance: GuidanceConfig) -> np.ndarray:
    """The network input ``[c + 3, i, j, k]``: image channel(s), positive, negative (with other
    lesions when ``others_negative``), prior. The adaptive guidance grows on
    :func:`~tumorseg.interactive.model.guide_image`."""
    image = sample.image if sample.image.ndim == 4 else sample.image[None]
    guide = guide_image(image)
    shape = guide.shape
    pos = encode_clicks(shape, spacing, sample.positive, guidance, guide)
    neg = encode_clicks(shape, spacing, sample.negative, guidance, guide)
    if sample.others_negative and sample.others.any():
        np.maximum(neg, sample.others.astype(np.float32), out=neg)
    prior = np.zeros(shape, np.float32) if sample.prior is None else sample.prior
    return np.concatenate([image, np.stack([pos, neg, prior])]).astype(np.float32)


def error_click(prediction: np.ndarray, target: np.ndarray, spacing: Sequence[float]
                ) -> tuple[Point, bool] | None:
    """The next click: centre of the largest error region, positive for a miss.

    Args:
        prediction: bool mask ``[i, j, k]``; target: the wanted bool mask.
        spacing: voxel size in mm (distances are measured in mm).

    Returns:
        ``((i, j, k), positive)`` at the voxel of the largest error component farthest from
        its border, or None when prediction equals target.
    """
    fn = target & ~prediction
    fp = prediction & ~target
    best: tuple[int, np.ndarray, bool] | None = None
    for err, positive in ((fn, True), (fp, False)):
        if not err.any():
            continue
        labels, _n = cc3d.connected_components(err.astype(np.uint8), connectivity=6,
                                              return_N=True)
        sizes = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(sizes))
        if best is None or sizes[k] > best[0]:
            best = (int(sizes[k]), labels == k + 1, positive)
    if best is None:
        return None
    _, region, positive = best
    dist = _edt(region, spacing)
    point = np.unravel_index(int(np.argmax(dist)), region.shape)
    return (float(point[0]), float(point[1]), float(point[2])), positive


def add_error_clicks(samples: list[ClickSample], predict: Callable[[np.ndarray], np.ndarray],
                     spacing: Sequence[float], guidance: GuidanceConfig, iterations: int,
                     ) -> np.ndarray:
    """Run ``iterations`` rounds of error-driven clicks on a batch, in place.

    Args:
        samples: the batch (their clicks and priors are updated).
        predict: batch input ``[b, c + 3, i, j, k]`` → probability ``[b, i, j, k]`` (no grad).
        spacing, guidance: model grid spacing and click encoding.
        iterations: rounds (0 returns the first-click input).

    Returns:
        The final batch input ``[b, c + 3, i, j, k]``.
    """
    batch = np.stack([guidance_channels(s, spacing, guidance) for s in samples])
    for _ in range(iterations):
        prob = predict(batch)
        for s, p in zip(samples, prob, strict=True):
            pred = p > 0.5
            click = error_click(pred, s.target, spacing)
            s.prior = pred.astype(np.float32)
            if click is not None:
                (s.positive if click[1] else s.negative).append(click[0])
        batch = np.stack([guidance_channels(s, spacing, guidance) for s in samples])
    return batch

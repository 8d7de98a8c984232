"""Edge-aware refinement of the guided network's probability: a random walker on the same ROI.

The small guided network tends to predict a compact blob around a click, and under-segments
large lesions; a random walker (Grady 2006, scikit-image) follows the image's edges but knows
nothing about lesions. :func:`refine_probability` averages the two on the model-grid ROI the
network saw — the same idea as the CRF / graph refinement after the network in DeepIGeoS and
BIFSeg (Wang et al. 2018):

``p = network_weight · p_network + (1 − network_weight) · p_walker``

The walker's seeds come from the guidance channels the network got, so nothing else has to be
passed: lesion seeds where the positive guidance is at least ``seed_level`` (the core of each
positive click's guidance: within ≈ 3.6 mm for the adaptive encoding's ``exp(−d / 10 mm)``),
background seeds where the negative guidance is (negative clicks, and other lesions, which the
session puts in that channel as 1) and on the six faces of the ROI. The image is the network's
guide channel (:func:`~tumorseg.interactive.model.guide_image`) scaled to [0, 1] between its
0.5th and 99.5th percentiles; ``beta`` sets how strongly edges stop the walk (scikit-image
divides it by 10 × the image's standard deviation, so it is scale-free).

The weight, ``beta`` and ``seed_level`` were chosen on validation phantoms (seed 99), never on
test or real scans; ``benchmarks/RESULTS.md`` has the table. All arrays are ``[i, j, k]`` on
the model grid.

The walk runs with one BLAS thread (:func:`~tumorseg.interactive.baselines.walk`): with
OpenBLAS's two threads, a server beside a browser took 1.77 s per click instead of 0.27 s
(``bench_web_latency.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from tumorseg.interactive.baselines import scale_to_unit, walk

__all__ = ["REFINEMENT_METHODS", "RefinementConfig", "override", "refine_probability",
           "walker_probability"]

REFINEMENT_METHODS = ("none", "random-walker")


@dataclass(frozen=True)
class RefinementConfig:
    """How :func:`refine_probability` works (see the module docstring).

    Attributes:
        method: ``"none"`` (the network's probability unchanged) or ``"random-walker"``.
        network_weight: share of the network's probability in the average, in [0, 1].
        beta: the random walker's edge sensitivity (scikit-image ``beta``).
        seed_level: guidance value from which a voxel is a seed.
        tol: conjugate-gradient tolerance of the walker.
    """

    method: Literal["none", "random-walker"] = "none"
    network_weight: float = 0.3
    beta: float = 5000.0
    seed_level: float = 0.7
    tol: float = 1e-2

    def __post_init__(self) -> None:
        if self.method not in REFINEMENT_METHODS:
            raise ValueError(f"unknown refinement {self.method!r} (known: "
                             f"{', '.join(REFINEMENT_METHODS)})")
        if not 0.0 <= self.network_weight <= 1.0:
            raise ValueError(f"network_weight must be in [0, 1], got {self.network_weight}")
        if self.beta <= 0 or not 0.0 < self.seed_level <= 1.0:
            raise ValueError("beta must be > 0 and seed_level in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RefinementConfig:
        """Inverse of :meth:`to_dict`; None or {} (model folders from before refinement
        existed) gives ``method="none"``."""
        d = d or {}
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def override(name: str) -> RefinementConfig | None:
    """A refinement chosen by name for ``InteractiveModel.load(refinement=...)``: "model"
    (None: keep the model folder's), or one of :data:`REFINEMENT_METHODS` with the default
    parameters.

    Raises:
        ValueError: an unknown name.
    """
    return None if name == "model" else RefinementConfig(method=name)  # type: ignore[arg-type]


def walker_probability(image: np.ndarray, pos: np.ndarray, neg: np.ndarray,
                       config: RefinementConfig) -> np.ndarray | None:
    """The random walker's lesion probability on the ROI (float32 ``[i, j, k]``), or None
    when there is no lesion seed (no positive guidance reaches ``seed_level``)."""
    markers = np.zeros(image.shape, np.int32)
    markers[neg >= config.seed_level] = 2
    markers[pos >= config.seed_level] = 1  # a click wins over what it overlaps
    if not (markers == 1).any():
        return None
    border = np.ones(image.shape, bool)
    border[1:-1, 1:-1, 1:-1] = False
    markers[border & (markers == 0)] = 2
    prob = walk(scale_to_unit(np.asarray(image, np.float64), np.float64), markers,
                config.beta, "cg_j", config.tol, full_prob=True)
    return np.clip(prob[0], 0.0, 1.0).astype(np.float32)


def refine_probability(prob: np.ndarray, image: np.ndarray, pos: np.ndarray,
                       neg: np.ndarray, config: RefinementConfig) -> np.ndarray:
    """The network's probability ``prob`` refined by ``config`` (float32, same shape).

    Args:
        prob: the network's lesion probability ``[i, j, k]``.
        image: the guide image the adaptive guidance grew on, ``[i, j, k]``.
        pos, neg: the positive / negative guidance channels the network got.
        config: the refinement; ``method="none"`` returns ``prob`` unchanged.
    """
    if config.method == "none":
        return prob
    walker = walker_probability(image, pos, neg, config)
    if walker is None:  # e.g. a box prompt alone: nothing to seed the walk with
        return prob
    w = np.float32(config.network_weight)
    return (w * prob + (1 - w) * walker).astype(np.float32)

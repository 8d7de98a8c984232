"""Domain randomisation for the class- and modality-agnostic interactive model.

The guided network should segment "the blob under the click" whatever the scanner, contrast or
organ. Each training patch (one image channel ``[i, j, k]`` plus its label regions) gets a
random appearance:

* **per-tissue intensity mapping**: the patch is split into tissues — its label regions and
  intensity-quantile classes of the rest — and each tissue gets its own random gain and
  offset (so the lesion may become brighter or darker than its surroundings, as between CT,
  T1, T2 or PET), softened at tissue borders;
* **a random monotone or non-monotone intensity curve** (random piecewise-linear map of the
  normalised intensities), and **contrast inversion**;
* **bias field** (MONAI ``RandBiasField``), **Gaussian noise**, **blur**
  (``RandGaussianSmooth``) and **resolution change** (``RandSimulateLowResolution``).

Every draw comes from the ``numpy.random.Generator`` passed in (reproducible). The output is a
new float32 array; the input is not modified.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from monai.transforms import RandBiasField, RandGaussianSmooth, RandSimulateLowResolution
from scipy import ndimage

__all__ = ["RandomizationConfig", "randomize_appearance"]


@dataclass(frozen=True)
class RandomizationConfig:
    """Probabilities and ranges of :func:`randomize_appearance`.

    Attributes:
        p_tissue: probability of the per-tissue intensity mapping.
        n_intensity_classes: intensity-quantile tissue classes outside the labels.
        p_curve: probability of a random piecewise-linear intensity curve.
        p_nonmonotone: given a curve, probability that it is non-monotone.
        p_invert: probability of contrast inversion.
        p_bias: probability of a multiplicative bias field.
        p_noise: probability of Gaussian noise; ``noise_std``: its σ range (in patch σ units).
        p_blur: probability of Gaussian blur; ``blur_sigma``: σ range in voxels.
        p_lowres: probability of simulated low resolution; ``lowres_zoom``: zoom range.
    """

    p_tissue: float = 0.6
    n_intensity_classes: int = 4
    p_curve: float = 0.4
    p_nonmonotone: float = 0.3
    p_invert: float = 0.25
    p_bias: float = 0.3
    p_noise: float = 0.5
    noise_std: tuple[float, float] = (0.0, 0.25)
    p_blur: float = 0.25
    blur_sigma: tuple[float, float] = (0.5, 1.2)
    p_lowres: float = 0.2
    lowres_zoom: tuple[float, float] = (0.5, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RandomizationConfig:
        """Inverse of :meth:`to_dict`."""
        d = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()
             if k in cls.__dataclass_fields__}
        return cls(**d)


def _standardise(x: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(x, [0.5, 99.5])
    x = np.clip(x, lo, hi)
    return ((x - x.mean()) / (x.std() + 1e-6)).astype(np.float32)


def _tissue_map(image: np.ndarray, regions: np.ndarray | None, n_classes: int,
                rng: np.random.Generator) -> np.ndarray:
    edges = np.quantile(image, np.linspace(0, 1, n_classes + 1)[1:-1])
    tissue = np.digitize(image, edges).astype(np.int32)
    if regions is not None:
        tissue = np.where(regions > 0, n_classes + regions.astype(np.int32), tissue)
    n = int(tissue.max()) + 1
    gain = rng.uniform(0.3, 1.7, n).astype(np.float32)
    offset = rng.normal(0.0, 1.2, n).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ndimage.mean(image, tissue, index=np.arange(n))
    mean = np.nan_to_num(np.asarray(mean, dtype=np.float32))
    # each tissue keeps its texture (x - mean) scaled, and moves to a new random level
    level = gain[tissue] * (image - mean[tissue]) + mean[tissue] * rng.uniform(-0.5, 1.0) \
        + offset[tissue]
    shift = ndimage.gaussian_filter(level - image, sigma=0.7)
    return (image + shift).astype(np.float32)


def _curve(image: np.ndarray, nonmonotone: bool, rng: np.random.Generator) -> np.ndarray:
    knots_x = np.linspace(-3.0, 3.0, 6)
    if nonmonotone:
        knots_y = rng.normal(0.0, 1.0, knots_x.size)
    else:
        knots_y = np.cumsum(rng.uniform(0.05, 1.0, knots_x.size))
    return np.interp(image, knots_x, knots_y).astype(np.float32)


def randomize_appearance(image: np.ndarray, regions: np.ndarray | None,
                         config: RandomizationConfig, rng: np.random.Generator) -> np.ndarray:
    """A randomly re-styled copy of ``image`` (see the module docstring).

    Args:
        image: one channel ``[i, j, k]`` (any intensity scale).
        regions: integer label regions ``[i, j, k]`` (0 = none) whose intensities are mapped
            independently, or None.
        config: probabilities and ranges.
        rng: the random generator (all randomness comes from it).

    Returns:
        A new float32 array of the same shape, roughly zero-mean and unit-variance.
    """
    x = _standardise(np.asarray(image, dtype=np.float32))
    if rng.random() < config.p_tissue:
        x = _standardise(_tissue_map(x, regions, config.n_intensity_classes, rng))
    if rng.random() < config.p_curve:
        x = _standardise(_curve(x, rng.random() < config.p_nonmonotone, rng))
    if rng.random() < config.p_invert:
        x = -x
    seed = int(rng.integers(0, 2**31 - 1))
    t = torch.from_numpy(np.ascontiguousarray(x))[None]
    if rng.random() < config.p_bias:
        bias = RandBiasField(prob=1.0, coeff_range=(0.1, 0.4))
        bias.set_random_state(seed)
        t = torch.as_tensor(bias(t - t.min() + 1.0))  # multiplicative field on a positive image
    if rng.random() < config.p_blur:
        s = config.blur_sigma
        blur = RandGaussianSmooth(sigma_x=s, sigma_y=s, sigma_z=s, prob=1.0)
        blur.set_random_state(seed + 1)
        t = torch.as_tensor(blur(t))
    if rng.random() < config.p_lowres:
        low = RandSimulateLowResolution(prob=1.0, zoom_range=config.lowres_zoom)
        low.set_random_state(seed + 2)
        t = torch.as_tensor(low(t))
    x = _standardise(np.asarray(t[0], dtype=np.float32))
    if rng.random() < config.p_noise:
        x = x + rng.normal(0.0, rng.uniform(*config.noise_std), x.shape).astype(np.float32)
    return x.astype(np.float32)

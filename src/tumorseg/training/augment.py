"""Training-time augmentation as MONAI dictionary transforms on ``{"image", "label"}``.

Order as nnU-Net: spatial (rotation + scaling, or elastic; one resampling which also crops
the context region back to the patch) → Gaussian noise → Gaussian blur → intensity scale →
intensity shift → gamma → simulated low resolution → mirroring of each axis. Spatial
transforms and mirroring move image and label together (image trilinear, label nearest);
the intensity transforms touch the image only.

``image`` is float32 ``[c, i, j, k]`` and ``label`` ``[1, i, j, k]`` (any numeric dtype) cut
from the volume with :func:`tumorseg.training.patches.region_size` context; the output has
the patch's size. Everything random comes from one seed (:meth:`Augmenter.set_seed`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from monai.transforms import (
    CenterSpatialCropd,
    Compose,
    OneOf,
    Rand3DElasticd,
    RandAdjustContrastd,
    RandAffined,
    RandFlipd,
    RandGaussianNoised,
    RandGaussianSmoothd,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSimulateLowResolutiond,
)

from tumorseg.training.config import AugmentationConfig
from tumorseg.training.patches import region_size

__all__ = ["ANISOTROPY_RATIO", "Augmenter", "rotation_degrees"]

#: A patch whose longest/shortest edge (voxels) exceeds this is rotated in-plane only.
ANISOTROPY_RATIO = 3.0

_KEYS = ("image", "label")


def rotation_degrees(patch_size: Sequence[int], config: AugmentationConfig
                     ) -> tuple[float, float, float]:
    """Maximum rotation (degrees) about axes i, j, k: all three for a roughly isotropic patch,
    only about the shortest patch axis (the thick-slice one) for an anisotropic patch."""
    if not (config.enabled and config.p_spatial > 0 and config.rotation_deg > 0):
        return (0.0, 0.0, 0.0)
    patch = np.asarray(patch_size, dtype=float)
    if patch.max() / patch.min() > ANISOTROPY_RATIO:
        out = [0.0, 0.0, 0.0]
        out[int(np.argmin(patch))] = config.rotation_deg
        return (out[0], out[1], out[2])
    return (config.rotation_deg,) * 3  # type: ignore[return-value]


class Augmenter:
    """The augmentation pipeline for one patch size (see the module docstring).

    Attributes:
        patch_size: output spatial size (voxels).
        region: input spatial size to cut around each patch (voxels, ≥ ``patch_size``).
    """

    def __init__(self, patch_size: Sequence[int], config: AugmentationConfig) -> None:
        self.patch_size = tuple(int(p) for p in patch_size)
        self.config = config
        rotation = rotation_degrees(self.patch_size, config)
        spatial_on = config.enabled and config.p_spatial > 0 and (
            any(rotation) or config.scale > 0 or config.elastic)
        scale = config.scale if spatial_on else 0.0
        self.region = region_size(self.patch_size, rotation, scale) if spatial_on \
            else self.patch_size
        transforms: list = [self._spatial(rotation, scale) if spatial_on else
                            CenterSpatialCropd(_KEYS, roi_size=self.patch_size)]
        if config.enabled:
            transforms += self._intensity()
            if config.mirror:
                transforms += [RandFlipd(_KEYS, prob=0.5, spatial_axis=a) for a in range(3)]
        self.compose = Compose(transforms)

    def _spatial(self, rotation: tuple[float, float, float], scale: float) -> object:
        c = self.config
        rot = tuple((-math.radians(d), math.radians(d)) for d in rotation)
        common = {"keys": _KEYS, "prob": 1.0, "spatial_size": self.patch_size,
                  "mode": ("bilinear", "nearest"), "padding_mode": "zeros",
                  "rotate_range": rot, "scale_range": (scale, scale, scale)}
        if c.elastic:
            warp = Rand3DElasticd(sigma_range=c.elastic_sigma,
                                  magnitude_range=c.elastic_magnitude, **common)
        else:
            warp = RandAffined(cache_grid=True, **common)
        crop = CenterSpatialCropd(_KEYS, roi_size=self.patch_size)
        if c.p_spatial >= 1:
            return warp
        return OneOf([warp, crop], weights=[c.p_spatial, 1.0 - c.p_spatial])

    def _intensity(self) -> list:
        c = self.config
        return [
            RandGaussianNoised("image", prob=c.p_noise, std=c.noise_std),
            RandGaussianSmoothd("image", sigma_x=c.blur_sigma, sigma_y=c.blur_sigma,
                                sigma_z=c.blur_sigma, prob=c.p_blur),
            RandScaleIntensityd("image", factors=c.intensity_scale, prob=c.p_intensity_scale),
            RandShiftIntensityd("image", offsets=c.intensity_shift, prob=c.p_intensity_shift),
            RandAdjustContrastd("image", prob=c.p_gamma, gamma=c.gamma, retain_stats=True),
            RandSimulateLowResolutiond("image", prob=c.p_low_resolution,
                                       zoom_range=c.low_resolution_zoom),
        ]

    def set_seed(self, seed: int) -> None:
        """Re-seed every random transform (same seed → same sequence of augmentations)."""
        self.compose.set_random_state(seed=int(seed) % (2**32))

    def __call__(self, image: torch.Tensor | np.ndarray, label: torch.Tensor | np.ndarray
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment one region: image ``[c, *region]`` and label ``[1, *region]`` →
        float32 image ``[c, *patch]`` and uint8 label ``[1, *patch]`` (new tensors)."""
        sample = {"image": torch.as_tensor(np.asarray(image, dtype=np.float32)),
                  "label": torch.as_tensor(np.asarray(label, dtype=np.float32))}
        out = self.compose(sample)
        img = torch.as_tensor(out["image"]).as_subclass(torch.Tensor).float().contiguous()
        lab = torch.as_tensor(out["label"]).as_subclass(torch.Tensor)
        return img, lab.round().to(torch.uint8).contiguous()

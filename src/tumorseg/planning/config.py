"""Settings of the planner (:func:`tumorseg.planning.make_plan`), as one typed dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tumorseg.planning.memory import MemoryModel
from tumorseg.preprocessing.normalize import SCHEMES
from tumorseg.preprocessing.resample import ResamplingConfig

__all__ = ["PlannerConfig"]


@dataclass(frozen=True)
class PlannerConfig:
    """Every knob of :func:`make_plan` (defaults follow nnU-Net's 3d_fullres planner).

    Attributes:
        base_features: feature maps of the first stage (doubled per stage).
        max_features: cap on feature maps per stage.
        min_feature_map_size: smallest bottleneck edge in voxels.
        max_pool_steps: most pooling steps (stages - 1).
        min_batch_size: smallest batch (nnU-Net: 2).
        max_dataset_fraction: a batch covers at most this fraction of the dataset's voxels.
        anisotropy_threshold: spacing ratio that makes data anisotropic (nnU-Net: 3).
        anisotropic_percentile: spacing percentile used along the anisotropic axis.
        target_spacing: fixed target spacing in mm (i, j, k) instead of the rule.
        initial_patch_voxels: voxels of the starting patch before fitting (nnU-Net: 256³).
        pet_normalization: "zscore" (per volume) or "suv" (values kept) for PET channels.
        channel_schemes: channel name → scheme overriding the name rule.
        use_nonzero_mask_for_norm: z-score inside the nonzero mask; None = nnU-Net's rule.
        nonzero_mask_threshold: the rule: median crop keeps less than this fraction.
        crop_to_nonzero: crop cases to their nonzero box before resampling.
        deep_supervision: train with deep supervision (DynUNet only).
        architecture: "dynunet" (nnU-Net's 3D U-Net) or "unet" (plain MONAI UNet); see
            :data:`~tumorseg.planning.network.ARCHITECTURES`.
        default_gpu_memory_gb: budget on CUDA when none is given.
        cpu_memory_fraction: budget on the CPU as a fraction of available RAM ...
        cpu_max_memory_gb: ... but at most this many GB.
        cpu_max_patch_voxels: largest patch on the CPU (compute, not memory, limits it).
        cpu_max_batch_size: largest batch on the CPU.
        memory: memory model; None = the calibrated default for the device.
        resampling: interpolation orders for preprocessing.
    """

    base_features: int = 32
    max_features: int = 320
    min_feature_map_size: int = 4
    max_pool_steps: int = 5
    min_batch_size: int = 2
    max_dataset_fraction: float = 0.05
    anisotropy_threshold: float = 3.0
    anisotropic_percentile: float = 10.0
    target_spacing: tuple[float, float, float] | None = None
    initial_patch_voxels: int = 256**3
    pet_normalization: Literal["zscore", "suv"] = "zscore"
    channel_schemes: dict[str, str] = field(default_factory=dict)
    use_nonzero_mask_for_norm: bool | None = None
    nonzero_mask_threshold: float = 0.75
    crop_to_nonzero: bool = True
    deep_supervision: bool = True
    architecture: str = "dynunet"
    default_gpu_memory_gb: float = 8.0
    cpu_memory_fraction: float = 0.25
    cpu_max_memory_gb: float = 8.0
    cpu_max_patch_voxels: int = 96**3
    cpu_max_batch_size: int = 2
    memory: MemoryModel | None = None
    resampling: ResamplingConfig = field(default_factory=ResamplingConfig)

    def __post_init__(self) -> None:
        if self.pet_normalization not in ("zscore", "suv"):
            raise ValueError(f"pet_normalization must be 'zscore' or 'suv', "
                             f"got {self.pet_normalization!r}")
        for name, scheme in self.channel_schemes.items():
            if scheme not in SCHEMES:
                raise ValueError(f"channel {name!r}: unknown scheme {scheme!r} "
                                 f"(expected one of {', '.join(SCHEMES)})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["memory"] = None if self.memory is None else self.memory.to_dict()
        d["resampling"] = self.resampling.to_dict()
        d["target_spacing"] = None if self.target_spacing is None else list(self.target_spacing)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannerConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["memory"] = None if d.get("memory") is None else MemoryModel.from_dict(d["memory"])
        d["resampling"] = ResamplingConfig.from_dict(d.get("resampling") or {})
        if d.get("target_spacing") is not None:
            d["target_spacing"] = tuple(d["target_spacing"])
        return cls(**d)

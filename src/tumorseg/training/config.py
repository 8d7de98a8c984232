"""Every knob of a training run as typed, JSON-able data (saved as training_config.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from tumorseg.planning.network import ARCHITECTURES

__all__ = ["NETWORK_SIZES", "AugmentationConfig", "TrainingConfig"]

#: ``network_size`` → (base features, max features) given to the planner.
NETWORK_SIZES: dict[str, tuple[int, int]] = {
    "default": (32, 320),  # nnU-Net
    "small": (16, 160),
    "tiny": (8, 80),
}


@dataclass(frozen=True)
class AugmentationConfig:
    """Data augmentation (MONAI dictionary transforms), nnU-Net's recipe by default.

    Probabilities are per patch; ranges are sampled uniformly.

    Attributes:
        enabled: False turns every augmentation off (patches are only cropped).
        p_spatial: probability of a rotation + scaling (one affine resampling).
        rotation_deg: rotation up to ± this many degrees about each axis; only about the
            thick-slice axis when the patch is anisotropic (> 3:1 in voxels), as nnU-Net.
        scale: zoom factor in [1 - scale, 1 + scale].
        elastic: elastic deformation instead of the plain affine (slow; off by default).
        elastic_sigma, elastic_magnitude: smoothness (voxels) and magnitude of the field.
        mirror: flip each axis with probability 0.5.
        p_noise, noise_std: additive Gaussian noise (std in normalised intensity units).
        p_blur, blur_sigma: Gaussian blur, sigma range in voxels.
        p_intensity_scale, intensity_scale: multiply intensities by [1 - s, 1 + s].
        p_intensity_shift, intensity_shift: add an offset in [-s, s] (normalised units).
        p_gamma, gamma: gamma (contrast) adjustment with gamma in this range.
        p_low_resolution, low_resolution_zoom: simulate low resolution (downsample by this
            factor range, nearest; upsample back, trilinear).
    """

    enabled: bool = True
    p_spatial: float = 0.36
    rotation_deg: float = 30.0
    scale: float = 0.3
    elastic: bool = False
    elastic_sigma: tuple[float, float] = (9.0, 13.0)
    elastic_magnitude: tuple[float, float] = (0.0, 200.0)
    mirror: bool = True
    p_noise: float = 0.1
    noise_std: float = 0.1
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.5, 1.0)
    p_intensity_scale: float = 0.15
    intensity_scale: float = 0.25
    p_intensity_shift: float = 0.1
    intensity_shift: float = 0.1
    p_gamma: float = 0.3
    gamma: tuple[float, float] = (0.7, 1.5)
    p_low_resolution: float = 0.25
    low_resolution_zoom: tuple[float, float] = (0.5, 1.0)

    @classmethod
    def off(cls) -> AugmentationConfig:
        """No augmentation at all."""
        return cls(enabled=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AugmentationConfig:
        """Inverse of ``dataclasses.asdict`` (lists become tuples; unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v
                      for k, v in d.items() if k in known})


@dataclass(frozen=True)
class TrainingConfig:
    """How to train one fold (defaults follow nnU-Net where it makes sense on a laptop).

    Attributes:
        epochs: epochs to train (each of ``iterations_per_epoch`` steps).
        iterations_per_epoch: training steps per epoch; None: 250 on CUDA, 50 on the CPU.
        optimizer: "sgd" (Nesterov, nnU-Net) or "adamw".
        learning_rate: initial LR; None: 0.01 (SGD) or 1e-3 (AdamW). Poly decay per epoch:
            ``lr = lr0 * (1 - epoch / epochs) ** lr_exponent``.
        momentum: SGD momentum (Nesterov).
        weight_decay: None: 3e-5 (SGD) or 1e-2 (AdamW).
        lr_exponent: exponent of the poly schedule.
        grad_clip: clip the gradient norm to this value (None: no clipping).
        amp: mixed precision (float16 autocast + GradScaler); None: on CUDA only. Ignored
            on the CPU.
        channels_last: network and batches in ``torch.channels_last_3d`` memory format;
            None: on the CPU only (oneDNN's 3D convolution backward is ~3x faster so, a
            training step ~1.5x); results are the same either way.
        batch_size: patches per step and process; None: the plan's.
        num_workers: data-loading processes; None: 0 on a CPU with ≤ 2 cores, else up to 2
            (CPU) or up to 6 (CUDA).
        seed: seeds weights, patch sampling and augmentation (same seed → same run).
        split_seed: seed of the 5-fold split (fixed in splits.json on first use).
        n_folds: folds of the cross-validation split (fewer when there are fewer cases).
        oversample_foreground: fraction of patches centred on a random foreground voxel.
        augmentation: see :class:`AugmentationConfig`.
        val_mode: "sliding": sliding-window inference over whole validation volumes
            (Gaussian, ``val_overlap``); "patches": nnU-Net's pseudo-Dice on
            ``val_iterations`` batches of patches (cheaper on big volumes).
        val_max_cases: validate on at most this many of the fold's validation cases each
            epoch (always the same ones); None: all.
        val_overlap: sliding-window overlap (0.5 = nnU-Net).
        val_iterations: batches per validation in "patches" mode.
        all_val_cases: with fold "all", this many training cases (picked by ``split_seed``)
            are also used for validation — their Dice is optimistic, as they are trained on.
        ema_alpha: smoothing of the validation Dice used to pick the best epoch:
            ``ema = alpha * ema + (1 - alpha) * dice`` (nnU-Net: 0.9).
        export: which weights go to weights.pt: "final" (last epoch, nnU-Net) or "best".
        half_weights: store weights.pt as float16.
        plan_file: a plan.json to train with instead of planning (used when MODEL_DIR has no
            plan.json yet).
        memory_budget_gb: planning budget (GPU memory on CUDA); None: planner default.
        network_size: "default" (32…320 features), "small" (16…160) or "tiny" (8…80),
            used when planning.
        res_block: residual blocks in the U-Net (used when planning).
        architecture: "dynunet" (nnU-Net's 3D U-Net) or "unet" (plain MONAI UNet, no deep
            supervision); None: the given plan's, and "dynunet" when planning.
    """

    epochs: int = 100
    iterations_per_epoch: int | None = None
    optimizer: Literal["sgd", "adamw"] = "sgd"
    learning_rate: float | None = None
    momentum: float = 0.99
    weight_decay: float | None = None
    lr_exponent: float = 0.9
    grad_clip: float | None = 12.0
    amp: bool | None = None
    channels_last: bool | None = None
    batch_size: int | None = None
    num_workers: int | None = None
    seed: int = 0
    split_seed: int = 12345
    n_folds: int = 5
    oversample_foreground: float = 1 / 3
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    val_mode: Literal["sliding", "patches"] = "sliding"
    val_max_cases: int | None = 8
    val_overlap: float = 0.5
    val_iterations: int = 10
    all_val_cases: int = 2
    ema_alpha: float = 0.9
    export: Literal["final", "best"] = "final"
    half_weights: bool = True
    plan_file: str | None = None
    memory_budget_gb: float | None = None
    network_size: Literal["default", "small", "tiny"] = "default"
    res_block: bool = False
    architecture: Literal["dynunet", "unet"] | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be ≥ 1, got {self.epochs}")
        if self.iterations_per_epoch is not None and self.iterations_per_epoch < 1:
            raise ValueError(f"iterations_per_epoch must be ≥ 1, got {self.iterations_per_epoch}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if self.architecture is not None and self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.architecture!r}")
        if self.val_mode not in ("sliding", "patches"):
            raise ValueError(f"val_mode must be 'sliding' or 'patches', got {self.val_mode!r}")
        if self.export not in ("final", "best"):
            raise ValueError(f"export must be 'final' or 'best', got {self.export!r}")
        if self.network_size not in NETWORK_SIZES:
            raise ValueError(f"network_size must be one of {', '.join(NETWORK_SIZES)}, "
                             f"got {self.network_size!r}")
        if not 0.0 <= self.oversample_foreground <= 1.0:
            raise ValueError("oversample_foreground must be in [0, 1]")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {self.batch_size}")
        if self.num_workers is not None and self.num_workers < 0:
            raise ValueError(f"num_workers must be ≥ 0, got {self.num_workers}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be ≥ 2, got {self.n_folds}")

    def iterations_for(self, device_type: str) -> int:
        """Iterations per epoch on ``device_type`` ("cpu" or "cuda")."""
        if self.iterations_per_epoch is not None:
            return self.iterations_per_epoch
        return 250 if device_type == "cuda" else 50

    def lr_for(self) -> float:
        """The initial learning rate."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 0.01 if self.optimizer == "sgd" else 1e-3

    def weight_decay_for(self) -> float:
        """The weight decay."""
        if self.weight_decay is not None:
            return self.weight_decay
        return 3e-5 if self.optimizer == "sgd" else 1e-2

    def amp_for(self, device_type: str) -> bool:
        """Whether mixed precision is used on ``device_type``."""
        return device_type == "cuda" and (self.amp is None or self.amp)

    def channels_last_for(self, device_type: str) -> bool:
        """Whether the channels-last 3D memory format is used on ``device_type``."""
        return device_type == "cpu" if self.channels_last is None else self.channels_last

    def workers_for(self, device_type: str, cpu_count: int | None) -> int:
        """Data-loading processes on ``device_type`` with ``cpu_count`` cores."""
        if self.num_workers is not None:
            return self.num_workers
        cores = cpu_count or 1
        if device_type == "cuda":
            return max(0, min(6, cores - 1))
        return 0 if cores <= 2 else min(2, cores // 2)

    def with_changes(self, **changes: Any) -> TrainingConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["augmentation"] = asdict(self.augmentation)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingConfig:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("augmentation"), dict):
            kw["augmentation"] = AugmentationConfig.from_dict(kw["augmentation"])
        return cls(**kw)

"""Training the automatic 3D U-Net, nnU-Net style, on an MSD / nnU-Net raw dataset.

* :mod:`~tumorseg.training.config`: :class:`TrainingConfig`, :class:`AugmentationConfig`.
* :mod:`~tumorseg.training.setup`: the device and the plan (made automatically when needed).
* :mod:`~tumorseg.training.splits`: the fixed, saved 5-fold split.
* :mod:`~tumorseg.training.cache`: preprocess every case once into ``MODEL_DIR/preprocessed``.
* :mod:`~tumorseg.training.patches`, :mod:`~tumorseg.training.augment`,
  :mod:`~tumorseg.training.data`: patch placement with foreground oversampling, MONAI
  augmentation, the seeded patch stream.
* :mod:`~tumorseg.training.loss`: Dice + CE with deep supervision.
* :mod:`~tumorseg.training.optim`: SGD Nesterov / AdamW and the poly LR.
* :mod:`~tumorseg.training.steps`: an epoch of steps (AMP on CUDA, clipping, memory format).
* :mod:`~tumorseg.training.validation`: sliding-window or pseudo-Dice validation.
* :mod:`~tumorseg.training.checkpoint`, :mod:`~tumorseg.training.run_state`,
  :mod:`~tumorseg.training.log`: atomic checkpoints, what they carry, and the CSV log.
* :mod:`~tumorseg.training.distributed`: DDP under ``torchrun``
  (``torchrun --nproc_per_node=N -m tumorseg.training.ddp_entry DATASET -o MODEL_DIR …``).
* :mod:`~tumorseg.training.trainer`: :func:`train` and :class:`TrainResult`.

The model folder it writes is described in :mod:`tumorseg.models`.

Example:
    >>> from tumorseg.training import TrainingConfig, train                # doctest: +SKIP
    >>> train("data/abdomen", "models/abdomen", fold=0, config=TrainingConfig(epochs=50))
"""

from __future__ import annotations

from tumorseg.training.augment import Augmenter
from tumorseg.training.cache import CachedCase, open_cache, preprocess_dataset
from tumorseg.training.checkpoint import load_checkpoint, save_checkpoint
from tumorseg.training.config import NETWORK_SIZES, AugmentationConfig, TrainingConfig
from tumorseg.training.data import PatchDataset, make_loader
from tumorseg.training.log import read_training_log, write_training_log
from tumorseg.training.loss import DeepSupervisionLoss, deep_supervision_weights
from tumorseg.training.optim import make_optimizer, poly_lr
from tumorseg.training.progress import TrainingCallback
from tumorseg.training.setup import resolve_device, resolve_plan
from tumorseg.training.splits import (
    FoldCases,
    Splits,
    fold_cases,
    kfold_splits,
    load_or_create_splits,
)
from tumorseg.training.trainer import TrainResult, train
from tumorseg.training.validation import ValidationResult, validate_patches, validate_sliding

__all__ = [
    "NETWORK_SIZES",
    "AugmentationConfig",
    "Augmenter",
    "CachedCase",
    "DeepSupervisionLoss",
    "FoldCases",
    "PatchDataset",
    "Splits",
    "TrainResult",
    "TrainingCallback",
    "TrainingConfig",
    "ValidationResult",
    "deep_supervision_weights",
    "fold_cases",
    "kfold_splits",
    "load_checkpoint",
    "load_or_create_splits",
    "make_loader",
    "make_optimizer",
    "open_cache",
    "poly_lr",
    "preprocess_dataset",
    "read_training_log",
    "resolve_device",
    "resolve_plan",
    "save_checkpoint",
    "train",
    "validate_patches",
    "validate_sliding",
    "write_training_log",
]

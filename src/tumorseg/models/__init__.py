"""The 3D U-Net and self-describing model folders.

Network
-------
:func:`build_network` makes MONAI's DynUNet (nnU-Net's 3D U-Net, optional residual blocks)
from a :class:`~tumorseg.planning.Plan` or :class:`~tumorseg.planning.NetworkConfig`. In
``eval()`` mode its forward maps ``[b, channels, i, j, k]`` to logits ``[b, classes, i, j, k]``;
in ``train()`` mode with deep supervision it returns a list of logits, full resolution first,
then lower decoder stages at their own resolution (:mod:`~tumorseg.models.network`).

Model folder (written by ``tumorseg train``; everything an inference run needs)
-------------------------------------------------------------------------------
::

    MODEL_DIR/plan.json        the Plan: target spacing, normalisation, patch size, network
    MODEL_DIR/dataset.json     copy of the training dataset's dataset.json
    MODEL_DIR/splits.json      {"seed", "n_folds", "cases", "folds": [{"train": [...],
                               "val": [...]}, ...]}; made once and reused by every fold
    MODEL_DIR/model.json       manifest (ModelManifest): format, tumorseg_version, task
                               "automatic", architecture, dataset_name, labels {name: value},
                               channel_names, created, training (config), folds {name: record}
    MODEL_DIR/preprocessed/    training cache (not needed for inference; may be deleted)
    MODEL_DIR/fold_K/          K = 0 … 4, or "all" (trained on every case)
        weights.pt             state_dict of the final (or best) epoch, float16 by default
        fold.json              FoldRecord: weights path, sha256, size_bytes, dtype, epochs,
                               exported_epoch, val_dice {label: dice}, val_dice_mean, best_epoch
        checkpoint_latest.pt   model + optimizer + scaler + epoch + RNG + log, every epoch
        checkpoint_best.pt     same, for the epoch with the best smoothed validation Dice
        training_log.csv       epoch, train_loss, val_loss, val_dice_<label>…, val_dice_mean,
                               val_dice_ema, lr, seconds, iterations_per_s
        training_config.json   TrainingConfig, device, world size, train/val case names

Every JSON file is written atomically; the checkpoints and weights too (temporary file, fsync,
rename), so a kill never leaves a half-written file under its final name.

Loading (for inference)
-----------------------
``load_model(model_dir, fold=None, device="cpu") -> (network, plan, manifest)``: reads
model.json and plan.json, checks ``fold_K/weights.pt`` against the SHA-256 in
``fold_K/fold.json`` (and the copy in model.json), builds the network from ``plan`` and loads
the weights as float32; returns the network in ``eval()`` mode. Any problem (missing file, hash
mismatch, weights not fitting) raises :class:`~tumorseg.errors.InputError` naming the file.
``list_folds(model_dir)`` lists folds with finished weights (for a fold ensemble: load each).

Inputs must be preprocessed as the plan says
(``tumorseg.preprocessing.preprocess_case(volume, plan)``); predictions go back to the
original grid with ``restore_to_original``. Sliding-window inference should use
``plan.patch_size`` as the window (Gaussian weighting, overlap 0.5).

Example:
    >>> from tumorseg.models import list_folds, load_model     # doctest: +SKIP
    >>> nets = [load_model("models/abdomen", f)[0] for f in list_folds("models/abdomen")]
"""

from __future__ import annotations

from tumorseg.models.folder import FOLD_ALL, ModelFolder, fold_name
from tumorseg.models.manifest import (
    MODEL_FORMAT,
    TASK_AUTOMATIC,
    FoldRecord,
    ModelManifest,
    utc_now,
)
from tumorseg.models.network import PlainUNet, SegmentationUNet, build_network, network_config
from tumorseg.models.store import (
    list_folds,
    load_model,
    read_fold_record,
    save_model_folder,
    save_weights,
    sha256_file,
)

__all__ = [
    "FOLD_ALL",
    "MODEL_FORMAT",
    "TASK_AUTOMATIC",
    "FoldRecord",
    "ModelFolder",
    "ModelManifest",
    "PlainUNet",
    "SegmentationUNet",
    "build_network",
    "fold_name",
    "list_folds",
    "load_model",
    "network_config",
    "read_fold_record",
    "save_model_folder",
    "save_weights",
    "sha256_file",
    "utc_now",
]

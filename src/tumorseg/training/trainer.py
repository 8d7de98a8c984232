"""``train()``: one fold of a 3D U-Net, nnU-Net style, into a self-describing model folder.

Steps: plan (or reuse ``MODEL_DIR/plan.json``) → write plan.json, dataset.json, model.json →
split (``splits.json``, made once) → preprocess the dataset into ``MODEL_DIR/preprocessed/`` →
epochs of ``iterations_per_epoch`` steps on augmented patches (Dice + CE with deep
supervision, SGD Nesterov or AdamW with poly LR, gradient clipping, float16 autocast +
GradScaler on CUDA) → validation → training_log.csv and checkpoint_latest.pt after every epoch
(checkpoint_best.pt when the smoothed validation Dice improves) → weights.pt with its SHA-256.

``resume=True`` continues from checkpoint_latest.pt at the epoch it reached (model,
optimizer, scaler, RNG and log restored; the LR follows from the epoch). Under ``torchrun``
every process trains on its own patches with DistributedDataParallel and rank 0 writes
(:mod:`~tumorseg.training.distributed`); the model folder must be on a file system every
rank sees.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.io import atomic_write_text
from tumorseg.models import (
    ModelFolder,
    build_network,
    fold_name,
    save_model_folder,
    save_weights,
)
from tumorseg.planning import Plan, read_dataset
from tumorseg.training.cache import CachedCase, open_cache, preprocess_dataset
from tumorseg.training.checkpoint import (
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from tumorseg.training.config import AugmentationConfig, TrainingConfig
from tumorseg.training.data import PatchDataset, make_loader
from tumorseg.training.distributed import (
    DistContext,
    all_reduce_mean,
    barrier,
    init_distributed,
    shutdown,
)
from tumorseg.training.log import write_training_log
from tumorseg.training.loss import DeepSupervisionLoss
from tumorseg.training.optim import make_optimizer, poly_lr, set_lr
from tumorseg.training.progress import TrainingCallback
from tumorseg.training.run_state import RunState, log_row
from tumorseg.training.setup import resolve_device, resolve_plan
from tumorseg.training.splits import FoldCases, fold_cases, load_or_create_splits
from tumorseg.training.steps import in_memory_format, train_steps
from tumorseg.training.validation import ValidationResult, validate_patches, validate_sliding

__all__ = ["TrainResult", "train"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class TrainResult:
    """What a call to :func:`train` did.

    Attributes:
        model_dir: the model folder.
        fold: "0" … "4" or "all".
        epochs_completed: epochs trained in total (all runs of this fold).
        start_epoch: epochs already done when this call began (> 0 after ``resume``).
        best_epoch: 1-based epoch with the best smoothed validation Dice (None: no validation).
        best_val_dice: that smoothed Dice.
        final_val_dice: the last epoch's mean validation Dice.
        weights: the written ``fold_K/weights.pt``.
        log: ``fold_K/training_log.csv``.
        iterations_per_second: training steps per second in this call (mean over epochs;
            None when no epoch ran).
        seconds: wall time of this call.
        world_size: processes that trained (1 without DDP).
    """

    model_dir: Path
    fold: str
    epochs_completed: int
    start_epoch: int
    best_epoch: int | None
    best_val_dice: float | None
    final_val_dice: float | None
    weights: Path
    log: Path
    iterations_per_second: float | None
    seconds: float
    world_size: int


def _device_for(ctx: DistContext, device: torch.device) -> torch.device:
    if device.type == "cuda" and ctx.enabled:
        return torch.device("cuda", ctx.local_rank)
    return device


def _prepare_folder(dataset_dir: Path, folder: ModelFolder, fold: str, config: TrainingConfig,
                    device: torch.device, ctx: DistContext, resume: bool,
                    callback: TrainingCallback) -> tuple[Plan, FoldCases, dict[str, CachedCase]]:
    """Plan, model folder files, split and cache (rank 0 writes; the others read)."""
    info = read_dataset(dataset_dir)
    latest = folder.checkpoint_latest(fold)
    if latest.exists() and not resume:
        raise InputError(f"{latest}: fold {fold} was already trained here; add --resume to "
                         "continue it, or use another model folder")
    names = [c.name for c in info.cases]
    # The fold is checked against the split before anything is planned or written.
    fold_cases(load_or_create_splits(folder.splits, names, config.n_folds, config.split_seed,
                                     write=False), fold, config.all_val_cases)
    if ctx.is_main:
        plan = resolve_plan(info, folder, config, device.type)
        save_model_folder(folder.root, plan, info.root / "dataset.json", config.to_dict())
        splits = load_or_create_splits(folder.splits, names, config.n_folds, config.split_seed)
        cache = preprocess_dataset(info, plan, folder.preprocessed,
                                   progress=callback.on_preprocess)
    barrier(ctx)
    if not ctx.is_main:
        plan = Plan.load(folder.plan)
        splits = load_or_create_splits(folder.splits, names, write=False)
        cache = open_cache(info, plan, folder.preprocessed)
    cases = fold_cases(splits, fold, config.all_val_cases)
    return plan, cases, cache


def _write_fold_config(folder: ModelFolder, fold: str, config: TrainingConfig, plan: Plan,
                       cases: FoldCases, device: torch.device, ctx: DistContext,
                       state: RunState, iterations: int, batch: int, workers: int) -> None:
    doc = {
        "tumorseg_version": __version__, "fold": fold, "config": config.to_dict(),
        "device": str(device), "world_size": ctx.world_size, "amp": config.amp_for(device.type),
        "channels_last": config.channels_last_for(device.type),
        "iterations_per_epoch": iterations, "batch_size_per_process": batch,
        "num_workers": workers, "patch_size": list(plan.patch_size),
        "started_at_epoch": state.epoch, "train_cases": list(cases.train),
        "val_cases": list(cases.val),
    }
    atomic_write_text(folder.training_config(fold), json.dumps(doc, indent=2) + "\n")


def _validate(network: torch.nn.Module, val_cases: list[CachedCase], plan: Plan,
              config: TrainingConfig, device: torch.device, loss_fn: DeepSupervisionLoss,
              amp: bool, batch: int, val_batches: Any) -> ValidationResult | None:
    if not val_cases:
        return None
    if config.val_mode == "patches":
        return validate_patches(network, val_batches, config.val_iterations, plan.labels,
                                device, loss_fn, amp)
    return validate_sliding(network, val_cases, plan.patch_size, plan.labels, device, loss_fn,
                            amp, sw_batch_size=batch, overlap=config.val_overlap)


def _end_epoch(folder: ModelFolder, fold: str, epoch: int, network: torch.nn.Module,
               optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, state: RunState,
               config: TrainingConfig, val: ValidationResult | None, train_loss: float,
               lr: float, seconds: float, ips: float, label_names: list[str],
               callback: TrainingCallback) -> None:
    """Rank 0 after an epoch: smoothed Dice, log row, CSV, checkpoints (best when improved)."""
    improved = state.update_ema(None if val is None else val.mean_dice, config.ema_alpha)
    row = log_row(epoch, train_loss, val, state.ema, lr, seconds, ips)
    state.rows.append(row)
    write_training_log(folder.training_log(fold), state.rows, label_names)
    ckpt = state.checkpoint(network, optimizer, scaler, fold, config.to_dict())
    save_checkpoint(folder.checkpoint_latest(fold), ckpt)
    if improved:
        save_checkpoint(folder.checkpoint_best(fold), ckpt)
    log.info("fold %s epoch %d/%d: train loss %.4f, val Dice %s, %.1f s, %.2f it/s", fold,
             epoch + 1, config.epochs, train_loss,
             "-" if val is None or val.mean_dice is None else f"{val.mean_dice:.4f}",
             seconds, ips)
    callback.on_epoch_end(epoch, row)


def train(dataset_dir: str | os.PathLike[str], model_dir: str | os.PathLike[str],
          fold: int | str = 0, config: TrainingConfig | None = None,
          device: str | torch.device = "auto", *, resume: bool = False,
          callback: TrainingCallback | None = None) -> TrainResult:
    """Train one fold of a 3D U-Net on an MSD / nnU-Net raw dataset (module docstring).

    Args:
        dataset_dir: the raw dataset folder (dataset.json, imagesTr/, labelsTr/).
        model_dir: the model folder to create or add a fold to (layout in
            :mod:`tumorseg.models`).
        fold: 0 … 4 (cross-validation fold of splits.json) or "all" (every case).
        config: training settings; None for the defaults.
        device: "auto", "cpu", "cuda" or "cuda:N" (under torchrun: cuda:LOCAL_RANK).
        resume: continue from ``fold_K/checkpoint_latest.pt`` (a fresh start when there is
            none). Without it, an existing checkpoint is an error (nothing is overwritten).
        callback: progress hooks (called on rank 0 only).

    Returns:
        A :class:`TrainResult`.

    Raises:
        InputError: a bad dataset, fold, device or model folder (one line naming it).

    Example:
        >>> train("data/abdomen", "models/abdomen", 0, TrainingConfig(epochs=50))  # doctest: +SKIP
    """
    config = config or TrainingConfig()
    name = fold_name(fold)
    dev = resolve_device(device)
    owned = not (dist.is_available() and dist.is_initialized())
    ctx = init_distributed(dev.type)
    try:
        return _train(Path(dataset_dir), ModelFolder(model_dir), name, config,
                      _device_for(ctx, dev), ctx, resume, callback or TrainingCallback())
    finally:
        if owned:
            shutdown(ctx)


def _train(dataset_dir: Path, folder: ModelFolder, fold: str, config: TrainingConfig,
           device: torch.device, ctx: DistContext, resume: bool,
           callback: TrainingCallback) -> TrainResult:
    started = time.perf_counter()
    main_cb = callback if ctx.is_main else TrainingCallback()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    plan, cases, cache = _prepare_folder(dataset_dir, folder, fold, config, device, ctx, resume,
                                         main_cb)
    log.info("rank %d/%d: fold %s, %d training and %d validation cases, device %s",
             ctx.rank, ctx.world_size, fold, len(cases.train), len(cases.val), device)
    amp = config.amp_for(device.type)
    batch = config.batch_size or plan.batch_size
    iterations = config.iterations_for(device.type)
    workers = config.workers_for(device.type, os.cpu_count())

    torch.manual_seed(config.seed)
    memory_format = (torch.channels_last_3d if config.channels_last_for(device.type)
                     else torch.contiguous_format)
    network = in_memory_format(build_network(plan).to(device), memory_format)
    optimizer = make_optimizer(network.parameters(), config)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    loss_fn = DeepSupervisionLoss()
    latest = folder.checkpoint_latest(fold)
    state = RunState()
    if resume and latest.exists():
        state = RunState.restore(latest, network, optimizer, scaler)
        log.info("resuming fold %s at epoch %d", fold, state.epoch + 1)
    elif resume:
        log.warning("%s: no checkpoint to resume; starting fold %s from scratch", latest, fold)
    model: torch.nn.Module = network
    if ctx.enabled:
        model = DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None)
    if ctx.is_main:
        folder.fold_dir(fold).mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temporaries(folder.fold_dir(fold)):
            log.info("removed %s, left by an interrupted run", stale)
        # drop rows a killed run logged after its last checkpoint
        write_training_log(folder.training_log(fold), state.rows,
                           [k for k, v in plan.labels.items() if v != 0])
        _write_fold_config(folder, fold, config, plan, cases, device, ctx, state, iterations,
                           batch, workers)

    train_ds = PatchDataset([cache[n] for n in cases.train], plan.patch_size,
                            config.augmentation, config.oversample_foreground, config.seed,
                            ctx.rank)
    loader = make_loader(train_ds, batch, workers, pin_memory=device.type == "cuda")
    val_cases = [cache[n] for n in cases.val][: config.val_max_cases]
    val_ds = None
    if config.val_mode == "patches" and val_cases:
        val_ds = PatchDataset(val_cases, plan.patch_size, AugmentationConfig.off(),
                              config.oversample_foreground, config.seed + 1)
    label_names = [k for k, v in plan.labels.items() if v != 0]
    lr0 = config.lr_for()
    speeds: list[float] = []
    main_cb.on_train_start(fold, state.epoch, config.epochs, iterations)

    for epoch in range(state.epoch, config.epochs):
        t0 = time.perf_counter()
        lr = poly_lr(lr0, epoch, config.epochs, config.lr_exponent)
        set_lr(optimizer, lr)
        main_cb.on_epoch_start(epoch)
        train_ds.set_epoch(epoch)
        losses = train_steps(model, loader, iterations, optimizer, scaler, loss_fn, device,
                             config, epoch, memory_format, main_cb)
        ips = iterations / max(time.perf_counter() - t0, 1e-9)
        speeds.append(ips)
        train_loss = all_reduce_mean(float(np.mean(losses)), ctx, device)
        state.epoch = epoch + 1
        if ctx.is_main:
            if val_ds is not None:
                val_ds.set_epoch(epoch)
            val_batches = None if val_ds is None else iter(make_loader(val_ds, batch))
            main_cb.on_validation_start(epoch, len(val_cases) if val_ds is None
                                        else config.val_iterations)
            val = _validate(network, val_cases, plan, config, device, loss_fn, amp, batch,
                            val_batches)
            _end_epoch(folder, fold, epoch, network, optimizer, scaler, state, config, val,
                       train_loss, lr, time.perf_counter() - t0, ips, label_names, main_cb)
        barrier(ctx)

    weights = folder.weights(fold)
    if ctx.is_main:
        _export(folder, fold, network, state, config, label_names)
    barrier(ctx)
    final = state.rows[-1].get("val_dice_mean") if state.rows else None
    result = TrainResult(
        model_dir=folder.root, fold=fold, epochs_completed=state.epoch,
        start_epoch=state.epoch - len(speeds), best_epoch=state.best_epoch,
        best_val_dice=state.best_ema, final_val_dice=final, weights=weights,
        log=folder.training_log(fold),
        iterations_per_second=float(np.mean(speeds)) if speeds else None,
        seconds=time.perf_counter() - started, world_size=ctx.world_size)
    main_cb.on_train_end(result)
    return result


def _export(folder: ModelFolder, fold: str, network: torch.nn.Module, state: RunState,
            config: TrainingConfig, label_names: list[str]) -> None:
    """Write weights.pt (final or best epoch) and its records."""
    weights: Any = network
    exported = state.epoch
    rows = state.rows or []
    best = folder.checkpoint_best(fold)
    if config.export == "best" and best.exists():
        ckpt = load_checkpoint(best, map_location="cpu")
        weights, exported = ckpt["model"], int(ckpt["epoch"])
    row = next((r for r in rows if int(r["epoch"]) == exported), {})
    save_weights(folder.root, fold, weights, epochs=state.epoch, exported_epoch=exported,
                 val_dice={n: row.get(f"val_dice_{n}") for n in label_names},
                 val_dice_mean=row.get("val_dice_mean"), best_epoch=state.best_epoch,
                 half=config.half_weights)

"""``tumorseg train``: train one fold of the automatic 3D U-Net into a model folder."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from tumorseg.cli.common import choice, err_console, progress_bar
from tumorseg.errors import InputError
from tumorseg.io.atomic import require_folder_name
from tumorseg.planning.network import ARCHITECTURES
from tumorseg.training import AugmentationConfig, TrainingCallback, TrainingConfig, train

__all__ = ["train_command"]


class _RichProgress(TrainingCallback):
    """Progress bars (with ETA) for preprocessing, all epochs, and the current epoch."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.pre: Any = None
        self.overall: Any = None
        self.epoch: Any = None
        self.iterations = 0

    def on_preprocess(self, done: int, total: int, case: str) -> None:
        if self.pre is None:
            self.pre = self.bar.add_task("Preprocess", total=total)
        self.bar.update(self.pre, completed=done)

    def on_train_start(self, fold: str, start_epoch: int, epochs: int, iterations: int) -> None:
        self.iterations = iterations
        self.overall = self.bar.add_task(f"Fold {fold} epochs", total=epochs,
                                         completed=start_epoch)
        self.epoch = self.bar.add_task("Epoch", total=iterations)

    def on_epoch_start(self, epoch: int) -> None:
        self.bar.reset(self.epoch, total=self.iterations,
                       description=f"Epoch {epoch + 1}")

    def on_iteration(self, epoch: int, iteration: int, loss: float) -> None:
        self.bar.update(self.epoch, completed=iteration + 1,
                        description=f"Epoch {epoch + 1} loss {loss:.3f}")

    def on_validation_start(self, epoch: int, n_cases: int) -> None:
        self.bar.update(self.epoch, description=f"Epoch {epoch + 1} validating")

    def on_epoch_end(self, epoch: int, row: Mapping[str, Any]) -> None:
        self.bar.update(self.overall, completed=epoch + 1)


class _ConsoleHandler(logging.Handler):
    """Log lines printed through the rich console, above the live progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        text = (self.format(record) if self.formatter is not None
                else f"{record.levelname.lower()}: {record.getMessage()}")
        err_console.print(text, markup=False, highlight=False)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[TrainingCallback]:
    if not enabled:
        yield TrainingCallback()
        return
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = _ConsoleHandler()
    formatters = [h.formatter for h in saved if h.formatter is not None]
    if formatters:  # keep the CLI's (or the DDP entry's) line format
        handler.setFormatter(formatters[0])
    root.handlers[:] = [handler]
    try:
        with progress_bar() as bar:
            yield _RichProgress(bar)
    finally:
        root.handlers[:] = saved


def _train_interactive(dataset: Path, out: Path, epochs: int, iterations: int | None,
                       batch_size: int | None, lr: float | None, seed: int, device: str,
                       resume: bool) -> None:
    """``--task interactive``: :func:`tumorseg.training.interactive.train_interactive`."""
    import torch

    from tumorseg.training.interactive import InteractiveTrainingConfig, train_interactive

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        config = InteractiveTrainingConfig(
            epochs=epochs, iterations_per_epoch=iterations or 50, batch_size=batch_size or 4,
            learning_rate=lr or 2e-3, seed=seed)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    with _progress(os.environ.get("RANK", "0") == "0") as callback:
        result = train_interactive([dataset], out, config, device=device, resume=resume,
                                   callback=callback)
    d1 = "-" if result.val_dice_1click is None else f"{result.val_dice_1click:.3f}"
    d3 = "-" if result.val_dice_3clicks is None else f"{result.val_dice_3clicks:.3f}"
    err_console.print(f"interactive: {result.epochs_completed} epochs, validation Dice after "
                      f"1 click {d1}, after 3 clicks {d3}", markup=False, highlight=False)
    print(f"wrote {out / 'weights.pt'} (log {out / 'training_log.csv'})")


def train_command(
    dataset: Annotated[Path, typer.Argument(
        help="MSD / nnU-Net raw dataset folder (dataset.json, imagesTr, labelsTr).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Model folder to create or add a fold to.")],
    fold: Annotated[str, typer.Option(
        "--fold", "-f", help="Cross-validation fold 0-4, or 'all' to train on every case.")
    ] = "0",
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to train.")] = 100,
    iterations_per_epoch: Annotated[int | None, typer.Option(
        "--iterations-per-epoch", min=1,
        help="Training steps per epoch. Default: 250 on cuda, 50 on cpu.")] = None,
    device: Annotated[str, typer.Option(
        help="cpu, cuda, cuda:N, or auto (cuda when available).")] = "auto",
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue from fold_K/checkpoint_latest.pt at the epoch it reached.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of weights, patch sampling, augmentation.")
                    ] = 0,
    gpu_memory: Annotated[float | None, typer.Option(
        "--gpu-memory", help="Memory budget in GB when planning (GPU memory on cuda).")
    ] = None,
    num_workers: Annotated[int | None, typer.Option(
        "--num-workers", min=0,
        help="Data-loading processes. Default: 0 on a ≤2-core CPU, else up to 2 (6 on cuda).")
    ] = None,
    network_size: Annotated[str, typer.Option(
        "--network-size",
        help="When planning: default (32-320 features), small (16-160) or tiny (8-80).")
    ] = "default",
    res_block: Annotated[bool, typer.Option(
        "--res-block", help="When planning: residual blocks in the U-Net.")] = False,
    architecture: Annotated[str | None, typer.Option(
        "--architecture",
        help="dynunet (nnU-Net's 3D U-Net with deep supervision) or unet (plain MONAI UNet, "
             "for comparison). Default: the --plan's, dynunet when planning.",
        show_default=False)] = None,
    plan: Annotated[Path | None, typer.Option(
        "--plan", help="Train with this plan.json instead of planning "
                       "(when MODEL_DIR has none yet).")] = None,
    optimizer: Annotated[str, typer.Option(help="sgd (Nesterov, poly LR) or adamw.")] = "sgd",
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Initial learning rate. Default: 0.01 (sgd) or 0.001 (adamw).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Patches per step and process. Default: the plan's.")
    ] = None,
    val_mode: Annotated[str, typer.Option(
        "--val-mode", help="sliding (whole validation volumes) or patches (pseudo Dice).")
    ] = "sliding",
    elastic: Annotated[bool, typer.Option(
        "--elastic", help="Elastic deformation augmentation (slow).")] = False,
    export: Annotated[str, typer.Option(
        help="Weights to ship in weights.pt: final (last epoch) or best (validation).")
    ] = "final",
    task: Annotated[str, typer.Option(
        "--task", help="automatic (3D U-Net, nnU-Net style) or interactive (click-guided "
                       "network with simulated clicks; MODEL_DIR gets model.json + weights.pt)")
    ] = "automatic",
) -> None:
    """Train the automatic 3D U-Net (nnU-Net style) on one fold; plans first when needed.

    Writes plan, split, manifest, checkpoints, weights and training_log.csv to MODEL_DIR.

    Several GPUs: torchrun --nproc_per_node=N -m tumorseg.training.ddp_entry DATASET -o DIR

    Example: tumorseg train data/abdomen -o models/abdomen --fold 0 --epochs 50
    """
    require_folder_name(out, "-o", "")
    if not dataset.is_dir():
        raise InputError(f"{dataset}: no such dataset folder")
    if plan is not None and not plan.is_file():
        raise InputError(f"{plan}: no such plan file")
    if choice(task, ("automatic", "interactive"), "--task") == "interactive":
        _train_interactive(dataset, out, epochs, iterations_per_epoch, batch_size, lr, seed,
                           device, resume)
        return
    try:
        config = TrainingConfig(
            epochs=epochs, iterations_per_epoch=iterations_per_epoch, seed=seed,
            memory_budget_gb=gpu_memory, num_workers=num_workers,
            network_size=choice(network_size, ("default", "small", "tiny"),  # type: ignore[arg-type]
                                 "--network-size"),
            res_block=res_block, plan_file=None if plan is None else str(plan),
            architecture=(None if architecture is None else choice(  # type: ignore[arg-type]
                architecture, ARCHITECTURES, "--architecture")),
            optimizer=choice(optimizer, ("sgd", "adamw"), "--optimizer"),  # type: ignore[arg-type]
            learning_rate=lr, batch_size=batch_size,
            val_mode=choice(val_mode, ("sliding", "patches"), "--val-mode"),  # type: ignore[arg-type]
            augmentation=AugmentationConfig(elastic=elastic),
            export=choice(export, ("final", "best"), "--export"),  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    is_main = os.environ.get("RANK", "0") == "0"
    with _progress(is_main) as callback:
        result = train(dataset, out, fold, config, device, resume=resume, callback=callback)
    if not is_main:
        return
    dice = "-" if result.final_val_dice is None else f"{result.final_val_dice:.4f}"
    speed = ("-" if result.iterations_per_second is None
             else f"{result.iterations_per_second:.2f} it/s")
    err_console.print(f"fold {result.fold}: {result.epochs_completed} epochs, last val Dice "
                      f"{dice}, {speed}", markup=False, highlight=False)
    print(f"wrote {result.weights} (log {result.log})")

"""Write and read model folders: plan, dataset.json, manifest, hashed weights per fold."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from tumorseg.errors import InputError
from tumorseg.io import atomic_path, atomic_write_text
from tumorseg.models.folder import FOLD_ALL, ModelFolder, fold_name
from tumorseg.models.manifest import TASK_AUTOMATIC, FoldRecord, ModelManifest
from tumorseg.models.network import PlainUNet, SegmentationUNet, build_network
from tumorseg.planning import Plan

__all__ = [
    "list_folds",
    "load_model",
    "read_fold_record",
    "save_model_folder",
    "save_weights",
    "sha256_file",
]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(folder: ModelFolder) -> Iterator[None]:
    """Serialise read-modify-write of model.json between processes (e.g. folds in parallel)."""
    folder.root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, writes stay atomic
        yield
        return
    with open(folder.root / ".model.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _plan_key(plan: Plan) -> dict[str, Any]:
    d = plan.to_dict()
    d.pop("tumorseg_version", None)
    return d


def save_model_folder(model_dir: str | os.PathLike[str], plan: Plan,
                      dataset_json: str | os.PathLike[str] | Mapping[str, Any],
                      training: Mapping[str, Any] | None = None) -> ModelManifest:
    """Create (or check and reuse) a model folder: plan.json, dataset.json, model.json.

    Args:
        model_dir: the folder; created when missing.
        plan: the plan the network is trained with.
        dataset_json: the training dataset's dataset.json (its path, or its parsed content),
            copied to ``MODEL_DIR/dataset.json``.
        training: the training configuration, recorded in model.json when it is created.

    Returns:
        The manifest (the existing one when model.json was already there).

    Raises:
        InputError: ``MODEL_DIR/plan.json`` exists and differs from ``plan`` (another model
            lives there), or a file cannot be written.
    """
    folder = ModelFolder(model_dir)
    if folder.root.exists() and not folder.root.is_dir():
        raise InputError(f"{folder.root}: exists and is not a folder")
    try:
        folder.root.mkdir(parents=True, exist_ok=True)
        if folder.plan.exists():
            if _plan_key(Plan.load(folder.plan)) != _plan_key(plan):
                raise InputError(f"{folder.plan}: a different plan is already stored here; "
                                 "use another model folder")
        else:
            plan.save(folder.plan)
        if isinstance(dataset_json, Mapping):
            text = json.dumps(dict(dataset_json), indent=2) + "\n"
        else:
            text = Path(dataset_json).read_text(encoding="utf-8")
        atomic_write_text(folder.dataset_json, text)
        with _locked(folder):
            if folder.manifest.exists():
                return ModelManifest.load(folder.manifest)
            manifest = ModelManifest(task=TASK_AUTOMATIC, dataset_name=plan.dataset_name,
                                     architecture=plan.network.class_name,
                                     labels=dict(plan.labels),
                                     channel_names=tuple(plan.channel_names),
                                     training=dict(training or {}))
            atomic_write_text(folder.manifest, manifest.to_json())
            return manifest
    except OSError as exc:
        raise InputError(f"{exc.filename or folder.root}: cannot write ({exc.strerror})") from exc


def save_weights(model_dir: str | os.PathLike[str], fold: int | str,
                 weights: torch.nn.Module | Mapping[str, torch.Tensor], *, epochs: int,
                 exported_epoch: int | None = None,
                 val_dice: Mapping[str, float | None] | None = None,
                 val_dice_mean: float | None = None, best_epoch: int | None = None,
                 half: bool = True) -> FoldRecord:
    """Write ``fold_K/weights.pt`` atomically, hash it, and record it in fold.json and model.json.

    Args:
        model_dir: a folder made by :func:`save_model_folder`.
        fold: 0 … 4 or "all".
        weights: the network (its ``state_dict()``) or a state_dict.
        epochs: epochs trained; ``exported_epoch``: whose weights these are (default: epochs).
        val_dice, val_dice_mean, best_epoch: validation summary stored in the record.
        half: store floating-point tensors as float16 (half the size; loading casts back).

    Returns:
        The :class:`FoldRecord` written.
    """
    folder = ModelFolder(model_dir)
    name = fold_name(fold)
    state = weights.state_dict() if isinstance(weights, torch.nn.Module) else weights
    dtype = torch.float16 if half else torch.float32
    out = _converted(state, dtype)
    path = folder.weights(name)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(out, fh)
            fh.flush()
            os.fsync(fh.fileno())
    record = FoldRecord(
        fold=name, weights=path.relative_to(folder.root).as_posix(), sha256=sha256_file(path),
        size_bytes=path.stat().st_size, dtype=str(dtype).removeprefix("torch."), epochs=epochs,
        exported_epoch=epochs if exported_epoch is None else exported_epoch,
        val_dice=dict(val_dice or {}), val_dice_mean=val_dice_mean, best_epoch=best_epoch)
    atomic_write_text(folder.fold_record(name),
                      json.dumps(record.to_dict(), indent=2, allow_nan=False) + "\n")
    with _locked(folder):
        manifest = ModelManifest.load(folder.manifest).with_fold(record)
        atomic_write_text(folder.manifest, manifest.to_json())
    return record


def _converted(state: Mapping[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """CPU, contiguous copies with floating-point tensors in ``dtype``. Tensors shared by
    several keys (DynUNet registers each block twice) stay shared, so they are saved once."""
    done: dict[tuple[int, torch.dtype, tuple[int, ...]], torch.Tensor] = {}
    out = {}
    for k, v in state.items():
        key = (v.data_ptr(), v.dtype, tuple(v.shape))
        if key not in done:
            t = v.detach().to("cpu", dtype=dtype) if v.is_floating_point() else v.detach().cpu()
            done[key] = t.contiguous()
        out[k] = done[key]
    return out


def read_fold_record(model_dir: str | os.PathLike[str], fold: int | str) -> FoldRecord:
    """Read ``fold_K/fold.json``.

    Raises:
        InputError: missing (the fold has not finished training) or unreadable.
    """
    path = ModelFolder(model_dir).fold_record(fold)
    try:
        return FoldRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file (fold {fold_name(fold)} has no finished "
                         "weights)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: unreadable fold record ({exc})") from exc


def list_folds(model_dir: str | os.PathLike[str]) -> list[str]:
    """Folds of a model folder with finished weights, "0" … "4" then "all"."""
    root = Path(model_dir)
    names = []
    for d in sorted(root.glob("fold_*")) if root.is_dir() else []:
        name = d.name.removeprefix("fold_")
        if (d / "fold.json").is_file() and (d / "weights.pt").is_file():
            names.append(name)
    return sorted(names, key=lambda n: (int(n), "") if n.isdigit() else (10**6, n))


def _default_fold(model_dir: Path) -> str:
    folds = list_folds(model_dir)
    if not folds:
        raise InputError(f"{model_dir}: no fold with finished weights (fold_K/weights.pt and "
                         "fold.json)")
    return FOLD_ALL if FOLD_ALL in folds else folds[0]


def load_model(model_dir: str | os.PathLike[str], fold: int | str | None = None,
               device: str | torch.device = "cpu", verify: bool = True
               ) -> tuple[SegmentationUNet | PlainUNet, Plan, ModelManifest]:
    """Load one fold's network from a model folder, checking its SHA-256 first.

    Args:
        model_dir: a folder written by ``tumorseg train``.
        fold: 0 … 4 or "all"; None takes "all" when present, else the lowest fold.
        device: where to put the network.
        verify: compare the weights file's SHA-256 with ``fold_K/fold.json`` (and model.json).

    Returns:
        ``(network, plan, manifest)``: the network in ``eval()`` mode and float32 (its forward
        gives logits ``[b, classes, i, j, k]`` for input ``[b, channels, i, j, k]`` normalised
        and resampled as ``plan`` says — :func:`tumorseg.preprocessing.preprocess_case`), the
        :class:`~tumorseg.planning.Plan`, and the :class:`ModelManifest`.

    Raises:
        InputError: not a model folder, the fold has no weights, a hash mismatch (corrupt or
            modified file) or weights that do not fit the plan's network; one line naming
            the file.

    Example:
        >>> net, plan, manifest = load_model("models/abdomen", fold=0)   # doctest: +SKIP
    """
    folder = ModelFolder(model_dir)
    if not folder.root.is_dir():
        raise InputError(f"{folder.root}: no such model folder")
    manifest = ModelManifest.load(folder.manifest)
    plan = Plan.load(folder.plan)
    name = _default_fold(folder.root) if fold is None else fold_name(fold)
    record = read_fold_record(folder.root, name)
    path = folder.root / record.weights
    if not path.is_file():
        raise InputError(f"{path}: no such weights file")
    if verify:
        indexed = manifest.folds.get(name)
        if indexed is not None and indexed.sha256 != record.sha256:
            raise InputError(f"{folder.manifest}: SHA-256 of fold {name} differs from "
                             f"{folder.fold_record(name)}")
        actual = sha256_file(path)
        if actual != record.sha256:
            raise InputError(f"{path}: SHA-256 mismatch (expected {record.sha256[:12]}…, "
                             f"got {actual[:12]}…): the file is corrupt or was modified")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a broken file
        raise InputError(f"{path}: cannot read weights ({type(exc).__name__})") from exc
    network = build_network(plan)
    try:
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
        network.load_state_dict(state)
    except (RuntimeError, AttributeError) as exc:
        raise InputError(f"{path}: weights do not fit the network in {folder.plan}") from exc
    return network.to(device).eval(), plan, manifest

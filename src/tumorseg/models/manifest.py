"""The model manifest (``model.json``) and the per-fold record (``fold_K/fold.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tumorseg import __version__
from tumorseg.errors import InputError

__all__ = ["MODEL_FORMAT", "TASK_AUTOMATIC", "FoldRecord", "ModelManifest", "utc_now"]

#: Version of the model folder layout; bumped when files change meaning.
MODEL_FORMAT = 1
#: ``task`` of a fully automatic segmentation model (image → label map).
TASK_AUTOMATIC = "automatic"


def utc_now() -> str:
    """The current time as ISO 8601 UTC text, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class FoldRecord:
    """The shipped weights of one fold and how they came about (``fold_K/fold.json``).

    Attributes:
        fold: "0" … "4" or "all".
        weights: path of the weights file relative to the model folder ("fold_0/weights.pt").
        sha256: SHA-256 of the weights file (hex); checked on every load.
        size_bytes: size of the weights file.
        dtype: dtype the floating-point weights are stored in ("float16" or "float32").
        epochs: training epochs completed.
        exported_epoch: the epoch whose weights were shipped (the last, or the best).
        val_dice: Dice per foreground label (name → value) of the exported epoch's validation.
        val_dice_mean: mean of ``val_dice``, or None when there was no validation.
        best_epoch: epoch with the best smoothed validation Dice.
        finished: when the weights were written (ISO 8601 UTC).
    """

    fold: str
    weights: str
    sha256: str
    size_bytes: int
    dtype: str
    epochs: int
    exported_epoch: int
    val_dice: dict[str, float | None] = field(default_factory=dict)
    val_dice_mean: float | None = None
    best_epoch: int | None = None
    finished: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FoldRecord:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["fold"] = str(known["fold"])
        return cls(**known)


@dataclass(frozen=True)
class ModelManifest:
    """What a model folder holds (``model.json``).

    Attributes:
        task: :data:`TASK_AUTOMATIC` for an image → label-map model.
        dataset_name: the training dataset's name.
        labels: label name → value (background 0), as in the training dataset.json.
        channel_names: input channels in order, e.g. ``("CT",)``.
        architecture: the MONAI network class ("DynUNet", or "UNet" for a plain-UNet plan;
            its configuration is ``plan.network``).
        created: when the folder was created (ISO 8601 UTC).
        tumorseg_version: the version that created the folder.
        training: the :class:`~tumorseg.training.TrainingConfig` of the first run (dict);
            each fold's own is in ``fold_K/training_config.json``.
        folds: fold name → :class:`FoldRecord` of the folds whose weights are written. The
            per-fold ``fold_K/fold.json`` is authoritative; this is an index of them.
        format: :data:`MODEL_FORMAT`.
    """

    task: str
    dataset_name: str
    labels: dict[str, int]
    channel_names: tuple[str, ...]
    architecture: str = "DynUNet"
    created: str = field(default_factory=utc_now)
    tumorseg_version: str = __version__
    training: dict[str, Any] = field(default_factory=dict)
    folds: dict[str, FoldRecord] = field(default_factory=dict)
    format: int = MODEL_FORMAT

    def with_fold(self, record: FoldRecord) -> ModelManifest:
        """A copy with ``record`` added (or replacing the fold's previous record)."""
        folds = dict(self.folds)
        folds[record.fold] = record
        return replace(self, folds=dict(sorted(folds.items(), key=lambda kv: _fold_order(kv[0]))))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": self.format,
            "tumorseg_version": self.tumorseg_version,
            "task": self.task,
            "architecture": self.architecture,
            "dataset_name": self.dataset_name,
            "labels": dict(self.labels),
            "channel_names": list(self.channel_names),
            "created": self.created,
            "training": self.training,
            "folds": {k: v.to_dict() for k, v in self.folds.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelManifest:
        """Inverse of :meth:`to_dict`."""
        fmt = int(d.get("format", MODEL_FORMAT))
        if fmt > MODEL_FORMAT:
            raise ValueError(f"model format {fmt} is newer than this tumorseg ({MODEL_FORMAT})")
        return cls(
            task=str(d["task"]),
            dataset_name=str(d["dataset_name"]),
            labels={str(k): int(v) for k, v in d["labels"].items()},
            channel_names=tuple(str(c) for c in d["channel_names"]),
            architecture=str(d.get("architecture", "DynUNet")),
            created=str(d.get("created", "")),
            tumorseg_version=str(d.get("tumorseg_version", "unknown")),
            training=dict(d.get("training") or {}),
            folds={str(k): FoldRecord.from_dict(v) for k, v in (d.get("folds") or {}).items()},
            format=fmt,
        )

    def to_json(self) -> str:
        """Indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> ModelManifest:
        """Read ``model.json``; :class:`InputError` naming the file when it is unreadable."""
        p = Path(path)
        try:
            return cls.from_dict(json.loads(p.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise InputError(f"{p}: no model.json (is this a tumorseg model folder?)") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: not a readable tumorseg model manifest ({exc})") from exc


def _fold_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (10**6, name)

"""Bundled models as plain data, and resolving ``--model NAME|DIR`` to a model folder.

Importing this module does not import torch (as TotalSegmentator's ``registry.py``), so
listing models is instant. Bundled models live in ``tumorseg/models/bundled/<name>/`` inside
the installed package, in the model-folder format of :mod:`tumorseg.models`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tumorseg.errors import InputError

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "BundledModel",
    "bundled_model_dir",
    "bundled_root",
    "resolve_model",
]


@dataclass(frozen=True)
class BundledModel:
    """A model shipped inside the package.

    Attributes:
        name: what ``--model`` accepts.
        description: one line for listings.
        modality: input modality of its single channel.
        labels: label value → name of its outputs.
    """

    name: str
    description: str
    modality: str
    labels: dict[int, str]


#: Name of the model used when ``--model`` is omitted.
DEFAULT_MODEL = "abdomen-ct-lesions"

#: Every bundled model by name (present in the package only once it has been trained).
BUNDLED_MODELS: dict[str, BundledModel] = {
    DEFAULT_MODEL: BundledModel(
        name=DEFAULT_MODEL,
        description="Liver, kidney and pancreas lesions in abdominal CT "
                    "(trained on synthetic abdomen-ct phantoms)",
        modality="CT",
        labels={0: "background", 1: "lesion"},
    ),
}

_TRAIN_HINT = ("train one with `tumorseg train DATASET -o MODEL_DIR` "
               "or pass --model MODEL_DIR")


def bundled_root() -> Path:
    """The folder holding bundled models: ``<tumorseg package>/models/bundled``."""
    import tumorseg

    return Path(tumorseg.__file__).resolve().parent / "models" / "bundled"


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "plan.json").is_file()


def bundled_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """The folder of bundled model ``name``.

    Raises:
        InputError: an unknown name, or a known one that is not installed (with a hint on
            how to train a model or pass one).
    """
    if name not in BUNDLED_MODELS:
        known = ", ".join(sorted(BUNDLED_MODELS))
        raise InputError(f"{name}: unknown bundled model (known: {known})")
    path = bundled_root() / name
    if not _is_model_dir(path):
        raise InputError(f"no bundled model installed (looked for {path}); {_TRAIN_HINT}")
    return path


def resolve_model(model: str | os.PathLike[str] | None = None) -> Path:
    """``--model`` → a model folder: None = the default bundled model; an existing folder;
    or the name of a bundled model.

    Raises:
        InputError: naming the argument when it is neither.
    """
    if model is None:
        return bundled_model_dir(DEFAULT_MODEL)
    path = Path(model)
    if path.is_dir():
        if not _is_model_dir(path):
            raise InputError(f"{path}: not a model folder (no plan.json); {_TRAIN_HINT}")
        return path
    if str(model) in BUNDLED_MODELS:
        return bundled_model_dir(str(model))
    if path.exists():
        raise InputError(f"{path}: a model must be a folder (with plan.json, model.json, fold_K/)")
    known = ", ".join(sorted(BUNDLED_MODELS))
    raise InputError(f"{path}: no such model folder or bundled model (bundled: {known})")

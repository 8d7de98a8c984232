"""Automatic segmentation with a trained model: sliding window, mirroring, fold ensemble,
uncertainty, and the files ``tumorseg predict`` reads and writes.

* :mod:`~tumorseg.inference.predictor`: :class:`Predictor` (load once, predict many) and
  :class:`PredictorConfig`.
* :mod:`~tumorseg.inference.sliding`: :func:`sliding_window_probabilities`, the pure function
  behind it (MONAI sliding window, Gaussian weighting, mirroring, mean softmax of folds).
* :mod:`~tumorseg.inference.uncertainty`: voxel entropy map and per-case scores.
* :mod:`~tumorseg.inference.prediction`: :class:`Prediction`, a volume's result.
* :mod:`~tumorseg.inference.inputs`: files, DICOM folders, folders of cases, CSV → cases.
* :mod:`~tumorseg.inference.files`: :func:`predict_files`, writing masks, lesion tables,
  probabilities, uncertainty and the run manifest.
* :mod:`~tumorseg.inference.registry`: bundled models (no torch import).

The names below are imported lazily on first use, so ``import tumorseg.inference.registry``
(e.g. to list models) does not import torch.

Arrays are [i, j, k] or channel-first [c, i, j, k]; spacing in mm; positions LPS
(conventions in :mod:`tumorseg.io`).

Example:
    >>> from tumorseg.inference import Predictor                       # doctest: +SKIP
    >>> predictor = Predictor.from_model_dir("models/abdomen")        # doctest: +SKIP
    >>> run = predictor.predict_files(["ct.nii.gz"], "out/mask.nii.gz")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tumorseg.inference.device import (
        resolve_device,
    )
    from tumorseg.inference.files import (
        CaseResult,
        OutputPaths,
        PredictRun,
        output_paths,
        predict_files,
    )
    from tumorseg.inference.inputs import (
        CaseInput,
        collect_cases,
        read_case,
        read_case_csv,
    )
    from tumorseg.inference.prediction import (
        Prediction,
    )
    from tumorseg.inference.predictor import (
        Predictor,
        PredictorConfig,
        parse_folds,
    )
    from tumorseg.inference.registry import (
        BUNDLED_MODELS,
        DEFAULT_MODEL,
        BundledModel,
        bundled_model_dir,
        resolve_model,
    )
    from tumorseg.inference.sliding import (
        EnsembleWindow,
        mirror_combinations,
        sliding_window_probabilities,
    )
    from tumorseg.inference.uncertainty import (
        CaseUncertainty,
        case_uncertainty,
        entropy_map,
    )

#: Public name → submodule that defines it.
_WHERE: dict[str, str] = {
    "resolve_device": "device",
    "CaseResult": "files",
    "OutputPaths": "files",
    "PredictRun": "files",
    "output_paths": "files",
    "predict_files": "files",
    "CaseInput": "inputs",
    "collect_cases": "inputs",
    "read_case": "inputs",
    "read_case_csv": "inputs",
    "Prediction": "prediction",
    "Predictor": "predictor",
    "PredictorConfig": "predictor",
    "parse_folds": "predictor",
    "BUNDLED_MODELS": "registry",
    "DEFAULT_MODEL": "registry",
    "BundledModel": "registry",
    "bundled_model_dir": "registry",
    "resolve_model": "registry",
    "EnsembleWindow": "sliding",
    "mirror_combinations": "sliding",
    "sliding_window_probabilities": "sliding",
    "CaseUncertainty": "uncertainty",
    "case_uncertainty": "uncertainty",
    "entropy_map": "uncertainty",
}

__all__ = [
    "BUNDLED_MODELS",
    "DEFAULT_MODEL",
    "BundledModel",
    "CaseInput",
    "CaseResult",
    "CaseUncertainty",
    "EnsembleWindow",
    "OutputPaths",
    "PredictRun",
    "Prediction",
    "Predictor",
    "PredictorConfig",
    "bundled_model_dir",
    "case_uncertainty",
    "collect_cases",
    "entropy_map",
    "mirror_combinations",
    "output_paths",
    "parse_folds",
    "predict_files",
    "read_case",
    "read_case_csv",
    "resolve_device",
    "resolve_model",
    "sliding_window_probabilities",
]


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first access (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tumorseg.inference.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

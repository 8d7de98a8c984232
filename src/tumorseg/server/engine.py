"""The models, loaded once and shared by every session, and the queues they run on.

* The interactive model is loaded at start (or given). All model work — clicks, boxes and
  the automatic model — runs on one thread pool of ``model_workers`` threads, which takes
  jobs first-in first-out across sessions: a fair queue. Light work (undo, accept, exports)
  runs on a second pool so it never waits behind other users' clicks.
* The automatic model (``POST …/auto``) is loaded on first use; :attr:`Engine.auto_info`
  then describes it (:func:`auto_model_description`), so the audit trail and the report
  credit the model that made each lesion.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.io import Volume
from tumorseg.server.config import ServerConfig
from tumorseg.server.errors import Conflict

__all__ = ["Engine", "auto_model_description", "model_description"]

log = logging.getLogger(__name__)


def model_description(model: Any, source: str | None) -> dict[str, Any]:
    """Name, version, weights hash and validation of an interactive model (JSON-ready)."""
    spec = getattr(model, "spec", None)
    weights = dict(getattr(spec, "weights", {}) or {})
    sha = str(weights.get("sha256", ""))
    name = Path(source).name if source else type(model).__name__
    version = str(getattr(spec, "version", "") or "")
    return {"name": name, "version": version, "sha256": sha or None,
            "id": f"{name}@{version}" + (f"+{sha[:8]}" if sha else ""),
            "spacing_mm": list(getattr(spec, "spacing_mm", []) or []),
            "patch_size": list(getattr(spec, "patch_size", []) or []),
            "validation": dict(getattr(spec, "validation", {}) or {})}


def auto_model_description(auto: Any) -> dict[str, Any]:
    """Name, version, weights hash and id of an automatic model (JSON-ready).

    ``auto`` is a :class:`~tumorseg.inference.Predictor` loaded from a model folder (name:
    the folder's; version: the tumorseg version that wrote it; sha256: its fold's weights,
    or a hash of every fold's when there are several) or a callable (name: its
    ``__name__``, version: its ``version`` attribute, if any). ``id`` is
    ``name@version[+sha256[:8]]``, as for the interactive model.
    """
    model_dir = getattr(auto, "model_dir", None)
    if model_dir is not None:
        manifest = getattr(auto, "manifest", None)
        name = Path(model_dir).name
        version = str(getattr(manifest, "tumorseg_version", "") or "")
        folds = dict(auto.describe().get("weights_sha256") or {})
        if len(folds) == 1:
            sha = str(next(iter(folds.values())))
        else:
            joined = ";".join(f"{k}:{v}" for k, v in sorted(folds.items()))
            sha = hashlib.sha256(joined.encode()).hexdigest() if folds else ""
    else:
        name = str(getattr(auto, "__name__", "") or type(auto).__name__)
        version, sha = str(getattr(auto, "version", "") or ""), ""
    return {"name": name, "version": version, "sha256": sha or None,
            "id": f"{name}@{version}" + (f"+{sha[:8]}" if sha else "")}


class Engine:
    """Shared models and work queues (see the module docstring).

    Attributes:
        model: the interactive model, or None when none could be loaded (``model_error``
            says why; click endpoints then answer 409).
        info: :func:`model_description` of it, or None.
        auto_info: :func:`auto_model_description` of the automatic model once loaded, or
            None.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.model: Any = None
        self.info: dict[str, Any] | None = None
        self.model_error: str | None = None
        self._load_interactive()
        self.model_pool = ThreadPoolExecutor(config.model_workers, thread_name_prefix="model")
        self.light_pool = ThreadPoolExecutor(8, thread_name_prefix="light")
        self._auto: Callable[[Volume], np.ndarray] | None = None
        self.auto_info: dict[str, Any] | None = None
        self._auto_lock = threading.Lock()

    def _load_interactive(self) -> None:
        model = self.config.model
        if model is not None and not isinstance(model, str | Path):
            self.model, source = model, None
        else:
            from tumorseg.errors import InputError
            from tumorseg.interactive.model import InteractiveModel, resolve_interactive_model

            try:
                source = str(resolve_interactive_model(model))
                self.model = InteractiveModel.load(model, device=self.config.device,
                                                   threads=self.config.torch_threads)
                if self.model.device.type == "cuda":
                    # the first user's first click should not pay CUDA's one-off start-up
                    # costs (on the CPU a warm-up pass measured no gain: benchmarks/RESULTS.md)
                    log.info("interactive model warmed up in %.2f s", self.model.warm_up())
            except InputError as exc:
                self.model_error = str(exc)
                log.warning("no interactive model: %s", exc)
                return
        self.info = model_description(self.model, source)

    @property
    def model_version(self) -> str | None:
        """The interactive model's id (``name@version+sha``), or None."""
        return None if self.info is None else self.info["id"]

    @property
    def auto_version(self) -> str | None:
        """The automatic model's id, or None before its first use."""
        return None if self.auto_info is None else self.auto_info["id"]

    def require_model(self) -> Any:
        """The interactive model, or :class:`Conflict` saying why there is none."""
        if self.model is None:
            raise Conflict(f"no interactive model loaded ({self.model_error}); start tumorseg "
                           "serve with --model DIR")
        return self.model

    def auto_segment(self, volume: Volume) -> np.ndarray:
        """Lesion mask ``[i, j, k]`` (nonzero = lesion) from the automatic model."""
        with self._auto_lock:
            if self._auto is None:
                self._auto = self._load_auto()
        return np.asarray(self._auto(volume))

    def _load_auto(self) -> Callable[[Volume], np.ndarray]:
        auto = self.config.auto_model
        if callable(auto):
            self.auto_info = auto_model_description(auto)
            return auto
        from tumorseg.inference import Predictor
        from tumorseg.inference.registry import resolve_model

        predictor = Predictor.from_model_dir(resolve_model(auto), device=self.config.device,
                                             fast=True)
        self.auto_info = auto_model_description(predictor)
        return lambda volume: np.asarray(predictor.predict_volume(volume).labels.array)

    def shutdown(self) -> None:
        self.model_pool.shutdown(wait=False, cancel_futures=True)
        self.light_pool.shutdown(wait=False, cancel_futures=True)

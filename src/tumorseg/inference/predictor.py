"""Load a trained model once, predict many volumes (nnU-Net's ``nnUNetPredictor`` pattern).

Per volume (:meth:`Predictor.predict_volume`):

1. reorient exactly (axis permutation/flip, no interpolation) to the orientation closest to
   LPS (:func:`tumorseg.io.to_lps`), so a NIfTI stored right-to-left and a DICOM series look
   the same to the network;
2. :func:`~tumorseg.preprocessing.preprocess_case` as the plan says (crop to nonzero,
   normalise, resample to the target spacing);
3. :func:`~tumorseg.inference.sliding.sliding_window_probabilities`: sliding window with the
   plan's patch, Gaussian weighting, 50 % overlap, mirroring over all axis combinations
   (8 copies; none with ``fast=True``), the mean softmax over every fold;
4. :func:`~tumorseg.preprocessing.restore_to_original` of the probabilities (linear), then
   back to the input's orientation; the label map is their argmax and the uncertainty their
   normalised entropy, so all three agree voxel by voxel.

Every output is a :class:`~tumorseg.io.Volume` on the input's grid, its size, spacing,
origin and direction copied exactly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tumorseg.errors import InputError
from tumorseg.inference.device import resolve_device
from tumorseg.inference.prediction import Prediction
from tumorseg.inference.sliding import (
    WindowProgress,
    mirror_combinations,
    sliding_window_probabilities,
)
from tumorseg.inference.uncertainty import entropy_map
from tumorseg.io import Volume, reorient, to_lps
from tumorseg.preprocessing import PreprocessedCase, preprocess_case, restore_to_original

if TYPE_CHECKING:
    from tumorseg.inference.files import PredictRun
    from tumorseg.models import ModelManifest
    from tumorseg.planning import Plan

__all__ = ["Predictor", "PredictorConfig", "parse_folds"]


@dataclass(frozen=True)
class PredictorConfig:
    """How :class:`Predictor` runs the network.

    Attributes:
        overlap: fraction of a window shared with its neighbours (nnU-Net: 0.5).
        mirror_axes: axes (0 = i, 1 = j, 2 = k) for mirroring test-time augmentation;
            all their combinations are used (8 for three axes). ``()`` = none (``fast``).
        sw_batch_size: windows per network call; None = 2 (on the CPU a batch of one
            conv3d takes PyTorch's slow im2col kernel, see models.network).
        amp: float16 autocast on CUDA; None = on for CUDA (never on the CPU).
        half_precision_output: stitch the sliding-window output in float16 (half memory).
        canonical_orientation: reorient inputs to the orientation closest to LPS before the
            network (exact, undone afterwards).
    """

    overlap: float = 0.5
    mirror_axes: tuple[int, ...] = (0, 1, 2)
    sw_batch_size: int | None = None
    amp: bool | None = None
    half_precision_output: bool = False
    canonical_orientation: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.overlap < 1.0:
            raise InputError(f"overlap must be in [0, 1), got {self.overlap}")
        object.__setattr__(self, "mirror_axes", tuple(int(a) for a in self.mirror_axes))
        mirror_combinations(self.mirror_axes)  # validates
        if self.sw_batch_size is not None and self.sw_batch_size < 1:
            raise InputError(f"sw_batch_size must be ≥ 1, got {self.sw_batch_size}")

    @property
    def n_mirrors(self) -> int:
        """Mirrored copies per window (1 without test-time augmentation)."""
        return 2 ** len(self.mirror_axes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["mirror_axes"] = list(self.mirror_axes)
        return d


def parse_folds(folds: str | int | Sequence[int | str] | None,
                available: Sequence[str]) -> list[str]:
    """Which folds to ensemble.

    Args:
        folds: None or "auto" (every numbered fold present, else "all"), "all available"
            (every fold present, numbered and "all"), one fold (``0`` or ``"all"``), a
            comma-separated string ``"0,1,2"`` or a sequence.
        available: folds with finished weights (:func:`tumorseg.models.list_folds`).

    Raises:
        InputError: no folds available, or a requested fold is missing.
    """
    from tumorseg.models import fold_name

    if not available:
        raise InputError("the model folder has no fold with finished weights")
    if folds is None or (isinstance(folds, str) and folds.strip().lower() == "auto"):
        numbered = [f for f in available if f.isdigit()]
        return numbered or list(available)
    if isinstance(folds, str) and folds.strip().lower() in ("all available", "available"):
        return list(available)
    if isinstance(folds, str):
        items: list[int | str] = [f for f in folds.replace(" ", "").split(",") if f]
    elif isinstance(folds, int):
        items = [folds]
    else:
        items = list(folds)
    names = []
    for item in items:
        name = fold_name(item)
        if name not in available:
            raise InputError(f"fold {name} has no finished weights (available: "
                             f"{', '.join(available)})")
        if name not in names:
            names.append(name)
    if not names:
        raise InputError(f"no fold given in {folds!r}")
    return names


def _argmax_labels(probabilities: np.ndarray, chunk: int = 16) -> np.ndarray:
    """Argmax over the class axis as uint8 (uint16 beyond 256 classes), a few slices at a
    time so no full-size int64 index array is made."""
    n = probabilities.shape[0]
    out = np.empty(probabilities.shape[1:], dtype=np.uint8 if n <= 256 else np.uint16)
    for k in range(0, out.shape[2], chunk):
        out[..., k:k + chunk] = np.argmax(probabilities[..., k:k + chunk], axis=0)
    return out


class Predictor:
    """A model loaded once, ready to predict many volumes.

    Build it with :meth:`from_model_dir` (or directly from networks and a plan, e.g. in
    tests), then call :meth:`predict_volume` or :meth:`predict_files`.

    Example:
        >>> p = Predictor.from_model_dir("models/abdomen", fast=True)     # doctest: +SKIP
        >>> pred = p.predict_volume(read_volume("ct.nii.gz"))             # doctest: +SKIP
        >>> pred.labels.shape == pred.probabilities.shape                 # doctest: +SKIP
        True
    """

    def __init__(self, networks: Sequence[torch.nn.Module], plan: Plan,
                 device: str | torch.device = "cpu", config: PredictorConfig | None = None,
                 folds: Sequence[str] = (), manifest: ModelManifest | None = None,
                 model_dir: str | os.PathLike[str] | None = None) -> None:
        if not networks:
            raise InputError("a predictor needs at least one network")
        self.device = resolve_device(device)
        self.networks = [net.to(self.device).eval() for net in networks]
        self.plan = plan
        self.config = config or PredictorConfig()
        self.folds = tuple(folds)
        self.manifest = manifest
        self.model_dir = None if model_dir is None else Path(model_dir)
        values = sorted(int(v) for v in plan.labels.values())
        if values != list(range(len(values))):
            raise InputError(f"{self.model_dir or 'plan'}: label values must be 0 … "
                             f"{len(values) - 1} (one network output channel each), got {values}")

    @classmethod
    def from_model_dir(cls, model_dir: str | os.PathLike[str],
                       folds: str | int | Sequence[int | str] | None = None,
                       device: str | torch.device = "auto", fast: bool = False,
                       config: PredictorConfig | None = None, verify: bool = True,
                       ) -> Predictor:
        """Load the networks of ``folds`` from a model folder (SHA-256 checked).

        Args:
            model_dir: a folder written by ``tumorseg train`` (see :mod:`tumorseg.models`).
            folds: see :func:`parse_folds`; default: every numbered fold (else "all").
            device: "cpu", "cuda", "cuda:N" or "auto".
            fast: no mirroring test-time augmentation (8× fewer network passes).
            config: further settings; ``fast`` overrides its ``mirror_axes``.
            verify: check the weights' SHA-256.

        Raises:
            InputError: a missing or broken model folder or fold (naming the file).
        """
        from tumorseg.models import list_folds, load_model

        root = Path(model_dir)
        if not root.is_dir():
            raise InputError(f"{root}: no such model folder")
        dev = resolve_device(device)
        names = parse_folds(folds, list_folds(root))
        loaded = [load_model(root, name, device=dev, verify=verify) for name in names]
        config = config or PredictorConfig()
        if fast:
            config = replace(config, mirror_axes=())
        plan, manifest = loaded[0][1], loaded[0][2]
        return cls([n for n, _, _ in loaded], plan, dev, config, names, manifest, root)

    # ------------------------------------------------------------------ properties
    @property
    def channel_names(self) -> tuple[str, ...]:
        """Input channels the model expects, in order."""
        return tuple(self.plan.channel_names)

    @property
    def n_channels(self) -> int:
        """Number of input channels."""
        return len(self.plan.channel_names)

    @property
    def label_names(self) -> dict[int, str]:
        """Label value → name (background included)."""
        return {int(v): str(k) for k, v in self.plan.labels.items()}

    @property
    def n_classes(self) -> int:
        """Output classes, background included."""
        return self.plan.num_classes

    @property
    def sw_batch_size(self) -> int:
        """Windows per network call."""
        if self.config.sw_batch_size is not None:
            return self.config.sw_batch_size
        return 2  # ≥ 2 also on the CPU: batch-1 conv3d takes PyTorch's slow kernel there

    def describe(self) -> dict[str, Any]:
        """What runs: model, folds, device and settings (for the run manifest)."""
        from tumorseg.models import read_fold_record

        sha = {}
        if self.model_dir is not None:
            for f in self.folds:
                sha[f] = read_fold_record(self.model_dir, f).sha256
        m = self.manifest
        return {
            "model_dir": None if self.model_dir is None else str(self.model_dir.resolve()),
            "dataset_name": self.plan.dataset_name,
            "model_created": None if m is None else m.created,
            "model_tumorseg_version": None if m is None else m.tumorseg_version,
            "folds": list(self.folds),
            "weights_sha256": sha,
            "labels": {str(k): v for k, v in self.label_names.items()},
            "channel_names": list(self.channel_names),
            "patch_size": list(self.plan.patch_size),
            "target_spacing_mm": list(self.plan.target_spacing),
            "device": str(self.device),
            "sw_batch_size": self.sw_batch_size,
            "test_time_mirroring": len(self.config.mirror_axes) > 0,
            "ensemble_members_per_window": len(self.networks) * self.config.n_mirrors,
            **self.config.to_dict(),
        }

    # ------------------------------------------------------------------ prediction
    def predict_preprocessed(self, case: PreprocessedCase | np.ndarray,
                             progress: WindowProgress | None = None) -> np.ndarray:
        """Mean softmax [classes, i, j, k] on the preprocessed grid (float32).

        ``case`` is a :class:`PreprocessedCase` or its array [c, i, j, k]; ``progress(done,
        total)`` is called as sliding windows finish.
        """
        array = case.array if isinstance(case, PreprocessedCase) else np.asarray(case)
        if array.ndim != 4 or array.shape[0] != self.n_channels:
            raise InputError(f"preprocessed input of shape {array.shape}: expected "
                             f"[{self.n_channels}, i, j, k]")
        probs = sliding_window_probabilities(
            self.networks, array, self.plan.patch_size, overlap=self.config.overlap,
            mirror_axes=self.config.mirror_axes, sw_batch_size=self.sw_batch_size,
            device=self.device, amp=self.config.amp,
            half_precision_output=self.config.half_precision_output, progress=progress)
        return probs

    def predict_volume(self, volume: Volume, progress: WindowProgress | None = None
                       ) -> Prediction:
        """Predict one volume ([i, j, k], or [c, i, j, k] with the model's channels in order).

        ``progress(done, total)`` is called as the sliding windows finish (most of the time).

        Returns:
            A :class:`Prediction` on ``volume``'s exact grid (not post-processed).

        Raises:
            InputError: the wrong number of channels (naming ``volume.source``).
        """
        where = volume.source or "input volume"
        if volume.n_channels != self.n_channels:
            raise InputError(f"{where}: {volume.n_channels} channel(s), the model expects "
                             f"{self.n_channels} ({', '.join(self.channel_names)})")
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        work = to_lps(volume) if self.config.canonical_orientation else volume
        case = preprocess_case(work, self.plan)
        seconds["preprocess"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        probs = self.predict_preprocessed(case, progress)
        seconds["network"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        restored = restore_to_original(probs.astype(np.float32, copy=False), case,
                                       is_label=False)
        del probs
        if restored.array.ndim == 3:  # a single-class model: keep the channel axis
            restored = restored.with_array(restored.array[None])
        if work is not volume:
            restored = reorient(restored, volume.direction)
        prob_array = np.ascontiguousarray(restored.array, dtype=np.float32)
        del restored
        if prob_array.shape[1:] != volume.shape:
            raise RuntimeError(f"restored shape {prob_array.shape[1:]} != input {volume.shape}")
        labels = _argmax_labels(prob_array)
        entropy = entropy_map(prob_array)
        seconds["restore"] = time.perf_counter() - t2
        grid = dict(spacing=volume.spacing, origin=volume.origin,
                    direction=volume.direction.copy(), source=volume.source)
        return Prediction(
            labels=Volume(labels, modality="SEG", **grid),
            probabilities=Volume(prob_array, modality="unknown",
                                 channel_names=tuple(self.label_names.get(c, str(c))
                                                     for c in range(prob_array.shape[0])),
                                 **grid),
            uncertainty=Volume(entropy, **grid),
            label_names=self.label_names,
            seconds={k: round(v, 3) for k, v in seconds.items()},
        )

    def predict_files(self, inputs: Sequence[str | os.PathLike[str]],
                      output: str | os.PathLike[str], **kwargs: Any) -> PredictRun:
        """Predict files and write the outputs; see :func:`tumorseg.inference.files.predict_files`
        for the arguments and what is written."""
        from tumorseg.inference.files import predict_files

        return predict_files(self, inputs, output, **kwargs)

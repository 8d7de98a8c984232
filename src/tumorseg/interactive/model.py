"""The click-guided network and its self-describing model folder.

The network is a 3D U-Net (:func:`tumorseg.models.build_network`, MONAI DynUNet) over the
channels ``[image channel(s)…, positive guidance, negative guidance, prior mask]``, all
``[i, j, k]`` on the model grid (``spacing_mm``, isotropic-ish), giving two-class logits
(background, lesion). It is modality-agnostic: one image channel is segmented at a time, and
:func:`roi_image_channels` normalises it per ROI with one of two schemes (``model.json``
``normalization.scheme``):

* ``"roi-percentile-zscore"`` (1 channel, the default and the bundled model's): clip to the
  ROI's 0.5–99.5 percentiles, z-score (:func:`normalize_roi`). Air and bone in a CT ROI
  inflate the standard deviation, so a 25 HU liver lesion is only ≈ 0.1 units from the liver.
* ``"roi-zscore+local-window"`` (2 channels): the z-score above, plus an automatic "window"
  centred on the middle of the ROI (:func:`local_window`: median and 1.4826 × MAD of the
  central half of the ROI, clipped to ±5) — for CT a soft-tissue window around the lesion
  (5× the lesion contrast of the z-score on training phantoms), for MRI/PET the contrast of
  the lesion against its surroundings. The adaptive guidance grows on this channel
  (:func:`guide_image`). Trained for the same time it measured no better than the default
  (``benchmarks/RESULTS.md``), so it is an option (``--normalization``), not the default.

Model folder::

    MODEL_DIR/model.json          InteractiveModelSpec: format, task "interactive", version,
                                  spacing_mm, patch_size, normalization, guidance, network,
                                  training, split, weights {path, sha256, size_bytes, dtype},
                                  validation (Dice after 1 and 5 simulated clicks)
    MODEL_DIR/weights.pt          state_dict, float16 (loaded as float32), checked by SHA-256
    MODEL_DIR/training_log.csv    one row per epoch
    MODEL_DIR/checkpoint_latest.pt  resumable training state (not needed for inference)

Example:
    >>> model = InteractiveModel.load()        # the bundled model    # doctest: +SKIP
    >>> prob = model.predict(roi, pos, neg, prior)                # all [i, j, k] float32
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.inference.sliding import mirror_combinations
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.refine import RefinementConfig, refine_probability
from tumorseg.io import atomic_path, atomic_write_text
from tumorseg.models import SegmentationUNet, build_network, sha256_file, utc_now
from tumorseg.planning import NetworkConfig

__all__ = [
    "BUNDLED_INTERACTIVE",
    "DEFAULT_MIRROR_AXES",
    "DEFAULT_NORMALIZATION",
    "INTERACTIVE_FORMAT",
    "NORMALIZATION_SCHEMES",
    "UNNAMED_NORMALIZATION",
    "InteractiveModel",
    "InteractiveModelSpec",
    "bundled_interactive_dir",
    "default_network",
    "guide_image",
    "local_window",
    "normalization_record",
    "normalize_roi",
    "resolve_interactive_model",
    "roi_image_channels",
    "save_interactive_weights",
    "scheme_channels",
]

INTERACTIVE_FORMAT = "tumorseg-interactive-model/1"
BUNDLED_INTERACTIVE = "interactive-lesions"
GUIDE_CHANNELS = 3  # positive, negative, prior
NORMALIZATION_SCHEMES = {"roi-percentile-zscore": 1, "roi-zscore+local-window": 2}
DEFAULT_NORMALIZATION = "roi-percentile-zscore"
#: The scheme of model folders (and training configurations) that name none.
UNNAMED_NORMALIZATION = "roi-percentile-zscore"
#: Percentiles the z-score clips to; ± range of the local window (its units: robust SDs).
ZSCORE_PERCENTILES = (0.5, 99.5)
WINDOW_CLIP = 5.0
#: Mirroring test-time augmentation of :class:`InteractiveModel`: none by default, chosen by
#: measurement — mirroring along i and j raised the Dice after one click slightly but lowered
#: it after five (benchmarks/RESULTS.md, "mirroring TTA").
DEFAULT_MIRROR_AXES: tuple[int, ...] = ()


def bundled_interactive_dir(name: str = BUNDLED_INTERACTIVE) -> Path:
    """Folder of a bundled interactive model inside the installed package."""
    return Path(__file__).resolve().parents[1] / "models" / "bundled" / name


def resolve_interactive_model(model: str | os.PathLike[str] | None) -> Path:
    """A model folder from None (the bundled model), a bundled name, or a folder path.

    Raises:
        InputError: nothing matches.
    """
    if model is None:
        path = bundled_interactive_dir()
    else:
        path = Path(model)
        if not path.is_dir() and bundled_interactive_dir(str(model)).is_dir():
            path = bundled_interactive_dir(str(model))
    if not (path / "model.json").is_file():
        raise InputError(f"{path}: not an interactive model folder (no model.json)")
    return path


def default_network(features: tuple[int, ...] = (8, 16, 32, 64),
                    normalization: str = DEFAULT_NORMALIZATION) -> NetworkConfig:
    """The guided U-Net: 3³ kernels, stride-2 pooling per stage, deep supervision; its input
    channels are the image channels of ``normalization`` plus the three guidance channels."""
    n = len(features)
    return NetworkConfig(in_channels=scheme_channels(normalization) + GUIDE_CHANNELS,
                         out_channels=2,
                         kernel_sizes=((3, 3, 3),) * n,
                         strides=((1, 1, 1),) + ((2, 2, 2),) * (n - 1),
                         features=tuple(features), deep_supervision=True, deep_supr_num=1)


def normalize_roi(roi: np.ndarray) -> np.ndarray:
    """Clip ``roi`` to its 0.5–99.5 percentiles and z-score it; float32 copy.

    A constant ROI becomes all zeros.
    """
    x = np.asarray(roi, dtype=np.float32)
    lo, hi = np.percentile(x, list(ZSCORE_PERCENTILES))
    x = np.clip(x, lo, hi)
    std = float(x.std())
    return ((x - float(x.mean())) / (std if std > 1e-6 else 1.0)).astype(np.float32)


def local_window(roi: np.ndarray, clip: float = WINDOW_CLIP) -> np.ndarray:
    """``(roi - m) / s`` clipped to ``±clip``, with ``m`` the median and ``s`` the robust
    standard deviation (1.4826 × MAD; the plain one when the MAD is 0) of the central half of
    the ROI along each axis; float32. A constant ROI becomes all zeros."""
    x = np.asarray(roi, dtype=np.float32)
    centre = x[tuple(slice(n // 4, n - n // 4) if n >= 4 else slice(None) for n in x.shape)]
    m = float(np.median(centre))
    s = 1.4826 * float(np.median(np.abs(centre - m)))
    if s <= 1e-6:
        s = float(centre.std())
    if s <= 1e-6:
        return np.zeros_like(x)
    return np.clip((x - m) / s, -clip, clip).astype(np.float32)


def scheme_channels(scheme: str) -> int:
    """Number of image channels a normalisation scheme makes.

    Raises:
        ValueError: unknown scheme.
    """
    if scheme not in NORMALIZATION_SCHEMES:
        raise ValueError(f"unknown ROI normalisation {scheme!r} (known: "
                         f"{', '.join(NORMALIZATION_SCHEMES)})")
    return NORMALIZATION_SCHEMES[scheme]


def roi_image_channels(roi: np.ndarray, scheme: str = DEFAULT_NORMALIZATION) -> np.ndarray:
    """The network's image channels ``[c, i, j, k]`` (float32) for a raw ROI ``[i, j, k]``."""
    if scheme_channels(scheme) == 1:
        return normalize_roi(roi)[None]
    return np.stack([normalize_roi(roi), local_window(roi)])


def normalization_record(scheme: str = DEFAULT_NORMALIZATION) -> dict[str, Any]:
    """The ``normalization`` entry of model.json for ``scheme`` (with its constants)."""
    record: dict[str, Any] = {"scheme": scheme, "percentiles": list(ZSCORE_PERCENTILES)}
    if scheme_channels(scheme) > 1:
        record["window_clip"] = WINDOW_CLIP
    return record


def guide_image(channels: np.ndarray) -> np.ndarray:
    """The image the adaptive guidance grows on: the last image channel (``[c, i, j, k]``) or
    the image itself (``[i, j, k]``)."""
    return channels if channels.ndim == 3 else channels[-1]


@dataclass(frozen=True)
class InteractiveModelSpec:
    """Everything ``model.json`` says about an interactive model (see the module docstring).

    Attributes:
        spacing_mm: model grid spacing (i, j, k), mm.
        patch_size: ROI size on the model grid (voxels, i, j, k); each a multiple of 8.
        guidance: click encoding the network was trained with.
        network: the U-Net.
        normalization: how ROIs are normalised: ``scheme`` (see :func:`roi_image_channels`);
            model folders without one use ``"roi-percentile-zscore"``.
        training: training configuration (plain JSON).
        split: training / validation case names.
        weights: {path (relative to the folder), sha256, size_bytes, dtype}.
        validation: validation results, e.g. {"dice_after_1": …, "dice_after_5": …}.
        refinement: what :meth:`InteractiveModel.predict` does to the network's probability
            (:mod:`tumorseg.interactive.refine`); model folders without one: none.
        version: tumorseg version that wrote it; created: UTC time.
    """

    spacing_mm: tuple[float, float, float]
    patch_size: tuple[int, int, int]
    guidance: GuidanceConfig
    network: NetworkConfig
    normalization: dict[str, Any] = field(default_factory=normalization_record)
    training: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    refinement: RefinementConfig = field(default_factory=RefinementConfig)
    version: str = __version__
    created: str = field(default_factory=utc_now)

    @property
    def normalization_scheme(self) -> str:
        """The ROI normalisation scheme (:func:`roi_image_channels`)."""
        return str(self.normalization.get("scheme", UNNAMED_NORMALIZATION))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (with ``format`` and ``task``)."""
        d = asdict(self)
        d["guidance"] = self.guidance.to_dict()
        d["network"] = self.network.to_dict()
        d["refinement"] = self.refinement.to_dict()
        d["spacing_mm"] = list(self.spacing_mm)
        d["patch_size"] = list(self.patch_size)
        return {"format": INTERACTIVE_FORMAT, "task": "interactive", **d}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InteractiveModelSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(spacing_mm=tuple(float(v) for v in d["spacing_mm"]),  # type: ignore[arg-type]
                   patch_size=tuple(int(v) for v in d["patch_size"]),  # type: ignore[arg-type]
                   guidance=GuidanceConfig.from_dict(d["guidance"]),
                   network=NetworkConfig.from_dict(d["network"]),
                   normalization=dict(d.get("normalization")
                                      or {"scheme": UNNAMED_NORMALIZATION}),
                   training=dict(d.get("training") or {}), split=dict(d.get("split") or {}),
                   weights=dict(d.get("weights") or {}),
                   validation=dict(d.get("validation") or {}),
                   refinement=RefinementConfig.from_dict(d.get("refinement")),
                   version=str(d.get("version", "")), created=str(d.get("created", "")))

    def save(self, model_dir: str | os.PathLike[str]) -> Path:
        """Write ``MODEL_DIR/model.json`` atomically."""
        return atomic_write_text(Path(model_dir) / "model.json",
                                 json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str]) -> InteractiveModelSpec:
        """Read ``MODEL_DIR/model.json``.

        Raises:
            InputError: missing, unreadable, or not an interactive model.
        """
        path = Path(model_dir) / "model.json"
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"{path}: no such file (not an interactive model folder)") from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable ({exc})") from exc
        if d.get("format") != INTERACTIVE_FORMAT:
            raise InputError(f"{path}: not an interactive model (format {d.get('format')!r})")
        try:
            return cls.from_dict(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: malformed interactive model description ({exc})") from exc


def save_interactive_weights(model_dir: str | os.PathLike[str], network: torch.nn.Module,
                             spec: InteractiveModelSpec, half: bool = True
                             ) -> InteractiveModelSpec:
    """Write ``weights.pt`` (float16 by default) atomically and ``model.json`` with its SHA-256.

    Returns:
        ``spec`` with its ``weights`` record filled in (the one written to model.json).
    """
    root = Path(model_dir)
    root.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    state = {k: (v.detach().to("cpu", dtype=dtype) if v.is_floating_point() else v.cpu())
             for k, v in network.state_dict().items()}
    path = root / "weights.pt"
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
    record = {"path": "weights.pt", "sha256": sha256_file(path),
              "size_bytes": path.stat().st_size, "dtype": str(dtype).removeprefix("torch.")}
    spec = replace(spec, weights=record)
    spec.save(root)
    return spec


class InteractiveModel:
    """A loaded guided network: :meth:`predict` maps an ROI and its guidance to a probability.

    Attributes:
        spec: the model description; network: the U-Net (eval mode); device: where it runs.
        threads: torch intra-op threads during :meth:`predict` (None: leave torch's setting).
            On a busy CPU one thread is several times faster than two for this small
            network (OpenMP threads wait for each other when the cores are oversubscribed).
        mirror_axes: test-time augmentation: the ROI is also predicted mirrored along every
            combination of these model axes (0 = i, 1 = j, 2 = k), in one batch, and the
            probabilities averaged (:data:`DEFAULT_MIRROR_AXES`; ``()`` = a single pass).
        refinement: applied to the network's probability in :meth:`predict`
            (:mod:`tumorseg.interactive.refine`); the model folder's own by default.
    """

    def __init__(self, spec: InteractiveModelSpec, network: torch.nn.Module,
                 device: str | torch.device = "cpu", threads: int | None = None,
                 mirror_axes: Sequence[int] = DEFAULT_MIRROR_AXES,
                 refinement: RefinementConfig | None = None) -> None:
        self.spec = spec
        self.refinement = spec.refinement if refinement is None else refinement
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.threads = threads
        self.mirror_axes = tuple(int(a) for a in mirror_axes)
        mirror_combinations(self.mirror_axes)  # validates

    @classmethod
    def load(cls, model: str | os.PathLike[str] | None = None, device: str = "cpu",
             verify: bool = True, threads: int | None = None,
             mirror_axes: Sequence[int] = DEFAULT_MIRROR_AXES,
             refinement: RefinementConfig | None = None) -> InteractiveModel:
        """Load a model folder (None: the bundled model), checking the weights' SHA-256;
        ``threads``, ``mirror_axes`` and ``refinement`` (None: model.json's) as the class
        attributes.

        Raises:
            InputError: not a model folder, missing weights, hash mismatch, or weights that
                do not fit the network described in model.json.
        """
        root = resolve_interactive_model(model)
        spec = InteractiveModelSpec.load(root)
        path = root / str(spec.weights.get("path", "weights.pt"))
        if not path.is_file():
            raise InputError(f"{path}: no such weights file")
        if verify and spec.weights.get("sha256") and sha256_file(path) != spec.weights["sha256"]:
            raise InputError(f"{path}: SHA-256 mismatch with {root / 'model.json'}: the file "
                             "is corrupt or was modified")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a broken file
            raise InputError(f"{path}: cannot read weights ({type(exc).__name__})") from exc
        network: SegmentationUNet = build_network(spec.network)
        try:
            network.load_state_dict({k: (v.float() if v.is_floating_point() else v)
                                     for k, v in state.items()})
        except (RuntimeError, AttributeError) as exc:
            raise InputError(f"{path}: weights do not fit the network in model.json") from exc
        return cls(spec, network, device, threads, mirror_axes, refinement)

    def warm_up(self) -> float:
        """Run the network once on an all-zero ROI of the model's patch size, so that the first
        real click does not pay a GPU's one-off costs (cuDNN handles, kernel loading); returns
        the seconds it took. On the CPU it measured no gain (benchmarks/RESULTS.md)."""
        start = time.perf_counter()
        shape = tuple(int(n) for n in self.spec.patch_size)
        zeros = np.zeros(shape, np.float32)
        channels = np.zeros((self.spec.network.in_channels - GUIDE_CHANNELS, *shape), np.float32)
        self.predict(channels, zeros, zeros, zeros)
        return time.perf_counter() - start

    def image_channels(self, roi: np.ndarray) -> np.ndarray:
        """This model's normalised image channels ``[c, i, j, k]`` of a raw ROI ``[i, j, k]``."""
        return roi_image_channels(roi, self.spec.normalization_scheme)

    @torch.no_grad()
    def predict(self, roi_image: np.ndarray, pos: np.ndarray, neg: np.ndarray,
                prior: np.ndarray) -> np.ndarray:
        """Lesion probability for one ROI on the model grid.

        Args:
            roi_image: normalised image channels ``[c, i, j, k]``
                (:meth:`image_channels`), or ``[i, j, k]`` for a one-channel model.
            pos, neg: positive / negative guidance channels, same shape, values in [0, 1].
            prior: prior mask channel (0/1), same shape.

        Returns:
            float32 probability ``[i, j, k]`` of the lesion class, same shape as the input
            (inputs whose size is not a multiple of 8 are padded, then cropped back), after
            :attr:`refinement`.
        """
        before = torch.get_num_threads()
        if self.threads is not None and self.threads != before:
            torch.set_num_threads(self.threads)
        try:
            prob = self._predict(roi_image, pos, neg, prior)
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)
        return refine_probability(prob, guide_image(roi_image), pos, neg, self.refinement)

    def _predict(self, roi_image: np.ndarray, pos: np.ndarray, neg: np.ndarray,
                 prior: np.ndarray) -> np.ndarray:
        image = roi_image if roi_image.ndim == 4 else roi_image[None]
        expected = self.spec.network.in_channels - GUIDE_CHANNELS
        if image.shape[0] != expected:
            raise ValueError(f"this model takes {expected} image channel(s) "
                             f"({self.spec.normalization_scheme}), got {image.shape[0]}")
        x = np.concatenate([image, np.stack([pos, neg, prior])]).astype(np.float32)
        shape = x.shape[1:]
        pad = [(-n) % 8 for n in shape]
        t = torch.from_numpy(x)[None].to(self.device)
        if any(pad):
            t = F.pad(t, (0, pad[2], 0, pad[1], 0, pad[0]))
        flips = mirror_combinations(self.mirror_axes)
        batch = torch.cat([t.flip([a + 2 for a in f]) if f else t for f in flips])
        logits = self.network(batch)
        if isinstance(logits, list | tuple):
            logits = logits[0]
        prob = torch.softmax(logits.float(), dim=1)[:, 1]
        prob = torch.stack([p.flip(list(f)) if f else p
                            for p, f in zip(prob, flips, strict=True)]).mean(0)
        prob = prob[: shape[0], : shape[1], : shape[2]]
        return prob.cpu().numpy().astype(np.float32)

"""Train the click-guided (interactive) network: ``tumorseg train DATASET --task interactive``.

Steps:

1. **Regions**: every lesion (connected component of ``label > 0``) of every training case
   gives one region of ``region_size`` model voxels centred on it, cut from each image channel
   and resampled to the model spacing (:mod:`tumorseg.interactive.roi`; the same code the
   session uses). Each channel is a separate "image": the model sees one channel at a time
   and so learns no modality. Cases are split into training and validation (``val_fraction``,
   saved in model.json).
2. **Steps**: a batch of patches (random shift inside the region; optionally zoomed,
   mirrored and axis-permuted: ``p_scale``, ``p_flip``, ``p_transpose``) → domain randomisation
   (:mod:`~tumorseg.interactive.randomize`) → per-ROI normalisation → simulated first clicks
   and prior (:mod:`~tumorseg.interactive.simulation`) → 0…k rounds of error-driven clicks with
   the current network (no grad) → Dice + CE with deep supervision
   (:class:`~tumorseg.training.DeepSupervisionLoss`), AdamW, poly LR, gradient clipping.
3. **After every epoch**: validation Dice after 1 and after 3 simulated clicks on the held-out
   regions, a row in ``training_log.csv``, ``checkpoint_latest.pt`` (``resume=True`` continues
   from it), and ``weights.pt`` + ``model.json`` (the folder is usable after every epoch).

Under ``torchrun`` the network is wrapped in DistributedDataParallel (gloo/nccl), each rank
draws its own batches and rank 0 writes. ``num_workers`` > 0 makes the samples (patch,
randomisation, first clicks: step 2 up to the error-driven clicks) in DataLoader worker
processes, which keeps a GPU busy; 0 makes them in the training process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cc3d
import numpy as np
import torch
from scipy import ndimage
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from tumorseg.errors import InputError
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import (
    DEFAULT_NORMALIZATION,
    UNNAMED_NORMALIZATION,
    InteractiveModelSpec,
    default_network,
    normalization_record,
    roi_image_channels,
    save_interactive_weights,
    scheme_channels,
)
from tumorseg.interactive.randomize import RandomizationConfig, randomize_appearance
from tumorseg.interactive.refine import RefinementConfig
from tumorseg.interactive.roi import extract, make_roi
from tumorseg.interactive.simulation import (
    ClickSample,
    SimulationConfig,
    add_error_clicks,
    error_click,
    guidance_channels,
    simulate_prompts,
)
from tumorseg.io import read_channels, read_volume, to_lps
from tumorseg.models import build_network
from tumorseg.planning import read_dataset
from tumorseg.training.checkpoint import (
    capture_rng,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
)
from tumorseg.training.distributed import init_distributed, shutdown
from tumorseg.training.loss import DeepSupervisionLoss
from tumorseg.training.optim import poly_lr, set_lr
from tumorseg.training.progress import TrainingCallback

__all__ = [
    "InteractiveTrainResult",
    "InteractiveTrainingConfig",
    "LesionRegion",
    "evaluate_regions",
    "lesion_contrast",
    "load_regions",
    "regions_from_case",
    "train_interactive",
]

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "train_loss", "val_dice_1click", "val_dice_3clicks", "lr", "seconds",
               "iterations_per_s"]


@dataclass(frozen=True)
class InteractiveTrainingConfig:
    """Every knob of :func:`train_interactive`.

    Attributes:
        spacing_mm: model grid spacing (i, j, k), mm.
        patch_size: network input size (model voxels, multiples of 8).
        region_size: stored region per lesion (≥ patch; the patch is shifted inside it).
        features: U-Net feature maps per stage.
        epochs, iterations_per_epoch, batch_size: the training length.
        learning_rate, weight_decay: AdamW; the LR decays polynomially per epoch.
        batch_dice: the Dice term over the whole batch (nnU-Net's default; large lesions
            dominate it) rather than per sample (each lesion counts the same).
        init_from: start from the weights of this interactive model folder (fine-tuning; same
            network) instead of random weights; None: from scratch.
        p_flip: per axis, probability of mirroring the patch (spatial augmentation).
        p_transpose: probability of a random permutation of the patch axes (the model grid
            is isotropic, so a permuted patch is still a plausible scene).
        p_scale: probability of zooming the patch by a factor from ``scale_range`` (> 1:
            the lesion looks larger), resampled from the stored region (linear for the
            image, nearest for labels). All three 0: no spatial augmentation (the setting
            of the bundled model's recipe).
        min_lesion_mm3: lesions smaller than this are not used as targets.
        min_contrast: a lesion is trained on only in the image channels where its contrast
            (:func:`lesion_contrast`, on the stored region) is at least this; a region with no
            such channel is left out. 0 (the default): every channel of every region. Phantom
            labels are drawn in one modality (a glioma's edema in FLAIR, a PET-avid node) and
            are often invisible in another channel of the same case; training on those teaches
            the network to guess a blob around the click.
        val_fraction: share of cases held out for validation (at least one case).
        max_val_regions: validation regions per epoch (the first ones, fixed).
        seed: weights, sampling, randomisation and click simulation.
        num_workers: processes making training samples (0: the training process itself; the
            sample stream differs between 0 and > 0, and with the number of workers).
        normalization: ROI normalisation scheme
            (:func:`~tumorseg.interactive.model.roi_image_channels`).
        guidance, simulation, randomization: sub-configurations.
        refinement: written into model.json: what the trained model does to its network's
            probability at inference (:mod:`tumorseg.interactive.refine`; training and the
            per-epoch validation use the network alone). Default: the random-walker average
            chosen for the bundled model on validation phantoms.
    """

    spacing_mm: tuple[float, float, float] = (2.5, 2.5, 2.5)
    patch_size: tuple[int, int, int] = (32, 32, 32)
    region_size: tuple[int, int, int] = (48, 48, 48)
    features: tuple[int, ...] = (8, 16, 32, 64)
    epochs: int = 20
    iterations_per_epoch: int = 50
    batch_size: int = 4
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    batch_dice: bool = True
    init_from: str | None = None
    p_flip: float = 0.0
    p_transpose: float = 0.0
    p_scale: float = 0.0
    scale_range: tuple[float, float] = (0.7, 1.4)
    min_lesion_mm3: float = 100.0
    min_contrast: float = 0.0
    val_fraction: float = 0.1
    max_val_regions: int = 12
    seed: int = 0
    num_workers: int = 0
    normalization: str = DEFAULT_NORMALIZATION
    guidance: GuidanceConfig = field(default_factory=GuidanceConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    refinement: RefinementConfig = field(
        default_factory=lambda: RefinementConfig(method="random-walker"))

    def __post_init__(self) -> None:
        if any(p % 8 for p in self.patch_size):
            raise ValueError(f"patch_size must be multiples of 8, got {self.patch_size}")
        if any(r < p for r, p in zip(self.region_size, self.patch_size, strict=True)):
            raise ValueError("region_size must be at least patch_size")
        if self.epochs < 1 or self.iterations_per_epoch < 1 or self.batch_size < 1:
            raise ValueError("epochs, iterations_per_epoch and batch_size must be ≥ 1")
        if self.min_contrast < 0:
            raise ValueError(f"min_contrast must be ≥ 0, got {self.min_contrast}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be ≥ 0, got {self.num_workers}")
        scheme_channels(self.normalization)  # raises on an unknown scheme

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["guidance"] = self.guidance.to_dict()
        d["simulation"] = self.simulation.to_dict()
        d["randomization"] = self.randomization.to_dict()
        d["refinement"] = self.refinement.to_dict()
        for k in ("spacing_mm", "patch_size", "region_size", "features", "scale_range"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InteractiveTrainingConfig:
        """Inverse of :meth:`to_dict` (a configuration from before ``normalization`` existed
        used ``"roi-percentile-zscore"``)."""
        d = dict(d)
        d.setdefault("normalization", UNNAMED_NORMALIZATION)
        for k in ("spacing_mm", "patch_size", "region_size", "features", "scale_range"):
            if k in d:
                d[k] = tuple(d[k])
        d["guidance"] = GuidanceConfig.from_dict(d.get("guidance") or {})
        d["simulation"] = SimulationConfig.from_dict(d.get("simulation") or {})
        d["randomization"] = RandomizationConfig.from_dict(d.get("randomization") or {})
        if "refinement" in d:  # (older configurations: the dataclass default)
            d["refinement"] = RefinementConfig.from_dict(d["refinement"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LesionRegion:
    """One lesion's neighbourhood on the model grid.

    Attributes:
        case: the case it came from.
        channels: image channels ``[c, i, j, k]`` (float16, raw intensities).
        instances: connected lesions ``[i, j, k]`` (uint16, 0 = none).
        regions: the case's label values ``[i, j, k]`` (uint8), for per-tissue randomisation.
        target: the instance number of this region's lesion.
        contrast: per image channel, :func:`lesion_contrast` of the target (empty: not
            measured, every channel counts as visible).
    """

    case: str
    channels: np.ndarray
    instances: np.ndarray
    regions: np.ndarray
    target: int
    contrast: tuple[float, ...] = ()

    def visible_channels(self, min_contrast: float) -> list[int]:
        """The channels where the target's contrast is at least ``min_contrast``."""
        n = self.channels.shape[0]
        if min_contrast <= 0 or not self.contrast:
            return list(range(n))
        return [c for c in range(n) if self.contrast[c] >= min_contrast]


@dataclass(frozen=True)
class InteractiveTrainResult:
    """What :func:`train_interactive` did: folder, epochs, last validation Dice, speed."""

    model_dir: Path
    epochs_completed: int
    start_epoch: int
    val_dice_1click: float | None
    val_dice_3clicks: float | None
    iterations_per_second: float | None
    seconds: float


def lesion_contrast(image: np.ndarray, target: np.ndarray, shell: int = 2) -> float:
    """Contrast-to-noise ratio of a lesion against the ``shell`` voxels around it:
    ``|mean(inside) − mean(shell)| / sqrt((var(inside) + var(shell)) / 2)`` (unitless; 0 when
    the target is empty or touches nothing outside). ``image`` and ``target`` are ``[i, j, k]``.
    """
    target = np.asarray(target, bool)
    if not target.any():
        return 0.0
    ring = ndimage.binary_dilation(target, iterations=shell) & ~target
    if not ring.any():
        return 0.0
    x = np.asarray(image, dtype=np.float64)
    a, b = x[target], x[ring]
    pooled = np.sqrt((a.var() + b.var()) / 2.0)
    return float(abs(a.mean() - b.mean()) / max(pooled, 1e-6))


def regions_from_case(name: str, channels: np.ndarray, label: np.ndarray,
                      spacing: Sequence[float], config: InteractiveTrainingConfig
                      ) -> list[LesionRegion]:
    """The lesion regions of one case (``channels [c, i, j, k]``, ``label [i, j, k]``)."""
    instances = cc3d.connected_components((label > 0).astype(np.uint8), connectivity=26)
    n = int(instances.max())
    if n == 0:
        return []
    voxel_mm3 = float(np.prod(spacing))
    sizes = np.bincount(instances.ravel(), minlength=n + 1)
    stats = cc3d.statistics(instances)
    out = []
    for k in range(1, n + 1):
        if sizes[k] * voxel_mm3 < config.min_lesion_mm3:
            continue
        roi = make_roi(stats["centroids"][k], spacing, config.spacing_mm, config.region_size)
        inst = extract(instances.astype(np.uint16), roi, label=True)
        if not (inst == k).any():
            continue
        image = extract(channels.astype(np.float32), roi)
        contrast = tuple(lesion_contrast(c, inst == k) for c in image)
        out.append(LesionRegion(
            case=name, channels=image.astype(np.float16), instances=inst,
            regions=extract(label.astype(np.uint8), roi, label=True), target=k,
            contrast=contrast))
    return out


def load_regions(dataset_dirs: Sequence[str | os.PathLike[str]],
                 config: InteractiveTrainingConfig, progress: Any = None
                 ) -> dict[str, list[LesionRegion]]:
    """Lesion regions of every training case of the datasets, by case name
    (``"<dataset>/<case>"``); cases are reoriented to LPS first."""
    cases = []
    for d in dataset_dirs:
        info = read_dataset(d)
        cases += [(f"{info.name}/{c.name}", c) for c in info.cases]
    out: dict[str, list[LesionRegion]] = {}
    for done, (name, case) in enumerate(cases):
        volume = to_lps(read_channels(case.images))
        label = to_lps(read_volume(case.label))
        arr = volume.array if volume.array.ndim == 4 else volume.array[None]
        out[name] = regions_from_case(name, arr, np.asarray(label.array), volume.spacing, config)
        if progress is not None:
            progress(done + 1, len(cases), name)
    return out


def _split(names: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    order = sorted(names)
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    n_val = max(1, round(len(order) * fraction)) if len(order) > 1 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


def _crop_coordinates(region_shape: Sequence[int], patch: Sequence[int], zoom: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Region coordinates ``[3, *patch]`` of a patch zoomed by ``zoom`` (> 1 magnifies) at a
    random position inside the region."""
    extent = [p / zoom for p in patch]
    slack = [max(r - e, 0.0) for r, e in zip(region_shape, extent, strict=True)]
    start = [float(rng.uniform(0, s)) for s in slack]
    axes = [a + (np.arange(p) + 0.5) / zoom - 0.5
            for a, p in zip(start, patch, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"))


def _patch(region: LesionRegion, config: InteractiveTrainingConfig, rng: np.random.Generator,
           randomize: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(normalised image, target, others) of one random patch of ``region``, with the
    config's spatial augmentation (zoom, flips, axis permutation) when ``randomize``."""
    if randomize:
        visible = region.visible_channels(config.min_contrast) or [0]
        channel = visible[int(rng.integers(len(visible)))]
    else:
        channel = 0
    zoom = 1.0
    if randomize and config.p_scale > 0 and rng.random() < config.p_scale:
        lo, hi = np.log(config.scale_range[0]), np.log(config.scale_range[1])
        zoom = float(np.exp(rng.uniform(lo, hi)))
    if zoom == 1.0:
        slack = [r - p for r, p in zip(region.instances.shape, config.patch_size, strict=True)]
        start = [int(rng.integers(0, s + 1)) if randomize else s // 2 for s in slack]
        sl = tuple(slice(a, a + p) for a, p in zip(start, config.patch_size, strict=True))
        image = region.channels[channel][sl].astype(np.float32)
        inst, tissue = region.instances[sl], region.regions[sl]
    else:
        coords = _crop_coordinates(region.instances.shape, config.patch_size, zoom, rng)
        image = ndimage.map_coordinates(region.channels[channel].astype(np.float32), coords,
                                        order=1, mode="nearest")
        inst = ndimage.map_coordinates(region.instances, coords, order=0, mode="nearest")
        tissue = ndimage.map_coordinates(region.regions, coords, order=0, mode="nearest")
    if randomize:
        flips = tuple(a for a in range(3) if rng.random() < config.p_flip)
        order = (tuple(int(a) for a in rng.permutation(3))
                 if config.p_transpose > 0 and rng.random() < config.p_transpose else (0, 1, 2))
        image, inst, tissue = (np.transpose(np.flip(x, flips) if flips else x, order)
                               for x in (image, inst, tissue))
        image = randomize_appearance(np.ascontiguousarray(image), np.ascontiguousarray(tissue),
                                     config.randomization, rng)
    target = inst == region.target
    others = (inst > 0) & ~target
    return roi_image_channels(image, config.normalization), target, others


def _training_sample(regions: Sequence[LesionRegion], config: InteractiveTrainingConfig,
                     rng: np.random.Generator) -> ClickSample:
    """One training sample: a random region's augmented patch with simulated first clicks."""
    region = regions[int(rng.integers(len(regions)))]
    image, target, others = _patch(region, config, rng, True)
    return simulate_prompts(image, target, others, config.spacing_mm, config.simulation, rng)


class _SampleStream(IterableDataset):
    """Endless training samples made in DataLoader workers; worker ``w`` draws from
    ``default_rng([*seed_words, w])``."""

    def __init__(self, regions: Sequence[LesionRegion], config: InteractiveTrainingConfig,
                 seed_words: Sequence[int]) -> None:
        self.regions, self.config, self.seed_words = regions, config, list(seed_words)

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng([*self.seed_words, 0 if info is None else info.id])
        while True:
            yield _training_sample(self.regions, self.config, rng)


def _unbatched(sample: ClickSample) -> ClickSample:
    return sample


def _sample_source(regions: Sequence[LesionRegion], config: InteractiveTrainingConfig,
                   rng: np.random.Generator, seed_words: Sequence[int]):
    """``next_sample()``: from ``config.num_workers`` worker processes, or made here with
    ``rng`` (the stream of a run without workers)."""
    if config.num_workers == 0:
        return lambda: _training_sample(regions, config, rng)
    loader = DataLoader(_SampleStream(regions, config, seed_words), batch_size=None,
                        num_workers=config.num_workers, collate_fn=_unbatched,
                        persistent_workers=True, prefetch_factor=4)
    stream = iter(loader)
    return lambda: next(stream)


def _predictor(network: torch.nn.Module, device: torch.device):
    def predict(batch: np.ndarray) -> np.ndarray:
        was_training = network.training
        network.eval()
        with torch.no_grad():
            logits = network(torch.from_numpy(batch).to(device))
            if isinstance(logits, list | tuple):
                logits = logits[0]
            prob = torch.softmax(logits.float(), 1)[:, 1].cpu().numpy()
        network.train(was_training)
        return prob
    return predict


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    denom = int(a.sum()) + int(b.sum())
    return 1.0 if denom == 0 else 2.0 * int((a & b).sum()) / denom


def evaluate_regions(network: torch.nn.Module, regions: Sequence[LesionRegion],
                     config: InteractiveTrainingConfig, n_clicks: int,
                     device: torch.device | str = "cpu") -> list[float]:
    """Mean Dice after 1 … ``n_clicks`` robot clicks over ``regions`` (centred patches, first
    channel, no randomisation). The robot clicks the farthest-inside point of the target, then
    of the largest error region; the previous prediction is the prior."""
    predict = _predictor(network, torch.device(device))
    dice = np.zeros(n_clicks)
    spacing = config.spacing_mm
    for region in regions:
        image, target, others = _patch(region, config, np.random.default_rng(0), False)
        sample = ClickSample(image=image, target=target, others=others, others_negative=True)
        pred = np.zeros_like(target)
        for c in range(n_clicks):
            click = error_click(pred, target, spacing)
            if click is not None:
                (sample.positive if click[1] else sample.negative).append(click[0])
            prob = predict(guidance_channels(sample, spacing, config.guidance)[None])[0]
            pred = prob > 0.5
            sample.prior = pred.astype(np.float32)
            dice[c] += _dice(pred, target)
    return list(dice / max(len(regions), 1))


def _write_log(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    from tumorseg.io import atomic_write_text

    lines = [",".join(LOG_COLUMNS)]
    for r in rows:
        lines.append(",".join("" if r.get(c) is None else
                              (f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]))
                              for c in LOG_COLUMNS))
    atomic_write_text(path, "\n".join(lines) + "\n")


def _load_initial_weights(network: torch.nn.Module, config: InteractiveTrainingConfig) -> None:
    """Copy the weights of the model folder ``config.init_from`` into ``network``.

    Raises:
        InputError: not an interactive model folder, or a different network.
    """
    from tumorseg.interactive.model import InteractiveModel

    source = InteractiveModel.load(config.init_from)
    if source.spec.network != default_network(config.features, config.normalization):
        raise InputError(f"{config.init_from}: its network differs from the one configured "
                         "here (features, normalisation channels): cannot start from it")
    network.load_state_dict(source.network.state_dict())


def train_interactive(dataset_dirs: Sequence[str | os.PathLike[str]],
                      model_dir: str | os.PathLike[str],
                      config: InteractiveTrainingConfig | None = None, device: str = "cpu",
                      resume: bool = False, callback: TrainingCallback | None = None,
                      stop_after_epoch: int | None = None) -> InteractiveTrainResult:
    """Train the guided network on the lesions of one or more datasets (module docstring).

    Args:
        dataset_dirs: MSD / nnU-Net raw dataset folders (imagesTr, labelsTr, dataset.json).
        model_dir: the model folder to write (see :mod:`tumorseg.interactive.model`).
        config: the training configuration; None = defaults (or the stored one on resume).
        device: "cpu", "cuda", "cuda:N" (under torchrun: each rank's local GPU).
        resume: continue from ``checkpoint_latest.pt``.
        callback: progress hooks (rank 0 only).
        stop_after_epoch: end this run after that epoch (1-based) although the schedule
            (``config.epochs``, which sets the learning-rate decay) goes on; ``resume``
            continues it later, possibly with another ``epochs``.

    Raises:
        InputError: a dataset has no lesions, the folder already holds a run and ``resume``
            is not given, or nothing to resume.
    """
    t_start = time.time()
    root = Path(model_dir)
    cb = callback or TrainingCallback()
    ckpt_path = root / "checkpoint_latest.pt"
    state: dict[str, Any] | None = None
    if resume:
        state = load_checkpoint(ckpt_path)
        stored = InteractiveTrainingConfig.from_dict(state["config"])
        if config is not None and config.epochs != stored.epochs:
            stored = replace(stored, epochs=config.epochs)  # only the schedule may be extended
        config = stored
    elif ckpt_path.exists():
        raise InputError(f"{ckpt_path}: a run was already trained here; add --resume to continue "
                         "it, or use another model folder")
    config = config or InteractiveTrainingConfig()
    ctx = init_distributed("cuda" if device.startswith("cuda") else "cpu")
    dev = torch.device(device if not (ctx.enabled and device.startswith("cuda"))
                       else f"cuda:{ctx.local_rank}")
    is_main = ctx.rank == 0
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)

    by_case = load_regions(dataset_dirs, config, progress=cb.on_preprocess if is_main else None)
    train_names, val_names = _split([n for n, r in by_case.items() if r], config.val_fraction,
                                    config.seed)
    train_regions = [r for n in train_names for r in by_case[n]]
    if config.min_contrast > 0:
        kept = [r for r in train_regions if r.visible_channels(config.min_contrast)]
        log.info("min_contrast %.2f: %d of %d training regions visible in at least one "
                 "channel", config.min_contrast, len(kept), len(train_regions))
        train_regions = kept
    val_regions = [r for n in val_names for r in by_case[n]][: config.max_val_regions]
    if not train_regions:
        raise InputError(f"{', '.join(str(d) for d in dataset_dirs)}: no lesions to train on")

    torch.manual_seed(config.seed)
    network = build_network(default_network(config.features, config.normalization)).to(dev)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    rows: list[dict[str, Any]] = []
    start_epoch = 0
    if state is None and config.init_from is not None:
        _load_initial_weights(network, config)
    if state is not None:
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rows = list(state.get("log", []))
        start_epoch = int(state["epoch"])
        restore_rng(state["rng"])
    model: torch.nn.Module = network
    if ctx.enabled:
        model = DistributedDataParallel(network, device_ids=None if dev.type == "cpu"
                                        else [dev.index])
    loss_fn = DeepSupervisionLoss(batch_dice=config.batch_dice)
    spec = InteractiveModelSpec(
        spacing_mm=config.spacing_mm, patch_size=config.patch_size, guidance=config.guidance,
        network=default_network(config.features, config.normalization),
        normalization=normalization_record(config.normalization),
        training=config.to_dict(), refinement=config.refinement,
        split={"train": train_names, "val": val_names,
               "datasets": [Path(d).name for d in dataset_dirs]})
    rng = np.random.default_rng([config.seed, ctx.rank, start_epoch])
    next_sample = _sample_source(train_regions, config, rng,
                                 [config.seed, ctx.rank, start_epoch, 1])
    predict = _predictor(network, dev)
    cb.on_train_start("interactive", start_epoch, config.epochs, config.iterations_per_epoch)
    speeds = []
    last_epoch = config.epochs if stop_after_epoch is None else min(config.epochs,
                                                                     stop_after_epoch)
    for epoch in range(start_epoch, last_epoch):
        t0 = time.time()
        lr = poly_lr(config.learning_rate, epoch, config.epochs)
        set_lr(optimizer, lr)
        cb.on_epoch_start(epoch)
        losses = []
        model.train()
        for it in range(config.iterations_per_epoch):
            samples = [next_sample() for _ in range(config.batch_size)]
            iters = 0
            if rng.random() < config.simulation.p_error_iterations:
                iters = int(rng.integers(1, config.simulation.max_error_iterations + 1))
            batch = add_error_clicks(samples, predict, config.spacing_mm, config.guidance, iters)
            x = torch.from_numpy(batch).to(dev)
            y = torch.from_numpy(np.stack([s.target for s in samples])[:, None]
                                 .astype(np.uint8)).to(dev)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 12.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            if is_main:
                cb.on_iteration(epoch, it, losses[-1])
        t_train = time.time() - t0
        speeds.append(config.iterations_per_epoch / max(t_train, 1e-9))
        if not is_main:
            continue
        cb.on_validation_start(epoch, len(val_regions))
        val = evaluate_regions(network, val_regions, config, 3, dev) if val_regions else None
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
               "val_dice_1click": None if val is None else float(val[0]),
               "val_dice_3clicks": None if val is None else float(val[2]), "lr": lr,
               "seconds": time.time() - t0, "iterations_per_s": speeds[-1]}
        rows.append(row)
        _write_log(root / "training_log.csv", rows)
        save_checkpoint(ckpt_path, {"model": network.state_dict(),
                                    "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                                    "rng": capture_rng(), "log": rows,
                                    "config": config.to_dict()})
        spec_now = InteractiveModelSpec(**{**spec.__dict__, "validation": {
            "epochs": epoch + 1, "val_regions": len(val_regions),
            "dice_after_1_click": row["val_dice_1click"],
            "dice_after_3_clicks": row["val_dice_3clicks"]}})
        save_interactive_weights(root, network, spec_now)
        log.info("epoch %d: loss %.4f, val Dice 1 click %s, 3 clicks %s", epoch + 1,
                 row["train_loss"], row["val_dice_1click"], row["val_dice_3clicks"])
        cb.on_epoch_end(epoch, row)
    shutdown(ctx)
    last = rows[-1] if rows else {}
    result = InteractiveTrainResult(
        model_dir=root, epochs_completed=int(last.get("epoch", start_epoch)),
        start_epoch=start_epoch, val_dice_1click=last.get("val_dice_1click"),
        val_dice_3clicks=last.get("val_dice_3clicks"),
        iterations_per_second=float(np.mean(speeds)) if speeds else None,
        seconds=time.time() - t_start)
    cb.on_train_end(result)
    return result

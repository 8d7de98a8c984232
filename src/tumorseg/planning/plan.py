"""The training plan: target spacing, normalisation, patch/batch size and network topology.

:func:`make_plan` turns a :class:`~tumorseg.planning.fingerprint.Fingerprint` into a
:class:`Plan` the way nnU-Net's ``ExperimentPlanner`` makes its 3d_fullres configuration:

1. **Target spacing**: :func:`~tumorseg.planning.spacing.determine_target_spacing` (median,
   10th percentile along a thick-slice axis).
2. **Normalisation per channel**, from the channel name in dataset.json: "CT" → clip to the
   foreground 0.5–99.5 percentiles and z-score with the foreground mean/std (nnU-Net's
   CTNormalization); "PET"/"PT" → ``pet_normalization`` ("zscore" per volume by default, or
   "suv" to keep the SUV scale); "none"/"noNorm" → unchanged; anything else (MRI, …) →
   per-volume z-score, within the nonzero mask when cropping to it removed over a quarter of
   the median case (nnU-Net's rule). ``PlannerConfig.channel_schemes`` overrides per name.
3. **Patch size**: starting from a patch isotropic in mm holding ``initial_patch_voxels``
   voxels, clipped to the median image shape at target spacing, the axis with the largest
   extent in mm is shrunk (by its current divisor, nnU-Net's stepping) until a training step
   with ``min_batch_size`` patches fits the memory budget
   (:mod:`tumorseg.planning.memory`) and, on the CPU, the patch holds at most
   ``cpu_max_patch_voxels`` voxels. The topology (:mod:`tumorseg.planning.topology`) is
   recomputed at every step and the patch is always a multiple of ``2 ** pools`` per axis.
4. **Batch size**: as many patches as the budget allows, at most enough to cover 5 % of the
   dataset's voxels, at least 2 (and at most ``cpu_max_batch_size`` on the CPU).

The budget is ``memory_budget_gb`` when given; otherwise 8 GB on CUDA (nnU-Net's default
target) and on the CPU ``cpu_memory_fraction`` of the available RAM, at most
``cpu_max_memory_gb``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.io import atomic_write_text
from tumorseg.planning.config import PlannerConfig
from tumorseg.planning.dataset import DatasetInfo
from tumorseg.planning.fingerprint import Fingerprint
from tumorseg.planning.memory import MemoryModel, memory_model
from tumorseg.planning.network import NetworkConfig
from tumorseg.planning.patch import fit_patch, resolve_budget_gb
from tumorseg.planning.spacing import determine_target_spacing
from tumorseg.preprocessing.normalize import ChannelNormalization, Scheme
from tumorseg.preprocessing.resample import ResamplingConfig, compute_new_shape

__all__ = ["PLAN_FORMAT", "Device", "Plan", "PlannerConfig", "make_plan", "scheme_for_channel"]

Device = Literal["cpu", "cuda"]

#: Version of the plan.json layout; bumped when fields change meaning.
PLAN_FORMAT = 1


@dataclass(frozen=True)
class Plan:
    """How to preprocess a dataset and which network to train on it (saved as plan.json).

    Spacings are in mm and sizes in voxels, both in (i, j, k) order.

    Attributes:
        dataset_name: the planned dataset.
        channel_names: input channels in order.
        labels: label name → value (background 0).
        target_spacing: spacing every case is resampled to.
        spacing_rule: how ``target_spacing`` was chosen, in words.
        anisotropic_axis: the thick-slice axis the rule treated specially, or None.
        median_shape: median image size after cropping, at target spacing.
        normalization: one :class:`ChannelNormalization` per channel.
        crop_to_nonzero: crop each case to its nonzero box before resampling.
        resampling: interpolation orders and anisotropy rule for resampling.
        patch_size: training patch size.
        batch_size: patches per training step.
        pools_per_axis: stride-2 poolings along i, j, k.
        network: the DynUNet to build (``plan.network.build()``).
        device: "cpu" or "cuda", what the budget was fitted for.
        memory_budget_gb: the budget used (GB, 1e9 bytes).
        estimated_memory_gb: the memory model's estimate for one training step.
        memory_model: the model's constants.
        planner: the :class:`PlannerConfig` used.
        fingerprint_summary: spacing/shape percentiles, label totals, intensity statistics.
        tumorseg_version: the version that wrote the plan.
        plan_format: :data:`PLAN_FORMAT`.
    """

    dataset_name: str
    channel_names: tuple[str, ...]
    labels: dict[str, int]
    target_spacing: tuple[float, float, float]
    spacing_rule: str
    anisotropic_axis: int | None
    median_shape: tuple[int, int, int]
    normalization: tuple[ChannelNormalization, ...]
    crop_to_nonzero: bool
    resampling: ResamplingConfig
    patch_size: tuple[int, int, int]
    batch_size: int
    pools_per_axis: tuple[int, int, int]
    network: NetworkConfig
    device: str
    memory_budget_gb: float
    estimated_memory_gb: float
    memory_model: MemoryModel
    planner: PlannerConfig
    fingerprint_summary: dict[str, Any]
    tumorseg_version: str = __version__
    plan_format: int = PLAN_FORMAT

    @property
    def num_classes(self) -> int:
        """Output classes, background included."""
        return len(self.labels)

    @property
    def strides(self) -> tuple[tuple[int, int, int], ...]:
        """Per-stage strides for DynUNet (first ``(1, 1, 1)``)."""
        return self.network.strides

    @property
    def kernel_sizes(self) -> tuple[tuple[int, int, int], ...]:
        """Per-stage kernel sizes for DynUNet."""
        return self.network.kernel_sizes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "plan_format": self.plan_format,
            "tumorseg_version": self.tumorseg_version,
            "dataset_name": self.dataset_name,
            "channel_names": list(self.channel_names),
            "labels": dict(self.labels),
            "target_spacing": list(self.target_spacing),
            "spacing_rule": self.spacing_rule,
            "anisotropic_axis": self.anisotropic_axis,
            "median_shape": list(self.median_shape),
            "normalization": [n.to_dict() for n in self.normalization],
            "crop_to_nonzero": self.crop_to_nonzero,
            "resampling": self.resampling.to_dict(),
            "patch_size": list(self.patch_size),
            "batch_size": self.batch_size,
            "pools_per_axis": list(self.pools_per_axis),
            "network": self.network.to_dict(),
            "device": self.device,
            "memory_budget_gb": self.memory_budget_gb,
            "estimated_memory_gb": self.estimated_memory_gb,
            "memory_model": self.memory_model.to_dict(),
            "planner": self.planner.to_dict(),
            "fingerprint_summary": self.fingerprint_summary,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`."""
        fmt = int(d.get("plan_format", PLAN_FORMAT))
        if fmt > PLAN_FORMAT:
            raise ValueError(f"plan format {fmt} is newer than this tumorseg ({PLAN_FORMAT})")
        return cls(
            dataset_name=d["dataset_name"],
            channel_names=tuple(d["channel_names"]),
            labels={str(k): int(v) for k, v in d["labels"].items()},
            target_spacing=tuple(float(v) for v in d["target_spacing"]),  # type: ignore[arg-type]
            spacing_rule=d["spacing_rule"],
            anisotropic_axis=d.get("anisotropic_axis"),
            median_shape=tuple(d["median_shape"]),  # type: ignore[arg-type]
            normalization=tuple(ChannelNormalization.from_dict(n) for n in d["normalization"]),
            crop_to_nonzero=bool(d["crop_to_nonzero"]),
            resampling=ResamplingConfig.from_dict(d["resampling"]),
            patch_size=tuple(d["patch_size"]),  # type: ignore[arg-type]
            batch_size=int(d["batch_size"]),
            pools_per_axis=tuple(d["pools_per_axis"]),  # type: ignore[arg-type]
            network=NetworkConfig.from_dict(d["network"]),
            device=d["device"],
            memory_budget_gb=float(d["memory_budget_gb"]),
            estimated_memory_gb=float(d["estimated_memory_gb"]),
            memory_model=MemoryModel.from_dict(d["memory_model"]),
            planner=PlannerConfig.from_dict(d["planner"]),
            fingerprint_summary=d.get("fingerprint_summary", {}),
            tumorseg_version=str(d.get("tumorseg_version", "unknown")),
            plan_format=fmt,
        )

    def to_json(self) -> str:
        """The plan as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write plan.json atomically; returns the path."""
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a plan written by :meth:`save`."""
        p = Path(path)
        try:
            return cls.from_json(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: not a readable tumorseg plan ({exc})") from exc


# --------------------------------------------------------------------- normalisation
def scheme_for_channel(name: str, config: PlannerConfig | None = None) -> Scheme:
    """The normalisation scheme for a channel name (see the module docstring)."""
    config = config or PlannerConfig()
    if name in config.channel_schemes:
        return config.channel_schemes[name]  # type: ignore[return-value]
    key = name.strip().casefold()
    if key == "ct":
        return "ct"
    if key in ("pet", "pt"):
        return config.pet_normalization
    if key in ("none", "nonorm"):
        return "none"
    return "zscore"


def _normalizations(fp: Fingerprint, dataset: DatasetInfo,
                    config: PlannerConfig) -> tuple[ChannelNormalization, ...]:
    use_mask = config.use_nonzero_mask_for_norm
    if use_mask is None:
        use_mask = (config.crop_to_nonzero
                    and fp.median_relative_size_after_crop < config.nonzero_mask_threshold)
    out = []
    for name, stats in zip(fp.channel_names, fp.intensity, strict=True):
        scheme = scheme_for_channel(name, config)
        if scheme == "ct":
            if stats.mean is None:
                raise InputError(f"{dataset.root}: channel {name!r} is CT but no label has "
                                 "foreground voxels; CT normalisation needs them")
            out.append(ChannelNormalization(name, "ct", False, stats.percentile_00_5,
                                            stats.percentile_99_5, stats.mean, stats.std))
        else:
            out.append(ChannelNormalization(name, scheme, bool(use_mask and scheme == "zscore")))
    return tuple(out)


# ----------------------------------------------------------------------- make_plan
def make_plan(fingerprint: Fingerprint, dataset_info: DatasetInfo,
              memory_budget_gb: float | None = None, device: Device = "cpu",
              config: PlannerConfig | None = None) -> Plan:
    """Plan preprocessing and the network for a dataset (see the module docstring).

    Args:
        fingerprint: from :func:`~tumorseg.planning.fingerprint.compute_fingerprint`.
        dataset_info: from :func:`~tumorseg.planning.dataset.read_dataset`.
        memory_budget_gb: memory for one training step in GB (GPU memory on CUDA); None
            for the device's default.
        device: "cpu" or "cuda".
        config: planner settings; None for the defaults.

    Raises:
        InputError: the fingerprint does not match the dataset, a CT channel without
            foreground, images too small, or a budget too small for any patch.

    Example:
        >>> info = read_dataset("data/abdomen")                          # doctest: +SKIP
        >>> plan = make_plan(compute_fingerprint(info), info, 8, "cuda")  # doctest: +SKIP
        >>> plan.network.build()                                        # doctest: +SKIP
    """
    config = config or PlannerConfig()
    if device not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if tuple(fingerprint.channel_names) != tuple(dataset_info.channel_names):
        raise InputError(f"{dataset_info.root}: fingerprint channels "
                         f"{list(fingerprint.channel_names)} differ from dataset.json "
                         f"{list(dataset_info.channel_names)}")
    if dict(fingerprint.labels) != dict(dataset_info.labels):
        raise InputError(f"{dataset_info.root}: fingerprint labels differ from dataset.json")
    if not fingerprint.cases:
        raise InputError(f"{dataset_info.root}: the fingerprint has no cases")

    if config.target_spacing is not None:
        spacing = tuple(float(s) for s in config.target_spacing)
        rule, aniso_axis = "fixed by PlannerConfig.target_spacing", None
    else:
        ts = determine_target_spacing(fingerprint.spacings, fingerprint.shapes_after_crop,
                                      config.anisotropy_threshold, config.anisotropic_percentile)
        spacing, rule, aniso_axis = ts.spacing, ts.rule, ts.anisotropic_axis
    new_shapes = np.array([compute_new_shape(c.shape_after_crop, c.spacing, spacing)
                           for c in fingerprint.cases], dtype=float)
    median_shape = tuple(round(float(v)) for v in np.median(new_shapes, axis=0))
    n_voxels_dataset = float(np.prod(median_shape, dtype=np.float64)) * len(fingerprint.cases)

    model = config.memory or memory_model(device)
    budget = resolve_budget_gb(memory_budget_gb, device, config)
    n_in, n_cls = dataset_info.num_channels, dataset_info.num_classes
    max_voxels = config.cpu_max_patch_voxels if device == "cpu" else None
    cand = fit_patch(spacing, median_shape, n_in, n_cls, budget, model,  # type: ignore[arg-type]
                     max_voxels, config)
    topo = cand.topology

    per_sample = cand.elements * model.bytes_per_element / 1e9
    static = model.fixed_gb + cand.parameters * model.bytes_per_parameter / 1e9
    batch = math.floor((budget - static) / per_sample) if per_sample > 0 else 1
    cover = round(n_voxels_dataset * config.max_dataset_fraction
                  / float(np.prod(topo.patch_size, dtype=np.float64)))
    batch = min(batch, cover)
    if device == "cpu":
        batch = min(batch, config.cpu_max_batch_size)
    batch = max(batch, config.min_batch_size)

    network = NetworkConfig(
        in_channels=n_in, out_channels=n_cls, kernel_sizes=topo.kernel_sizes,
        strides=topo.strides, features=cand.features,
        deep_supervision=(config.deep_supervision and cand.deep_supr_num > 0
                          and config.architecture == "dynunet"),
        deep_supr_num=max(cand.deep_supr_num, 1),
        architecture=config.architecture,
    )
    summary = fingerprint.summary()
    summary["intensity"] = {name: s.to_dict() for name, s in
                            zip(fingerprint.channel_names, fingerprint.intensity, strict=True)}
    return Plan(
        dataset_name=fingerprint.dataset_name,
        channel_names=tuple(dataset_info.channel_names),
        labels=dict(dataset_info.labels),
        target_spacing=spacing,  # type: ignore[arg-type]
        spacing_rule=rule,
        anisotropic_axis=aniso_axis,
        median_shape=median_shape,  # type: ignore[arg-type]
        normalization=_normalizations(fingerprint, dataset_info, config),
        crop_to_nonzero=config.crop_to_nonzero,
        resampling=config.resampling,
        patch_size=topo.patch_size,
        batch_size=batch,
        pools_per_axis=topo.pools_per_axis,
        network=network,
        device=device,
        memory_budget_gb=budget,
        estimated_memory_gb=round(model.estimate_gb(cand.elements, cand.parameters, batch), 4),
        memory_model=model,
        planner=config,
        fingerprint_summary=summary,
    )

"""Patch size for a memory budget: nnU-Net's shrink-until-it-fits search.

Start from a patch isotropic in mm holding ``initial_patch_voxels`` voxels, clipped to the
median image shape; while a training step with ``min_batch_size`` patches does not fit the
budget (:mod:`tumorseg.planning.memory`), shrink the axis with the largest extent in mm (ties:
the largest patch / median-shape ratio) by its current divisor, recomputing the topology
(:mod:`tumorseg.planning.topology`) every time. Sizes in voxels, spacing in mm, (i, j, k).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tumorseg.errors import InputError
from tumorseg.planning.config import PlannerConfig
from tumorseg.planning.memory import MemoryModel
from tumorseg.planning.topology import (
    Topology,
    feature_map_elements,
    parameter_count,
    pool_and_conv_props,
)

__all__ = ["PatchCandidate", "candidate", "fit_patch", "resolve_budget_gb"]

_MIN_STAGES = 3  # DynUNet needs at least two poolings


def _available_ram_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return 8.0


def resolve_budget_gb(requested_gb: float | None, device: str, config: PlannerConfig) -> float:
    """The budget in GB: the one given, else 8 GB on CUDA (``default_gpu_memory_gb``), else
    ``cpu_memory_fraction`` of the available RAM, at most ``cpu_max_memory_gb``."""
    if requested_gb is not None:
        if not requested_gb > 0:
            raise InputError(f"memory budget must be positive, got {requested_gb} GB")
        return float(requested_gb)
    if device == "cuda":
        return config.default_gpu_memory_gb
    return round(min(config.cpu_max_memory_gb,
                     config.cpu_memory_fraction * _available_ram_gb()), 2)


@dataclass(frozen=True)
class PatchCandidate:
    """A patch size with its topology, features per stage and memory-model inputs."""

    topology: Topology
    features: tuple[int, ...]
    deep_supr_num: int
    elements: int
    parameters: int


def candidate(patch: Any, spacing: tuple[float, float, float], n_in: int, n_cls: int,
              config: PlannerConfig) -> PatchCandidate:
    """Topology, features and memory-model inputs for ``patch`` at ``spacing``."""
    topo = pool_and_conv_props(spacing, [int(p) for p in patch], config.min_feature_map_size,
                               config.max_pool_steps)
    n = topo.num_stages
    features = tuple(min(config.base_features * 2**s, config.max_features) for s in range(n))
    ds_num = max(n - 2, 0) if config.deep_supervision else 0
    elements = feature_map_elements(topo.patch_size, topo.strides, features, n_cls,
                                    config.deep_supervision and ds_num > 0, ds_num)
    params = parameter_count(n_in, n_cls, topo.kernel_sizes, topo.strides, features)
    return PatchCandidate(topo, features, ds_num, elements, params)


def fit_patch(spacing: tuple[float, float, float], median_shape: tuple[int, int, int],
              n_in: int, n_cls: int, budget: float, model: MemoryModel, max_voxels: int | None,
              config: PlannerConfig) -> PatchCandidate:
    """The largest patch (nnU-Net's search, see :mod:`tumorseg.planning.plan`) whose training
    step with ``config.min_batch_size`` patches fits ``budget`` GB under ``model`` and, when
    ``max_voxels`` is given, holds at most that many voxels.

    Raises:
        InputError: images too small for two poolings, or no patch fits the budget.
    """
    inv = 1.0 / np.asarray(spacing)
    initial = np.round(inv * (config.initial_patch_voxels / np.prod(inv)) ** (1 / 3))
    initial = np.maximum(np.minimum(initial, median_shape), 1)
    cand = candidate(initial, spacing, n_in, n_cls, config)
    if cand.topology.num_stages < _MIN_STAGES:  # tiny images: pad the patch up to 2 poolings
        floor = 4 * config.min_feature_map_size
        cand = candidate(np.maximum(initial, floor), spacing, n_in, n_cls, config)
        if cand.topology.num_stages < _MIN_STAGES:
            raise InputError(f"images of median size {median_shape} voxels at {spacing} mm "
                             "are too small for a 3D U-Net with two poolings")

    def fits(c: PatchCandidate) -> bool:
        ok = model.estimate_gb(c.elements, c.parameters, config.min_batch_size) <= budget
        return ok and (max_voxels is None or int(np.prod(c.topology.patch_size)) <= max_voxels)

    frozen: set[int] = set()
    min_edge = 2 * config.min_feature_map_size
    while not fits(cand):
        patch = list(cand.topology.patch_size)
        extent = [patch[a] * spacing[a] for a in range(3)]
        ratio = [patch[a] / max(median_shape[a], 1) for a in range(3)]
        axes = sorted((a for a in range(3) if a not in frozen and patch[a] > min_edge),
                      key=lambda a: (-extent[a], -ratio[a]))
        if not axes:
            need = model.estimate_gb(cand.elements, cand.parameters, config.min_batch_size)
            raise InputError(f"memory budget {budget:g} GB is too small: the smallest patch "
                             f"{tuple(patch)} needs about {need:.2f} GB with batch size "
                             f"{config.min_batch_size}")
        a = axes[0]
        probe = list(patch)
        probe[a] -= cand.topology.divisor[a]
        step = pool_and_conv_props(spacing, [max(p, 1) for p in probe],
                                   config.min_feature_map_size, config.max_pool_steps).divisor[a]
        patch[a] = max(patch[a] - step, min_edge)
        new = candidate(patch, spacing, n_in, n_cls, config)
        if (new.topology.num_stages < _MIN_STAGES
                or new.topology.patch_size[a] >= cand.topology.patch_size[a]):
            frozen.add(a)
            continue
        cand = new
    return cand

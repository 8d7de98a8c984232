"""Planning from a dataset fingerprint, nnU-Net style.

``read_dataset`` (MSD v1 / nnU-Net v2 raw folder) → ``compute_fingerprint`` (spacings,
shapes, foreground intensities, label counts) → ``make_plan`` (target spacing,
normalisation, patch and batch size for a memory budget, DynUNet topology) → ``plan.json``.

* :mod:`~tumorseg.planning.dataset`: :class:`DatasetInfo`, :func:`read_dataset`, :func:`load_case`.
* :mod:`~tumorseg.planning.fingerprint`: :class:`Fingerprint`, :func:`compute_fingerprint`.
* :mod:`~tumorseg.planning.spacing`: the target-spacing rule.
* :mod:`~tumorseg.planning.topology`: pooling and kernel sizes per axis.
* :mod:`~tumorseg.planning.memory`: the training-memory model.
* :mod:`~tumorseg.planning.patch`: the patch size that fits a memory budget.
* :mod:`~tumorseg.planning.config`: :class:`PlannerConfig`, every knob of the planner.
* :mod:`~tumorseg.planning.network`: :class:`NetworkConfig` (a DynUNet as data).
* :mod:`~tumorseg.planning.plan`: :class:`Plan`, :func:`make_plan`.

Spacings in mm and sizes in voxels are in (i, j, k) order (conventions in :mod:`tumorseg.io`).
"""

from __future__ import annotations

from tumorseg.planning.config import PlannerConfig
from tumorseg.planning.dataset import CaseFiles, DatasetInfo, load_case, read_dataset
from tumorseg.planning.fingerprint import (
    CaseAnalysis,
    CaseFingerprint,
    Fingerprint,
    IntensityStats,
    analyze_case,
    combine_cases,
    compute_fingerprint,
)
from tumorseg.planning.memory import CPU_MODEL, CUDA_MODEL, MemoryModel, memory_model
from tumorseg.planning.network import NetworkConfig
from tumorseg.planning.patch import PatchCandidate, fit_patch, resolve_budget_gb
from tumorseg.planning.plan import Plan, make_plan, scheme_for_channel
from tumorseg.planning.spacing import TargetSpacing, determine_target_spacing
from tumorseg.planning.topology import (
    Topology,
    feature_map_elements,
    parameter_count,
    pool_and_conv_props,
)

__all__ = [
    "CPU_MODEL",
    "CUDA_MODEL",
    "CaseAnalysis",
    "CaseFiles",
    "CaseFingerprint",
    "DatasetInfo",
    "Fingerprint",
    "IntensityStats",
    "MemoryModel",
    "NetworkConfig",
    "PatchCandidate",
    "Plan",
    "PlannerConfig",
    "TargetSpacing",
    "Topology",
    "analyze_case",
    "combine_cases",
    "compute_fingerprint",
    "determine_target_spacing",
    "feature_map_elements",
    "fit_patch",
    "load_case",
    "make_plan",
    "memory_model",
    "parameter_count",
    "pool_and_conv_props",
    "read_dataset",
    "resolve_budget_gb",
    "scheme_for_channel",
]

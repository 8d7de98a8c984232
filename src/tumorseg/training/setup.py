"""Before the first step: the device, the plan (loaded, given, or made now) and the fold's cases."""

from __future__ import annotations

import logging
from dataclasses import replace

import torch

from tumorseg.errors import InputError
from tumorseg.models import ModelFolder
from tumorseg.planning import (
    DatasetInfo,
    Plan,
    PlannerConfig,
    compute_fingerprint,
    make_plan,
)
from tumorseg.training.config import NETWORK_SIZES, TrainingConfig

__all__ = ["resolve_device", "resolve_plan"]

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" → CUDA when available, else CPU; "cpu", "cuda", "cuda:N" as given.

    Raises:
        InputError: an unknown device, or CUDA asked for but not available.
    """
    text = str(device).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except RuntimeError as exc:
        raise InputError(f"device must be cpu, cuda, cuda:N or auto, got {device!r}") from exc
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device must be cpu, cuda, cuda:N or auto, got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda was asked for but no CUDA GPU is available "
                         "(use --device cpu or auto)")
    return dev


def _with_network_options(plan: Plan, config: TrainingConfig) -> Plan:
    """``plan`` with the training config's residual-block choice and, when it names one,
    architecture (a DynUNet gets deep supervision back when it has the stages for it)."""
    net = plan.network
    arch = config.architecture or net.architecture
    if net.res_block == config.res_block and net.architecture == arch:
        return plan
    deep = (net.deep_supervision if arch == net.architecture
            else arch == "dynunet" and len(net.strides) > 2)
    return replace(plan, network=replace(net, res_block=config.res_block, architecture=arch,
                                         deep_supervision=deep))


def _check_fits(plan: Plan, info: DatasetInfo, where: str) -> Plan:
    if tuple(plan.channel_names) != tuple(info.channel_names):
        raise InputError(f"{where}: plan channels {list(plan.channel_names)} differ from the "
                         f"dataset's {list(info.channel_names)}")
    if dict(plan.labels) != dict(info.labels):
        raise InputError(f"{where}: plan labels {plan.labels} differ from the dataset's "
                         f"{info.labels}")
    return plan


def resolve_plan(info: DatasetInfo, folder: ModelFolder, config: TrainingConfig,
                 device_type: str) -> Plan:
    """The plan to train with.

    In order: ``MODEL_DIR/plan.json`` when it exists (every fold of a model shares it);
    else ``config.plan_file``; else a new plan from the dataset's fingerprint, fitted for
    ``device_type`` with ``config.memory_budget_gb`` and ``config.network_size``.
    ``config.res_block`` and ``config.architecture`` apply to a plan that is not yet in the
    model folder.

    Raises:
        InputError: unreadable plan files, or a plan whose channels or labels differ from
            the dataset's.
    """
    if folder.plan.exists():
        plan = Plan.load(folder.plan)
        if config.plan_file is not None:
            given = _with_network_options(Plan.load(config.plan_file), config)
            if given.to_dict() | {"tumorseg_version": ""} != plan.to_dict() | {
                    "tumorseg_version": ""}:
                raise InputError(f"{config.plan_file}: differs from {folder.plan} already "
                                 "in the model folder; use another model folder")
        return _check_fits(plan, info, str(folder.plan))
    if config.plan_file is not None:
        plan = _with_network_options(Plan.load(config.plan_file), config)
        return _check_fits(plan, info, str(config.plan_file))
    base, top = NETWORK_SIZES[config.network_size]
    planner = PlannerConfig(base_features=base, max_features=top,
                            architecture=config.architecture or "dynunet")
    log.info("planning %s for %s (network size %s)", info.name, device_type,
             config.network_size)
    fingerprint = compute_fingerprint(info)
    plan = make_plan(fingerprint, info, config.memory_budget_gb,
                     "cuda" if device_type == "cuda" else "cpu", planner)
    return _check_fits(_with_network_options(plan, config), info, str(info.root))

"""The ITV workflow: a reference GTV → a GTV on every phase → ITV, MIP, motion.

Methods:

* ``propagate``: deformable registration of the reference phase to every other phase
  (:mod:`tumorseg.fourd.register`), warping the reference GTV.
* ``per-phase``: each phase segmented on its own (:mod:`tumorseg.fourd.perphase`).
* ``both``: both; the primary GTVs (and the ITV) are the propagated ones, and the Dice
  agreement of the two per phase is reported.

Edges: a phase where the tumor leaves the field of view is an error when its GTV is empty,
and a warning when the GTV touches the image border (the GTV, and so the ITV, may be cut).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from tumorseg.errors import InputError
from tumorseg.fourd.motion import Motion, agreement, itv_union, mip, tumor_motion
from tumorseg.fourd.perphase import PerPhaseSettings, segment_phase, tumor_threshold_hu
from tumorseg.fourd.phases import PhaseSet
from tumorseg.fourd.register import RegistrationSettings, register_phase, warp_label
from tumorseg.fourd.roi import box_touches_edge

__all__ = ["METHODS", "ITVResult", "ITVSettings", "compute_itv"]

log = logging.getLogger(__name__)

#: The ``--method`` choices.
METHODS = ("propagate", "per-phase", "both")

Progress = Callable[[Iterable[int], int, str], Iterable[int]]


@dataclass(frozen=True)
class ITVSettings:
    """Settings of :func:`compute_itv`.

    Attributes:
        method: ``"propagate"``, ``"per-phase"`` or ``"both"``.
        registration: settings of the propagation's registration.
        per_phase: settings of the per-phase segmentation.
        session_factory: ``f(volume) -> session`` for the per-phase ``click`` segmenter.
    """

    method: str = "propagate"
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    per_phase: PerPhaseSettings = field(default_factory=PerPhaseSettings)
    session_factory: Callable | None = None


@dataclass(frozen=True, eq=False)
class ITVResult:
    """GTVs on every phase and what follows from them. Masks are boolean ``[i, j, k]`` on the
    phases' grid.

    Attributes:
        reference_phase: index (breathing order) of the phase the reference GTV is drawn on.
        method: the method run.
        gtvs: the primary GTV per phase (propagated for ``propagate``/``both``).
        gtvs_by_method: the GTVs of every method run, by method name.
        itv: union of ``gtvs``.
        mip: maximum intensity projection of the phases (the phases' dtype).
        motion: centroids, amplitudes and volumes of ``gtvs``.
        motion_by_method: the same per method.
        agreement_dice: per-phase Dice between the two methods (``both`` only).
        warnings: one line per problem that did not stop the run.
        seconds: wall time per method.
        registration: per phase, what the registration found (translation, NCC, …).
    """

    reference_phase: int
    method: str
    gtvs: tuple[np.ndarray, ...]
    gtvs_by_method: dict[str, tuple[np.ndarray, ...]]
    itv: np.ndarray
    mip: np.ndarray
    motion: Motion
    motion_by_method: dict[str, Motion]
    agreement_dice: list[float] | None
    warnings: tuple[str, ...]
    seconds: dict[str, float]
    registration: list[dict]


def _no_progress(items: Iterable[int], total: int, description: str) -> Iterable[int]:
    return items


def _check_reference(gtv: np.ndarray, phases: PhaseSet, ref: int, warn: list[str]) -> None:
    if gtv.shape != phases.grid.shape:
        raise InputError(f"reference GTV: size {gtv.shape} differs from the phases' "
                         f"{phases.grid.shape}")
    if not gtv.any():
        raise InputError(f"reference GTV on phase {ref} ({phases.names[ref]}) is empty")
    if box_touches_edge(gtv):
        warn.append(f"phase {ref:02d} ({phases.names[ref]}): the reference GTV touches the edge "
                    "of the field of view; the tumor may be cut there")


def _check_phase(mask: np.ndarray, p: int, phases: PhaseSet, ref_voxels: int, method: str,
                 warn: list[str]) -> None:
    name = f"phase {p:02d} ({phases.names[p]})"
    if not mask.any():
        raise InputError(f"{name}: the tumor leaves the field of view or was not found "
                         f"({method} gives an empty GTV)")
    if box_touches_edge(mask):
        ratio = mask.sum() / max(ref_voxels, 1)
        warn.append(f"{name}: the {method} GTV touches the edge of the field of view "
                    f"({100 * ratio:.0f}% of the reference volume); the tumor leaves the "
                    "image there and the ITV may be too small")


def _propagate(phases: PhaseSet, gtv: np.ndarray, ref: int, s: ITVSettings,
               progress: Progress, warn: list[str]) -> tuple[list[np.ndarray], list[dict]]:
    out: list[np.ndarray] = []
    info: list[dict] = []
    reference = phases.volumes[ref]
    for p in progress(range(len(phases)), len(phases), "propagate"):
        if p == ref:
            out.append(gtv.copy())
            info.append({"phase": p, "reference": True})
            continue
        reg = register_phase(reference, phases.volumes[p], gtv, s.registration)
        mask = warp_label(gtv, reference, reg)
        out.append(mask)
        info.append({"phase": p, "translation_mm": [round(float(v), 3)
                                                    for v in reg.translation_mm],
                     "ncc": round(reg.ncc, 4), **reg.info})
        if reg.at_search_edge:
            warn.append(f"phase {p:02d} ({phases.names[p]}): the best match lies at the edge of "
                        f"the {s.registration.margin_mm:g} mm search region; the motion may be "
                        "larger than the region allows")
        if reg.ncc < 0.5:
            warn.append(f"phase {p:02d} ({phases.names[p]}): the tumor matches poorly "
                        f"(NCC {reg.ncc:.2f}); check this phase's GTV")
    return out, info


def _per_phase(phases: PhaseSet, gtv: np.ndarray, ref: int, s: ITVSettings,
               progress: Progress) -> list[np.ndarray]:
    reference = phases.volumes[ref]
    level = tumor_threshold_hu(reference, gtv)
    out = []
    for p in progress(range(len(phases)), len(phases), "per-phase"):
        if p == ref:
            out.append(gtv.copy())
            continue
        out.append(segment_phase(reference, phases.volumes[p], gtv, s.per_phase, level,
                                 s.session_factory))
    return out


def compute_itv(phases: PhaseSet, reference_gtv: np.ndarray, reference_phase: int,
                settings: ITVSettings | None = None, progress: Progress | None = None
                ) -> ITVResult:
    """GTV on every phase from ``reference_gtv`` (boolean ``[i, j, k]`` on phase
    ``reference_phase``), then the ITV, the MIP and the motion.

    ``progress(iterator, total, description)`` may wrap each per-phase loop (a progress bar).
    Raises :class:`InputError` for an empty reference GTV, a GTV on another grid, or a phase
    whose GTV comes out empty (the tumor left the field of view). Warnings are logged and
    returned in :attr:`ITVResult.warnings`.
    """
    s = settings or ITVSettings()
    if s.method not in METHODS:
        raise InputError(f"unknown method {s.method!r} (choose from {', '.join(METHODS)})")
    wrap = progress or _no_progress
    gtv = np.asarray(reference_gtv) > 0
    warn: list[str] = []
    _check_reference(gtv, phases, reference_phase, warn)
    by_method: dict[str, tuple[np.ndarray, ...]] = {}
    seconds: dict[str, float] = {}
    reg_info: list[dict] = []
    names = ["propagate", "per-phase"] if s.method == "both" else [s.method]
    for name in names:
        t0 = time.perf_counter()
        if name == "propagate":
            masks, reg_info = _propagate(phases, gtv, reference_phase, s, wrap, warn)
        else:
            masks = _per_phase(phases, gtv, reference_phase, s, wrap)
        seconds[name] = round(time.perf_counter() - t0, 3)
        for p, m in enumerate(masks):
            if p != reference_phase:  # the reference GTV was checked above
                _check_phase(m, p, phases, int(gtv.sum()), name, warn)
        by_method[name] = tuple(masks)
    for line in warn:
        log.warning(line)
    primary = by_method[names[0]]
    grid = phases.grid
    motion_by = {k: tumor_motion(v, grid) for k, v in by_method.items()}
    agree = (agreement(by_method["propagate"], by_method["per-phase"])
             if s.method == "both" else None)
    return ITVResult(
        reference_phase=reference_phase, method=s.method, gtvs=primary,
        gtvs_by_method=by_method, itv=itv_union(primary), mip=mip(phases.volumes),
        motion=motion_by[names[0]], motion_by_method=motion_by, agreement_dice=agree,
        warnings=tuple(warn), seconds=seconds, registration=reg_info,
    )

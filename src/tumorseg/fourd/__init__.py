"""Radiotherapy 4D CT: the tumor (GTV) on every respiratory phase, the ITV, MIP and motion.

Pipeline (each step a small module):

* :mod:`~tumorseg.fourd.phases` — :func:`load_phases`: files, DICOM series folders or one 4D
  image; order from the DICOM tags when present; one grid and frame of reference.
* :mod:`~tumorseg.fourd.reference` — :func:`choose_reference_phase`: end-exhale = smallest
  lung air volume, unless given.
* :mod:`~tumorseg.fourd.gtv_source` / :mod:`~tumorseg.fourd.detect` — the reference GTV from
  a mask, clicks, or a classical automatic detector.
* :mod:`~tumorseg.fourd.register` — tumor-centred registration (NCC translation, then
  multi-resolution B-spline) and label warping; :mod:`~tumorseg.fourd.perphase` — per-phase
  segmentation.
* :mod:`~tumorseg.fourd.pipeline` — :func:`compute_itv`; :mod:`~tumorseg.fourd.motion` —
  ITV, MIP, centroids, amplitudes; :mod:`~tumorseg.fourd.outputs` — the named files.

Arrays are ``[i, j, k]`` and positions LPS mm, as everywhere in tumorseg (:mod:`tumorseg.io`).

Example:
    >>> phases = load_phases(["phase_00.nii.gz", "phase_01.nii.gz"])   # doctest: +SKIP
    >>> ref, _ = choose_reference_phase(phases.volumes)                   # doctest: +SKIP
    >>> gtv = gtv_from_mask("gtv.nii.gz", phases.grid)                    # doctest: +SKIP
    >>> result = compute_itv(phases, gtv, ref)                            # doctest: +SKIP
    >>> result.motion.amplitude_mm                                        # doctest: +SKIP
"""

from __future__ import annotations

from tumorseg.fourd.detect import DetectorSettings, detect_lung_tumor, find_tumor_seed
from tumorseg.fourd.gtv_source import gtv_from_clicks, gtv_from_mask
from tumorseg.fourd.motion import Motion, agreement, centroid_mm, itv_union, mip, tumor_motion
from tumorseg.fourd.outputs import OUTPUT_NAMES, write_itv_outputs
from tumorseg.fourd.perphase import PerPhaseSettings, segment_phase
from tumorseg.fourd.phases import PhaseSet, load_phases
from tumorseg.fourd.pipeline import METHODS, ITVResult, ITVSettings, compute_itv
from tumorseg.fourd.reference import choose_reference_phase, lung_air_ml
from tumorseg.fourd.register import (
    PhaseRegistration,
    RegistrationSettings,
    register_phase,
    warp_label,
)

__all__ = [
    "METHODS",
    "OUTPUT_NAMES",
    "DetectorSettings",
    "ITVResult",
    "ITVSettings",
    "Motion",
    "PerPhaseSettings",
    "PhaseRegistration",
    "PhaseSet",
    "RegistrationSettings",
    "agreement",
    "centroid_mm",
    "choose_reference_phase",
    "compute_itv",
    "detect_lung_tumor",
    "find_tumor_seed",
    "gtv_from_clicks",
    "gtv_from_mask",
    "itv_union",
    "load_phases",
    "lung_air_ml",
    "mip",
    "register_phase",
    "segment_phase",
    "tumor_motion",
    "warp_label",
    "write_itv_outputs",
]

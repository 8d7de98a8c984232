"""Segment the tumor on each phase independently (the ``per-phase`` method).

For every phase the reference tumor is first located in that phase by normalised
cross-correlation of its box (a translation, see :func:`tumorseg.fourd.register.ncc_shift`);
then the tumor is segmented **from that phase's own intensities**:

* ``"threshold"`` (classical, the default when no click-guided model is available): voxels
  above the level half-way between the tumor's median HU and the surrounding lung's median HU
  (both measured on the reference phase), inside the translated reference GTV grown by
  ``grow_mm`` (so the tumor may change shape), minus the soft tissue that lay at the same
  place outside the tumor on the reference phase (chest wall, mediastinum and vessels that do
  not move with the tumor, so a tumor touching them does not leak into them); holes filled;
  the connected component that overlaps the translated reference GTV most is kept.
* ``"click"``: one click of the click-guided session (:mod:`tumorseg.interactive.session`)
  at the deepest point of the translated reference GTV, then the same component choice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.fourd.register import RegistrationSettings, coarse_translation
from tumorseg.fourd.roi import box_around
from tumorseg.io import Volume

__all__ = ["PerPhaseSettings", "deepest_point", "locate", "segment_phase", "tumor_threshold_hu"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PerPhaseSettings:
    """Settings of :func:`segment_phase`.

    Attributes:
        segmenter: ``"threshold"`` or ``"click"`` (see the module docstring).
        grow_mm: how far (mm) the tumor may extend beyond the translated reference GTV.
        margin_mm: search region around the reference GTV for the translation (mm).
    """

    segmenter: str = "threshold"
    grow_mm: float = 5.0
    margin_mm: float = 30.0


def tumor_threshold_hu(reference: Volume, gtv: np.ndarray, shell_mm: float = 6.0) -> float:
    """HU level between the tumor and the lung around it, measured on the reference phase:
    the mean of the median HU inside ``gtv`` and the median HU of the air-like voxels
    (< −400 HU) within ``shell_mm`` outside it (−850 HU when there are none)."""
    box, _ = box_around(gtv, reference.spacing, shell_mm + 2 * max(reference.spacing))
    g = gtv[box]
    hu = reference.array[box].astype(np.float32)
    dist = ndimage.distance_transform_edt(~g, sampling=reference.spacing)
    shell = (dist > 0) & (dist <= shell_mm)
    inside = float(np.median(hu[g]))
    around = hu[shell & (hu < -400)]
    lung = float(np.median(around)) if around.size else -850.0
    return 0.5 * (inside + lung)


def deepest_point(mask: np.ndarray, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """The voxel of ``mask`` farthest from its boundary (in mm): where a clinician clicks."""
    box, _ = box_around(mask, spacing, 2 * max(spacing))
    dist = ndimage.distance_transform_edt(np.pad(mask[box], 1), sampling=spacing)[1:-1, 1:-1,
                                                                                   1:-1]
    local = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return (int(local[0] + box[0].start), int(local[1] + box[1].start),
            int(local[2] + box[2].start))


def _shift_mask(mask: np.ndarray, shift_vox: np.ndarray) -> np.ndarray:
    """``mask`` moved by a whole-voxel shift (rounded); voxels moved outside are dropped."""
    s = [round(float(v)) for v in shift_vox]
    out = np.zeros_like(mask)
    src = tuple(slice(max(0, -d), n - max(0, d)) for d, n in zip(s, mask.shape, strict=True))
    dst = tuple(slice(max(0, d), n - max(0, -d)) for d, n in zip(s, mask.shape, strict=True))
    out[dst] = mask[src]
    return out


def locate(reference: Volume, phase: Volume, gtv: np.ndarray, margin_mm: float = 30.0
           ) -> np.ndarray:
    """Translation (voxels, ``[i, j, k]``, fractional) of the reference tumor into ``phase``
    (normalised cross-correlation within GTV box + ``margin_mm``)."""
    _, d_mm, _, _ = coarse_translation(reference, phase, gtv,
                                       RegistrationSettings(margin_mm=margin_mm))
    m = reference.direction @ np.diag(reference.spacing)
    return np.linalg.solve(m, d_mm)


def _keep_best_component(candidate: np.ndarray, prior: np.ndarray) -> np.ndarray:
    labels = cc3d.connected_components(candidate, connectivity=26)
    if labels.max() == 0:
        return np.zeros_like(candidate)
    overlap = np.bincount(labels[prior], minlength=int(labels.max()) + 1)
    overlap[0] = 0
    best = int(np.argmax(overlap)) if overlap.max() > 0 else int(
        np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    return labels == best


def segment_phase(reference: Volume, phase: Volume, gtv: np.ndarray,
                  settings: PerPhaseSettings | None = None, level_hu: float | None = None,
                  session_factory=None) -> np.ndarray:
    """The tumor on ``phase`` (boolean ``[i, j, k]``), segmented from its own intensities.

    Args:
        reference: the reference phase (HU) on which ``gtv`` (boolean) is drawn.
        phase: the phase to segment (same grid).
        settings: see :class:`PerPhaseSettings`.
        level_hu: the tumor/lung threshold; default :func:`tumor_threshold_hu`.
        session_factory: for ``segmenter="click"``: ``f(volume) -> session`` with
            ``add_click(Click) -> instance mask``.
    """
    s = settings or PerPhaseSettings()
    shift = locate(reference, phase, gtv, s.margin_mm)
    prior = _shift_mask(gtv, shift)
    if not prior.any():
        return prior
    if s.segmenter == "click":
        from tumorseg.interactive.prompts import Click

        session = session_factory(phase)
        mask = np.asarray(session.add_click(Click(deepest_point(prior, phase.spacing)))) > 0
        return _keep_best_component(mask, prior)
    level = tumor_threshold_hu(reference, gtv) if level_hu is None else level_hu
    box, _ = box_around(prior, phase.spacing, s.grow_mm + max(phase.spacing))
    region = ndimage.distance_transform_edt(~prior[box], sampling=phase.spacing) <= s.grow_mm
    # soft tissue that was already there on the reference phase, outside the tumor, and is
    # not where the tumor is now (chest wall, mediastinum, a vessel) does not move with it
    static = (reference.array[box] > level) & ~gtv[box] & ~prior[box]
    candidate = ndimage.binary_fill_holes(region & (phase.array[box] > level) & ~static)
    out = np.zeros_like(prior)
    out[box] = _keep_best_component(candidate, prior[box])
    return out

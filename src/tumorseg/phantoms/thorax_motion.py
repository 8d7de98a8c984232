"""Breathing motion for the 4D lung CT phantom: respiratory signals and a displacement field.

Time is the breathing-cycle fraction ``t`` in [0, 1): phase *p* of *N* is ``t = p / N``;
``t = 0`` is end-inhale, ``t = 0.5`` end-exhale. The superior–inferior signal follows the
Lujan model ``s_si(t) = cos^{2n}(π t)`` (1 at end-inhale, 0 at end-exhale, lingering at
exhale for n > 1); the anterior–posterior and left–right signals are the same curve shifted
in time, which makes the tumor trace a loop (hysteresis) instead of a line.

The displacement ``D(x, t)`` (mm, LPS) maps a reference (end-exhale) point ``x`` to its
position at time ``t``. It has two parts:

* **wall part** ``G`` (everywhere): the chest wall rises forwards (−y) and outwards (±x) on
  inspiration, growing from zero at the spine to its maximum at the sternum.
* **interior part** ``S`` (inside the sliding cavity only: lungs, mediastinum, upper abdomen):
  the diaphragm descends (−z) by ``diaphragm_mm`` on inspiration and drags the tissue above it,
  decaying with height above the diaphragm (``w_si``); a forward (−y) component fades
  posteriorly. The lungs slide along the wall, so ``S`` does not move the ribs or spine.

Phases are rendered by backward warping: an output voxel ``p`` samples the reference at the
fixed point ``x = p − D(x, t)`` (two iterations; the field is smooth and small).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tumorseg.phantoms.thorax_anatomy import ThoraxParams

__all__ = ["BreathingModel"]


@dataclass(frozen=True)
class BreathingModel:
    """Parameters of one patient's breathing (mm, fractions of a cycle).

    Attributes:
        thorax: the patient (for the diaphragm surface and the spine position).
        exponent: Lujan exponent n of ``cos^{2n}`` (1–3).
        diaphragm_mm: superior–inferior excursion of the diaphragm (end-inhale − end-exhale).
        decay_mm: how fast the SI motion fades with height above the diaphragm.
        apex_fraction: fraction of the diaphragm motion left at the lung apex.
        interior_ap_mm: extra forward motion of the lung interior on inspiration.
        wall_ap_mm: forward excursion of the sternum.
        wall_lr_mm: outward excursion of the lateral chest wall.
        ap_shift, lr_shift: time shifts (cycle fractions) of the AP and LR signals (hysteresis).
    """

    thorax: ThoraxParams
    exponent: int
    diaphragm_mm: float
    decay_mm: float
    apex_fraction: float
    interior_ap_mm: float
    wall_ap_mm: float
    wall_lr_mm: float
    ap_shift: float
    lr_shift: float

    # ------------------------------------------------------------------------ signals
    def signals(self, t: float) -> tuple[float, float, float]:
        """(SI, AP, LR) breathing signals in [0, 1] at cycle fraction ``t`` (1 = inhaled)."""
        n2 = 2 * self.exponent
        si = np.cos(np.pi * t) ** n2
        ap = np.cos(np.pi * (t - self.ap_shift)) ** n2
        lr = np.cos(np.pi * (t - self.lr_shift)) ** n2
        return float(si), float(ap), float(lr)

    # --------------------------------------------------------------------- spatial weights
    def _w_si(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """SI weight: 1 at and below the diaphragm, decaying to ``apex_fraction`` upwards."""
        zd = self.thorax.diaphragm_z(x, y)
        height = np.maximum(z - zd, 0.0)
        f = np.float32(self.apex_fraction)
        return f + (1 - f) * np.exp(-height / np.float32(self.decay_mm))

    def _w_post(self, y: np.ndarray) -> np.ndarray:
        """AP weight of the interior: full anteriorly, fading towards the posterior wall."""
        return np.clip((100.0 * self.thorax.scale - y) / (60.0 * self.thorax.scale), 0.0, 1.0)

    def _g_weight(self, y: np.ndarray) -> np.ndarray:
        """Chest-wall weight: 0 at the spine, 1 at the sternum."""
        ys = self.thorax.spine_y
        return np.clip((ys - y) / (ys + 90.0 * self.thorax.scale), 0.0, 1.0)

    # ---------------------------------------------------------------------- displacement
    def wall_displacement(self, x: np.ndarray, y: np.ndarray, t: float
                          ) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) mm of the chest wall part ``G`` at reference (x, y) (no z motion)."""
        _, s_ap, s_lr = self.signals(t)
        g = self._g_weight(y)
        dx = np.float32(self.wall_lr_mm * s_lr) * np.clip(x / (120.0 * self.thorax.scale),
                                                          -1.2, 1.2) * np.sqrt(g + 0.0)
        dy = np.float32(-self.wall_ap_mm * s_ap) * g
        return dx.astype(np.float32), dy.astype(np.float32)

    def displacement(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, t: float,
                     interior: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward displacement (dx, dy, dz) mm of reference points (x, y, z) at time ``t``.

        ``interior=True`` for points in the sliding cavity (wall part + interior part),
        ``False`` for the chest wall, spine and couch (wall part only).
        """
        s_si, s_ap, _ = self.signals(t)
        dx, dy = self.wall_displacement(x, y, t)
        if not interior:
            return dx, dy, np.zeros_like(dx)
        w = self._w_si(x, y, z)
        dz = np.float32(-self.diaphragm_mm * s_si) * w
        dy = dy + np.float32(-self.interior_ap_mm * s_ap) * w * self._w_post(y)
        return dx, dy, dz

    def inverse(self, px: np.ndarray, py: np.ndarray, pz: np.ndarray, t: float,
                interior: bool = True, iterations: int = 3
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reference positions x with ``x + D(x, t) = p`` (fixed-point iteration), for
        backward warping. Arrays broadcast; returns float32 arrays."""
        x, y, z = px, py, pz
        for _ in range(iterations):
            dx, dy, dz = self.displacement(x, y, z, t, interior)
            x, y, z = px - dx, py - dy, pz - dz
        return (np.asarray(x, np.float32), np.asarray(y, np.float32), np.asarray(z, np.float32))

    def to_json(self) -> dict:
        """Parameters as a JSON-able dict (without the patient)."""
        d = asdict(self)
        d.pop("thorax")
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}

    # ---------------------------------------------------------------------------- fitting
    @classmethod
    def for_tumor(cls, thorax: ThoraxParams, center: np.ndarray, rng: np.random.Generator,
                  si_mm: float, ap_mm: float) -> BreathingModel:
        """A model whose field moves a tumor at reference ``center`` (mm) by ``si_mm`` SI and
        about ``ap_mm`` AP between end-exhale and end-inhale (the SI amplitude is exact
        unless the diaphragm would have to move more than 30 mm; then it is reduced)."""
        decay = float(rng.uniform(60.0, 100.0))
        apex = float(rng.uniform(0.2, 0.3))
        proto = cls(thorax, int(rng.integers(1, 4)), 1.0, decay, apex, 0.0,
                    float(rng.uniform(2.0, 5.0)), float(rng.uniform(1.0, 3.0)),
                    float(rng.uniform(0.06, 0.16)), float(rng.uniform(0.03, 0.12)))
        c = [np.float32(v) for v in center]
        w = float(proto._w_si(c[0], c[1], c[2]))
        diaphragm = min(si_mm / w, 30.0)
        g = float(proto._g_weight(c[1]))
        wall_ap = min(proto.wall_ap_mm, 0.8 * ap_mm / max(g, 1e-3))
        wp = float(proto._w_post(c[1])) * w
        interior_ap = float(np.clip((ap_mm - wall_ap * g) / max(wp, 0.05), 0.0, 12.0))
        return cls(thorax, proto.exponent, diaphragm, decay, apex, interior_ap, wall_ap,
                   proto.wall_lr_mm, proto.ap_shift, proto.lr_shift)

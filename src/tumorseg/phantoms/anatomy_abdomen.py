"""A randomised adult torso (pelvis to lower chest) as a tissue-class map.

:func:`build_torso` draws one patient from a seed and paints it on a volume grid: body wall
(skin, subcutaneous fat, muscle with linea alba and flank fat planes), CT table, diaphragm,
lung bases, heart, paraspinal, psoas, quadratus and iliacus muscles, aorta, IVC, iliac vessels
and oesophagus here; the skeleton in :mod:`~tumorseg.phantoms.anatomy_skeleton`; then the
viscera of :mod:`~tumorseg.phantoms.anatomy_viscera` (kidneys, spleen, liver, pancreas,
stomach, bowel, bladder…). Intensities are not decided here: CT and PET phantoms map the
tissue classes of :class:`~tumorseg.phantoms.anatomy_tissues.Tissue` to HU and SUV.

Coordinates are anatomical mm (see :mod:`tumorseg.phantoms.anatomy_shapes`): X to the
patient's left, Y posterior, Z superior with 0 at the L1/L2 disc. Axial cross-sections are
therefore correct in LPS: the liver is at −X (patient right), the spine at +Y (posterior).
Landmark heights (mm, vary per patient): femoral heads ≈ −250, bladder ≈ −280…−215, iliac
crest ≈ −100, aortic bifurcation ≈ −95, kidneys ≈ −85…+50, pancreas ≈ −30…+45, spleen
≈ 0…+100, diaphragm domes ≈ +100…+130 (with the costophrenic recesses lower at the wall),
heart above the central tendon.

Every structure draws its parameters from its own random stream (:func:`sub_rng`), so one
seed gives the same patient (organ sizes, positions, phases) at every voxel size; smooth
deformations, texture and fine detail are drawn on the grid and differ between sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tumorseg.phantoms.anatomy_shapes import (
    Box,
    Frame,
    class_lut,
    paint,
    polyline_tube,
    smooth_max,
    sub_rng,
)
from tumorseg.phantoms.anatomy_tissues import ORGAN_LABELS, Tissue
from tumorseg.phantoms.primitives import ellipsoid_distance

__all__ = [
    "FAT_LUNG",
    "FREE",
    "SOFT",
    "BodyWall",
    "Diaphragm",
    "Spine",
    "Torso",
    "build_torso",
    "fit_scale",
]

T = Tissue
OL = ORGAN_LABELS
BONE = OL["bone"]

# ----------------------------------------------------------------------------- body wall
#: Heights (anatomical Z, mm) at which the body-wall profile is tabulated.
_Z_NODES = np.array([-340, -290, -250, -210, -170, -130, -90, -40, 20, 80, 140, 200, 260.0])
_A_CAV = np.array([58, 62, 70, 90, 114, 127, 132, 133, 134, 134, 132, 130, 126.0])
_B_ANT = np.array([62, 66, 72, 80, 86, 90, 92, 93, 94, 95, 100, 104, 105.0])
_B_POST = np.array([52, 54, 58, 64, 72, 80, 84, 84, 86, 90, 95, 98, 100.0])
_M_ANT = np.array([22, 16, 13, 12, 11, 11, 11, 11, 11, 12, 14, 16, 18.0])
_M_LAT = np.array([92, 92, 85, 70, 48, 24, 14, 14, 14, 16, 18, 20, 24.0])
_M_POST = np.array([80, 78, 70, 58, 40, 18, 10, 10, 10, 12, 14, 16, 18.0])
_FAT_Z = np.array([1.1, 1.15, 1.15, 1.1, 1.05, 1.0, 1.0, 1.0, 0.95, 0.85, 0.75, 0.7, 0.7])


@dataclass(frozen=True)
class BodyWall:
    """Polar description of the body wall around the body axis.

    For an angle θ = atan2(Y, X) and height Z it gives three radii (mm): the inner surface of
    the muscle wall (the body cavity, a super-ellipse with smooth bumps), the muscle's outer
    surface, and the skin. Fat thickness depends on habitus and on θ (thick anteriorly and on
    the flanks, thin on the back).
    """

    scale_cav: tuple[float, float, float]  # multipliers of a, b_ant, b_post
    p_ant: float
    p_post: float
    fat0: float  # mm, anterior subcutaneous fat at the waist
    cav_harm: np.ndarray  # (H, 4): order, amplitude, phase, rate (rad/mm along Z)
    fat_harm: np.ndarray
    groove: float  # mm, posterior midline groove over the spine
    muscle: float  # multiplier of the muscle thickness

    @staticmethod
    def draw(seed: int, habitus: float) -> BodyWall:
        """Draw a body wall for ``habitus`` (0 thin … 1 obese)."""
        rng = sub_rng(seed, "body-wall")
        grow = 1.0 + 0.10 * habitus
        sc = (float(rng.uniform(0.94, 1.05) * grow), float(rng.uniform(0.93, 1.06) * grow),
              float(rng.uniform(0.96, 1.04)))
        orders = np.arange(2, 7)
        cav = np.stack([orders, rng.uniform(0.004, 0.016, 5), rng.uniform(0, 2 * np.pi, 5),
                        rng.uniform(-1, 1, 5) / 150.0], axis=1)
        fat = np.stack([orders, rng.uniform(0.03, 0.12, 5), rng.uniform(0, 2 * np.pi, 5),
                        rng.uniform(-1, 1, 5) / 120.0], axis=1)
        return BodyWall(sc, float(rng.uniform(1.9, 2.3)), float(rng.uniform(2.5, 3.2)),
                        float(5.0 + 38.0 * habitus ** 1.3 + rng.uniform(0, 4)), cav, fat,
                        float(rng.uniform(2, 7)), float(rng.uniform(0.85, 1.2)))

    def radii(self, theta: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(r_cavity, r_muscle, r_skin)`` in mm for angles ``theta`` (rad) at heights ``z``.

        ``theta`` and ``z`` broadcast against each other.
        """
        z = np.asarray(z, dtype=np.float64)
        zf = z.ravel()

        def prof(v: np.ndarray) -> np.ndarray:
            return np.interp(zf, _Z_NODES, v).reshape(z.shape)

        a = prof(_A_CAV) * self.scale_cav[0]
        b_ant = prof(_B_ANT) * self.scale_cav[1]
        b_post = prof(_B_POST) * self.scale_cav[2]
        c, s = np.cos(theta), np.sin(theta)
        ant = s < 0
        b = np.where(ant, b_ant, b_post)
        p = np.where(ant, self.p_ant, self.p_post)
        r = (np.abs(c / a) ** p + np.abs(s / b) ** p) ** (-1.0 / p)
        bump = 1.0
        for h, amp, ph, rate in self.cav_harm:
            bump = bump + amp * np.cos(h * theta + ph + rate * z)
        r = r * bump
        wa = np.clip(-s, 0, 1) ** 2
        wp = np.clip(s, 0, 1) ** 2
        m_lat = prof(_M_LAT)
        m = (m_lat + (prof(_M_ANT) - m_lat) * wa + (prof(_M_POST) - m_lat) * wp) * self.muscle
        # thinner at the semilunar lines, where the rectus sheath meets the flank muscles
        d_ant = np.abs(np.angle(np.exp(1j * (theta + np.pi / 2))))
        m = m * (1.0 - 0.35 * np.exp(-(((d_ant - 0.62) / 0.1) ** 2)) * (z > -200) * (z < 90))
        fbump = 1.0
        for h, amp, ph, rate in self.fat_harm:
            fbump = fbump + amp * np.cos(h * theta + ph + rate * z)
        fat = self.fat0 * prof(_FAT_Z) * (0.92 + 0.12 * wa - 0.42 * wp) * fbump
        dth = np.angle(np.exp(1j * (theta - np.pi / 2)))
        lumbar = np.clip((z + 200.0) / 60.0, 0, 1) * np.clip((160.0 - z) / 60.0, 0, 1)
        fat = np.maximum(fat - self.groove * lumbar * np.exp(-((dth / 0.12) ** 2)), 2.0)
        return r, r + m, r + m + fat


def fit_scale(wall: BodyWall, fov_mm: tuple[float, float], z_range: tuple[float, float]
              ) -> float:
    """The in-plane scale (≤ 1) that fits the skin (plus the table) inside ``fov_mm`` (x, y)."""
    theta = np.linspace(-np.pi, np.pi, 361)[:, None]
    z = np.linspace(z_range[0], z_range[1], 25)[None, :]
    _, _, rb = wall.radii(theta, z)
    half_x = float(np.max(np.abs(rb * np.cos(theta))))
    half_y = float(np.max(np.abs(rb * np.sin(theta)))) + 12.0
    return float(min(1.0, (fov_mm[0] / 2 - 6.0) / half_x, (fov_mm[1] / 2 - 6.0) / half_y))


# ----------------------------------------------------------------------------- spine
_LEVELS = [  # name, body height, disc height below it (mm)
    ("L5", 28, 11), ("L4", 28, 10), ("L3", 27, 10), ("L2", 26, 9), ("L1", 25, 9),
    ("T12", 23, 8), ("T11", 22, 7), ("T10", 21, 6), ("T9", 20, 6), ("T8", 19, 5),
    ("T7", 19, 5), ("T6", 18, 5), ("T5", 18, 5), ("T4", 17, 5), ("T3", 17, 5),
]


@dataclass(frozen=True)
class Spine:
    """Vertebral levels and the spine's course (all mm).

    Attributes:
        levels: name → (bottom Z, top Z) of each vertebral body, L5 up to T3.
        s1_top: Z of the sacrum's upper endplate.
        y0: Y of the lumbar vertebral bodies' centres.
        lordosis: depth (mm) of the lumbar curve.
    """

    levels: dict[str, tuple[float, float]]
    s1_top: float
    y0: float
    lordosis: float

    @staticmethod
    def draw(seed: int) -> Spine:
        """Draw vertebral heights and the curve of the spine."""
        rng = sub_rng(seed, "spine")
        size = float(rng.uniform(0.94, 1.06))
        z = -147.0 * size + float(rng.uniform(-12, 12))
        s1_top = z - 11.0 * size
        levels = {}
        for name, h, d in _LEVELS:
            levels[name] = (z, z + h * size)
            z = z + (h + d) * size
        return Spine(levels, s1_top, float(rng.uniform(23, 31)), float(rng.uniform(5, 13)))

    def y(self, z: np.ndarray | float) -> np.ndarray:
        """Y (mm) of the vertebral body centre (or sacral body) at height ``z``."""
        z = np.asarray(z, dtype=np.float64)
        lord = -self.lordosis * np.exp(-(((z + 75.0) / 65.0) ** 2))
        kyph = 0.10 * np.logaddexp(0.0, (z - 40.0) / 20.0) * 20.0
        sac = 0.55 * np.logaddexp(0.0, (self.s1_top - z) / 12.0) * 12.0
        return self.y0 + lord + kyph + sac

    def radius(self, z: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Half-width and half-depth (mm) of the vertebral body at ``z``."""
        z = np.asarray(z, dtype=np.float64)
        rx = np.interp(z, [-160, 0, 100, 220], [26, 24, 19.5, 16.5])
        ry = np.interp(z, [-160, 0, 100, 220], [18, 17, 15.5, 14])
        return rx, ry

    def level_center(self, name: str) -> float:
        """Z (mm) of the middle of vertebral body ``name``."""
        lo, hi = self.levels[name]
        return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------- diaphragm
@dataclass(frozen=True)
class Diaphragm:
    """Upper surface of the diaphragm: two domes across X that dip steeply only near the body
    wall (the costophrenic recesses, deepest posteriorly); ``height(X, Y)`` in mm."""

    right: tuple[float, float]  # dome X, Z
    left: tuple[float, float]
    kx: float  # curvature (1/mm) of the dome tops across X
    depth: tuple[float, float, float]  # recess depth (mm): anterior, lateral, posterior
    power: float
    wall: BodyWall

    @staticmethod
    def draw(seed: int, wall: BodyWall) -> Diaphragm:
        """Draw dome heights (right higher than left), curvature and recess depths."""
        rng = sub_rng(seed, "diaphragm")
        zr = float(rng.uniform(110, 132))
        zl = zr - float(rng.uniform(4, 18))
        return Diaphragm((-62.0 + rng.uniform(-8, 8), zr), (68.0 + rng.uniform(-8, 8), zl),
                         float(rng.uniform(0.0035, 0.005)),
                         (float(rng.uniform(20, 35)), float(rng.uniform(50, 70)),
                          float(rng.uniform(65, 85))), float(rng.uniform(9.0, 13.0)), wall)

    @property
    def top(self) -> float:
        """Z (mm) of the higher dome."""
        return max(self.right[1], self.left[1])

    def height(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Upper surface Z (mm) of the diaphragm above (X, Y) (broadcast; float32)."""
        X = np.asarray(X, dtype=np.float32)
        Y = np.asarray(Y, dtype=np.float32)
        kx = np.float32(self.kx)
        z_top = smooth_max(np.float32(self.right[1]) - kx * (X - np.float32(self.right[0])) ** 2,
                           np.float32(self.left[1]) - kx * (X - np.float32(self.left[0])) ** 2,
                           30.0)
        theta = np.arctan2(Y, X)
        rc, _, _ = self.wall.radii(theta, np.full(np.shape(theta), 90.0))
        rho_n = np.clip(np.hypot(X, Y) / rc.astype(np.float32), 0.0, 1.3)
        s = np.sin(theta).astype(np.float32)
        ant, lat, post = (np.float32(d) for d in self.depth)
        depth = lat + (ant - lat) * np.clip(-s, 0, 1) ** 2 + (post - lat) * np.clip(s, 0, 1) ** 2
        return (z_top - depth * rho_n ** np.float32(self.power)).astype(np.float32)


# ----------------------------------------------------------------------------- torso
@dataclass
class Torso:
    """A painted torso: tissue classes, organ labels and the landmarks used to draw them.

    Attributes:
        frame: the grid ↔ anatomical mm mapping.
        tissue: uint8 tissue-class map (:class:`Tissue`), indexed [i, j, k].
        organs: uint8 organ label map (:data:`ORGAN_LABELS`).
        seed: the patient's seed.
        habitus: 0 (thin) … 1 (obese).
        wall, spine, diaphragm: landmark models.
        paths: named polylines (N, 3) anatomical mm of vessels and ducts (for lesion and
            lymph-node placement).
        notes: small facts about the patient (e.g. bladder filling, oral contrast).
    """

    frame: Frame
    tissue: np.ndarray
    organs: np.ndarray
    seed: int
    habitus: float
    wall: BodyWall
    spine: Spine
    diaphragm: Diaphragm
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    notes: dict[str, float | str | bool] = field(default_factory=dict)
    _cav_table: np.ndarray | None = None
    _theta_bins: int = 2048

    # ---------------------------------------------------------------- helpers
    def paint(self, box: Box, mask: np.ndarray, cls: int, organ: int | None = 0,
              over: np.ndarray | None = None) -> np.ndarray:
        """Paint ``mask`` in ``box`` (see :func:`~tumorseg.phantoms.anatomy_shapes.paint`)."""
        return paint(self.tissue, self.organs, box, mask, cls, organ, over)

    def box(self, lo: tuple[float, float, float], hi: tuple[float, float, float]) -> Box:
        """The volume block inside the anatomical mm box [lo, hi]."""
        return self.frame.box(lo, hi)

    def cavity_sd(self, box: Box) -> np.ndarray:
        """Approximate signed distance (mm) to the inner surface of the body wall in ``box``."""
        if self._cav_table is None:
            nb = self._theta_bins
            theta = (np.arange(nb) + 0.5) / nb * 2 * np.pi - np.pi
            z = self.frame.axis(2).astype(np.float64)
            rc, _, _ = self.wall.radii(theta[:, None], z[None, :])
            self._cav_table = rc.astype(np.float32)
        theta = np.arctan2(box.Y[:, :, 0], box.X[:, :, 0])
        rho = np.hypot(box.X[:, :, 0], box.Y[:, :, 0])
        tb = ((theta + np.pi) / (2 * np.pi) * self._theta_bins).astype(np.int64)
        tb %= self._theta_bins
        k = box.sl[2]
        table = self._cav_table[:, k]
        return rho[:, :, None] - table[tb]

    @property
    def fine(self) -> bool:
        """True on a fine grid (≤ 1.6 mm in-plane), where sub-millimetre detail is drawn."""
        return min(self.frame.anat_spacing[:2]) <= 1.6

    @property
    def path_step(self) -> float:
        """Sampling step (mm) for tubular paths: 4 mm, or two voxels on coarse grids."""
        return float(max(4.0, 2.0 * min(self.frame.anat_spacing)))

    def rng(self, name: str) -> np.random.Generator:
        """This patient's random stream for structure ``name``."""
        return sub_rng(self.seed, name)


FREE = class_lut([T.VISCERAL_FAT])
SOFT = class_lut([T.VISCERAL_FAT, T.RETRO_FAT, T.MUSCLE, T.LUNG, T.SUBCUT_FAT])
FAT_LUNG = class_lut([T.VISCERAL_FAT, T.RETRO_FAT, T.LUNG])


def _paint_body(t: Torso) -> None:
    """Skin, subcutaneous fat, muscle wall and the body cavity (filled with fat), slab by slab."""
    full = t.frame.full()
    X2, Y2 = full.X[:, :, 0], full.Y[:, :, 0]
    theta = np.arctan2(Y2, X2)
    rho = np.hypot(X2, Y2)
    nb = t._theta_bins
    tb = ((theta + np.pi) / (2 * np.pi) * nb).astype(np.int64) % nb
    th = (np.arange(nb) + 0.5) / nb * 2 * np.pi - np.pi
    z = full.Z.ravel().astype(np.float64)
    rc, rm, rb = (r.astype(np.float32) for r in t.wall.radii(th[:, None], z[None, :]))
    t._cav_table = rc
    skin = np.float32(max(1.6, 0.5 * min(full.spacing[:2])))
    fine = min(full.spacing[:2]) <= 1.6
    flank = (np.abs(np.cos(theta)) > 0.75) & (np.sin(theta) < 0.3)
    alba = np.float32(1.0 + 4.0 * t.habitus)
    for k0 in range(0, t.frame.shape[2], 8):
        ks = slice(k0, min(t.frame.shape[2], k0 + 8))
        c3, m3, b3 = rc[:, ks][tb], rm[:, ks][tb], rb[:, ks][tb]
        r3 = rho[:, :, None]
        out = np.full(c3.shape, T.AIR, np.uint8)
        out[r3 <= b3] = T.SKIN
        out[r3 <= b3 - skin] = T.SUBCUT_FAT
        out[r3 <= m3] = T.MUSCLE
        if fine:  # a fat plane between the oblique muscles of the flanks
            u = (r3 - c3) / np.maximum(m3 - c3, 1e-3)
            zz = z[ks][None, None, :]
            plane = (np.abs(u - 0.45) < 0.05) & flank[:, :, None] & (zz > -140) & (zz < 50)
            out[plane & (out == T.MUSCLE)] = T.SUBCUT_FAT
        # linea alba between the recti: a thin fat-density gap on the anterior midline
        gap = (np.abs(X2) < alba)[:, :, None] & (Y2 < 0)[:, :, None]
        zz = z[ks][None, None, :]
        out[gap & (out == T.MUSCLE) & (zz > -190) & (zz < 100)] = T.SUBCUT_FAT
        out[r3 <= c3] = T.VISCERAL_FAT
        t.tissue[:, :, ks] = out


def _paint_table(t: Torso) -> None:
    """The CT couch: a curved carbon shell with foam, under the patient's back."""
    theta = np.linspace(np.pi / 2 - 1.2, np.pi / 2 + 1.2, 181)
    zs = np.linspace(t.frame.axis(2).min(), t.frame.axis(2).max(), 9)
    _, _, rb = t.wall.radii(theta[:, None], zs[None, :])
    y_back = float(np.max(rb * np.sin(theta)[:, None])) + 2.0
    box = t.box((-230.0, y_back - 60.0, -1e4), (230.0, y_back + 50.0, 1e4))
    if box.empty:
        return
    X, Y = box.X, box.Y
    curve = Y - (np.float32(y_back) - X * X / np.float32(2 * 520.0))
    sh = np.float32(max(2.5, box.spacing[1]))  # at least a voxel: no dashed lines
    top = (curve >= 0) & (curve < sh)
    foam = (curve >= sh) & (curve < 38)
    bottom = (curve >= 38) & (curve < 38 + sh)
    air = class_lut([T.AIR])
    t.paint(box, np.broadcast_to(foam, box.shape), T.TABLE_FOAM, 0, air)
    t.paint(box, np.broadcast_to(top | bottom, box.shape), T.TABLE_SHELL, 0, air)


# ----------------------------------------------------------------------------- thorax
def _paint_thorax(t: Torso) -> None:
    """Diaphragm, lung bases and crura."""
    d = t.diaphragm
    zmin = min(d.right[1], d.left[1]) - max(d.depth) - 10.0
    box = t.box((-200, -200, zmin), (200, 200, 1e4))
    if box.empty:
        return
    h = d.height(box.X[:, :, 0], box.Y[:, :, 0])[:, :, None]
    cav = t.cavity_sd(box) < 0
    above = box.Z > h
    band = (box.Z > h - 5.0) & ~above
    t.paint(box, cav & band, T.MUSCLE, 0, class_lut([T.VISCERAL_FAT]))
    t.paint(box, cav & above, T.LUNG, OL["lung"], class_lut([T.VISCERAL_FAT]))
    # crura: muscular bands from the domes down beside the aorta to L1–L2
    sp = t.spine
    for s in (-1.0, 1.0):
        zs = np.array([95.0, 50.0, 10.0, -25.0])
        pts = np.stack([s * np.array([22.0, 17.0, 13.0, 11.0]),
                        sp.y(zs) - np.array([14.0, 20.0, 20.0, 14.0]), zs], axis=1)
        b = t.box(pts.min(0) - 12, pts.max(0) + 12)
        sd, _ = polyline_tube(b, pts, [5.0, 5.0, 4.5, 3.5], margin=2)
        t.paint(b, sd < 0, T.MUSCLE, 0, FAT_LUNG)


def _lung_vessels(t: Torso) -> None:
    """Branching-looking vessels in the lungs: curves where two smooth fields both vanish."""
    if min(t.frame.anat_spacing[:2]) > 2.5:
        return
    ks = np.flatnonzero((t.organs == OL["lung"]).any(axis=(0, 1)))
    if len(ks) == 0:
        return
    full = t.frame.full()
    z0, z1 = float(full.Z.ravel()[ks[0]]), float(full.Z.ravel()[ks[-1]])
    box = t.box((-200, -200, z0), (200, 200, z1))
    rng = t.rng("lung-vessels")
    f1, f2 = box.field(14.0, rng), box.field(14.0, rng)
    g = f1 * f1 + f2 * f2
    thick = np.float32(0.03) * (1.0 + 0.8 * box.field(40.0, rng) ** 2)
    t.paint(box, g < thick, T.LUNG_VESSEL, None, class_lut([T.LUNG]))


def _paint_heart(t: Torso) -> None:
    """Heart above the diaphragm's central tendon, with chambers and pericardial fat."""
    rng = t.rng("heart")
    d = t.diaphragm
    zc = float(d.height(np.float32(15.0), np.float32(-25.0))) + 48.0 + rng.uniform(-5, 8)
    c = (18.0 + rng.uniform(-8, 10), -28.0 + rng.uniform(-6, 6), zc)
    radii = (62.0, 46.0, 56.0) * rng.uniform(0.9, 1.1, 3)
    rot = _rot_z(np.deg2rad(rng.uniform(25, 45))) @ _rot_y(np.deg2rad(rng.uniform(-35, -20)))
    box = t.box(np.array(c) - 80, np.array(c) + 80)
    if box.empty:
        return
    q = ellipsoid_distance(box.grid, c, tuple(radii), rot)
    dia = d.height(box.X[:, :, 0], box.Y[:, :, 0])[:, :, None]
    heart = (q <= 1.0) & (box.Z > dia + 1.0)
    fat = (q <= 1.0 + rng.uniform(6, 14) / radii.min()) & (box.Z > dia)
    t.paint(box, fat, T.RETRO_FAT, 0, FAT_LUNG)
    t.paint(box, heart, T.MYOCARDIUM, OL["heart"], class_lut([T.RETRO_FAT]))
    # chambers: LV (left-posterior, thick wall) and RV (right-anterior, thin wall)
    lv = tuple(np.array(c) + rot @ np.array([8.0, 6.0, 4.0]))
    rv = tuple(np.array(c) + rot @ np.array([-16.0, -14.0, 0.0]))
    q_lv = ellipsoid_distance(box.grid, lv, (radii[0] * 0.42, radii[1] * 0.42,
                                              radii[2] * 0.6), rot)
    q_rv = ellipsoid_distance(box.grid, rv, (radii[0] * 0.5, radii[1] * 0.36,
                                              radii[2] * 0.62), rot)
    inside = class_lut([T.MYOCARDIUM])
    t.paint(box, (q_lv <= 1.0) | (q_rv <= 1.0), T.HEART_BLOOD, None, inside)


def _rot_z(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])


def _rot_y(a: float) -> np.ndarray:
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1.0, 0], [-np.sin(a), 0, np.cos(a)]])


# ----------------------------------------------------------------------------- muscles
def _paint_paraspinal(t: Torso) -> None:
    """Erector spinae (posterior), psoas and iliacus (anterolateral), quadratus lumborum."""
    sp = t.spine
    box = t.box((-110, -30, -330), (110, 200, 1e4))
    if box.empty:
        return
    Z = box.Z.ravel().astype(np.float64)
    yv = sp.y(Z)
    _, ry = sp.radius(Z)
    lumbar = Z < 60
    yc = yv + ry + 10.0
    _, rm, _ = t.wall.radii(np.pi / 2, Z)
    y_back = np.asarray(rm)
    start = np.where(lumbar, yc - 8.0, yc + 12.0)
    cy = 0.5 * (start + y_back)
    ry_m = 0.5 * (y_back - start) + 6.0
    rx_m = np.interp(Z, [-300, -150, 0, 100, 200], [30, 36, 36, 28, 24])
    cx = rx_m * 0.95 + 4.0

    def v(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32).reshape(1, 1, -1)

    X, Y = box.X, box.Y
    theta = np.arctan2(Y[:, :, 0], X[:, :, 0])
    rho = np.hypot(X[:, :, 0], Y[:, :, 0])[:, :, None]
    nb = 720
    tb = ((theta + np.pi) / (2 * np.pi) * nb).astype(np.int64) % nb
    th = (np.arange(nb) + 0.5) / nb * 2 * np.pi - np.pi
    _, rm_tab, _ = t.wall.radii(th[:, None], Z[None, :])
    inside_muscle = rho <= rm_tab.astype(np.float32)[tb]
    ok = v((Z > sp.s1_top - 40).astype(np.float32)) > 0
    erector = (((np.abs(X) - v(cx)) / v(rx_m)) ** 2 + ((Y - v(cy)) / v(ry_m)) ** 2 < 1) & (
        inside_muscle & ok)
    t.paint(box, erector, T.MUSCLE, 0, class_lut([T.VISCERAL_FAT, T.LUNG, T.MUSCLE]))
    if t.fine:  # fatty streaks between the muscle bundles (more with age and habitus)
        rng_f = t.rng("paraspinal-fat")
        streak = box.field(3.0, rng_f) > np.float32(rng_f.uniform(2.0, 2.6) - 0.4 * t.habitus)
        t.paint(box, erector & streak, T.RETRO_FAT, 0, class_lut([T.MUSCLE]))
    rng = t.rng("psoas")
    grow = float(rng.uniform(0.8, 1.2))
    for s in (-1.0, 1.0):
        zs = np.array([35.0, 0.0, -50.0, -100.0, -150.0, -200.0, -240.0, -300.0, -340.0])
        ys = sp.y(np.clip(zs, -120, 100))
        px = np.array([20.0, 30.0, 38.0, 47.0, 60.0, 76.0, 84.0, 86.0, 86.0])
        py = np.array(ys + np.array([2, 1, -2, -8, 0, 0, 0, 0, 0]))
        py[4:] = [-2.0, -22.0, -30.0, -28.0, -26.0]
        pts = np.stack([s * px, py, zs], axis=1)
        rad = np.array([4.0, 9.0, 14.0, 19.0, 21.0, 18.0, 16.0, 15.0, 15.0]) * grow
        b = t.box(pts.min(0) - 25, pts.max(0) + 25)
        sd, _ = polyline_tube(b, pts, rad, margin=2, stretch=(1.0, 1.15, 1.0))
        t.paint(b, sd < 0, T.MUSCLE, 0, FAT_LUNG)
        # quadratus lumborum
        zq = np.array([40.0, -20.0, -90.0, -115.0])
        qpts = np.stack([s * np.array([50.0, 60.0, 66.0, 70.0]),
                         sp.y(zq) + np.array([38, 42, 44, 46]),
                         zq], axis=1)
        b = t.box(qpts.min(0) - 20, qpts.max(0) + 20)
        sd, _ = polyline_tube(b, qpts, [5.0, 12.0, 13.0, 9.0], margin=2,
                              stretch=(1.3, 0.8, 1.0))
        t.paint(b, sd < 0, T.MUSCLE, 0, FAT_LUNG)
        # iliacus in the iliac fossa
        ipts = np.array([[s * 92, 15.0, -125.0], [s * 95, 0.0, -165.0],
                         [s * 88, -20.0, -210.0], [s * 84, -28.0, -240.0]])
        b = t.box(ipts.min(0) - 25, ipts.max(0) + 25)
        sd, _ = polyline_tube(b, ipts, [10.0, 17.0, 16.0, 14.0], margin=2)
        t.paint(b, sd < 0, T.MUSCLE, 0, FAT_LUNG)


# ----------------------------------------------------------------------------- vessels
def _paint_great_vessels(t: Torso) -> None:
    """Aorta (with iliac arteries), IVC (with iliac veins) and the oesophagus."""
    sp = t.spine
    rng = t.rng("great-vessels")
    r_ao = float(rng.uniform(10, 13.5))
    z_bif = float(sp.level_center("L4") + rng.uniform(-5, 15))
    zs = np.array([300.0, 200.0, 140.0, 80.0, 30.0, -30.0, z_bif])
    _, ry = sp.radius(zs)
    ys = sp.y(zs) - ry - np.array([r_ao, r_ao, r_ao, r_ao - 1, r_ao - 2, r_ao - 2, r_ao - 3])
    xs = np.array([26.0, 24.0, 20.0, 11.0, 9.0, 10.0, 8.0]) + rng.uniform(-3, 3)
    ys[:3] += np.array([22.0, 24.0, 16.0])  # descending thoracic aorta beside the spine
    aorta = np.stack([xs, ys, zs], axis=1)
    rad = np.array([1.25, 1.15, 1.1, 1.05, 1.0, 0.93, 0.85]) * r_ao
    t.paths["aorta"] = aorta
    over = class_lut([T.VISCERAL_FAT, T.RETRO_FAT, T.LUNG, T.MUSCLE])
    b = t.box(aorta.min(0) - 25, aorta.max(0) + 25)
    sd, _ = polyline_tube(b, aorta, rad, margin=8)
    t.paint(b, (sd < 6) & (sd >= 0), T.RETRO_FAT, 0, class_lut([T.LUNG]))
    t.paint(b, sd < 0, T.ARTERY, OL["aorta"], over)
    if rng.uniform() < 0.6:  # calcified plaques in the aortic wall
        f = b.field(6.0, rng)
        t.paint(b, (sd < 0) & (sd > -1.6) & (f > 1.9), T.CALCIFICATION, None,
                class_lut([T.ARTERY]))
    for s in (-1.0, 1.0):
        ili = np.array([aorta[-1], [s * 32, sp.y(-150.0) - 24, -150.0],
                        [s * 44, 8.0, -175.0], [s * 66, -18.0, -215.0],
                        [s * 80, -38.0, -262.0], [s * 86, -44.0, -340.0]])
        ili[1:, 0] += s * rng.uniform(-4, 4)
        b = t.box(ili.min(0) - 15, ili.max(0) + 15)
        sd, _ = polyline_tube(b, ili, [0.8 * r_ao, 7.0, 6.5, 6.0, 5.5, 5.0], margin=2)
        t.paint(b, sd < 0, T.ARTERY, 0, over)
        t.paths[f"iliac_artery_{'left' if s > 0 else 'right'}"] = ili
        internal = np.array([ili[2], [s * 46, 40.0, -200.0], [s * 52, 50.0, -235.0]])
        b = t.box(internal.min(0) - 10, internal.max(0) + 10)
        sd, _ = polyline_tube(b, internal, [4.0, 3.0, 2.5], margin=2)
        t.paint(b, sd < 0, T.ARTERY, 0, over)
    # IVC: right of the aorta, oval, into the liver and the right atrium
    r_v = float(rng.uniform(9, 12))
    zs = np.array([z_bif - 12, -40.0, 20.0, 70.0, 105.0, 135.0])
    _, ry = sp.radius(zs)
    ys = sp.y(zs) - ry - np.array([r_v - 2, r_v - 1, r_v, r_v + 6, r_v + 14, r_v + 24])
    ivc = np.stack([np.array([-14.0, -24.0, -26.0, -24.0, -17.0, -10.0]) + rng.uniform(-3, 3),
                    ys, zs], axis=1)
    t.paths["ivc"] = ivc
    b = t.box(ivc.min(0) - 25, ivc.max(0) + 25)
    sd, _ = polyline_tube(b, ivc, [r_v * 0.9, r_v, r_v, r_v * 1.1, r_v * 1.2, r_v * 1.3],
                          margin=2, stretch=(1.35, 1.0, 1.0))
    t.paint(b, sd < 0, T.VEIN, OL["ivc"], over)
    for s in (-1.0, 1.0):
        il = np.array([ivc[0], [s * 26, sp.y(-150.0) - 12, -152.0], [s * 40, 16.0, -178.0],
                       [s * 58, -12.0, -215.0], [s * 70, -36.0, -262.0],
                       [s * 74, -42.0, -340.0]])
        b = t.box(il.min(0) - 15, il.max(0) + 15)
        sd, _ = polyline_tube(b, il, [0.8 * r_v, 8.0, 8.0, 7.5, 7.0, 6.5], margin=2)
        t.paint(b, sd < 0, T.VEIN, 0, over)
        t.paths[f"iliac_vein_{'left' if s > 0 else 'right'}"] = il
    # oesophagus: right-anterior of the descending aorta, into the gastric cardia
    zs = np.array([300.0, 180.0, 120.0, 95.0])
    eso = np.stack([np.array([4.0, 6.0, 14.0, 30.0]), sp.y(zs) - np.array([26, 28, 32, 38]),
                    zs], axis=1)
    t.paths["oesophagus"] = eso
    b = t.box(eso.min(0) - 20, eso.max(0) + 20)
    sd, _ = polyline_tube(b, eso, 7.5, margin=6)
    t.paint(b, (sd < 4) & (sd >= 0), T.RETRO_FAT, 0, class_lut([T.LUNG]))
    t.paint(b, sd < 0, T.GI_WALL, 0, over)
    t.paint(b, sd < -5.5, T.GI_GAS, 0, class_lut([T.GI_WALL]))


# ----------------------------------------------------------------------------- build
def build_torso(frame: Frame, seed: int, habitus: float | None = None) -> Torso:
    """Draw patient ``seed`` and paint it on ``frame``'s grid.

    ``habitus`` (0 thin … 1 obese) is drawn from the seed when None. Returns a :class:`Torso`
    whose ``tissue`` and ``organs`` maps cover the whole grid. Deterministic: the same seed
    and frame give identical arrays.
    """
    from tumorseg.phantoms import anatomy_skeleton as skeleton
    from tumorseg.phantoms import anatomy_viscera as viscera

    if habitus is None:
        habitus = float(sub_rng(seed, "habitus").beta(2.0, 2.2))
    wall = BodyWall.draw(seed, habitus)
    t = Torso(frame, np.zeros(frame.shape, np.uint8), np.zeros(frame.shape, np.uint8), seed,
              habitus, wall, Spine.draw(seed), Diaphragm.draw(seed, wall))
    _paint_body(t)
    _paint_table(t)
    _paint_thorax(t)
    _paint_heart(t)
    skeleton.paint_spine(t)
    _paint_paraspinal(t)
    skeleton.paint_ribs(t)
    skeleton.paint_pelvis(t)
    _paint_great_vessels(t)
    viscera.paint_viscera(t)
    _lung_vessels(t)
    return t

"""Reference (end-exhale) thorax anatomy for the 4D lung CT phantom, in Hounsfield units.

Coordinates are millimetres relative to the volume centre on LPS axes (+x patient Left,
+y Posterior, +z Superior; arrays indexed ``[i, j, k]`` = (x, y, z), see :mod:`tumorseg.io`).
Every structure is an analytic shape (super-ellipse cross-sections, ellipsoids, tubes along
polylines, branching vessel trees), so the patient keeps its size in mm at any voxel size and
its random parameters come from named sub-streams of the seed.

What is drawn (values before noise and blur, HU): air −1000, skin 20, subcutaneous and
mediastinal fat −100/−90, muscle 45, ribs and vertebrae (cortex 900, marrow 250), costal
cartilage 120, intervertebral discs 90, lungs −850 (smooth heterogeneity, denser posteriorly),
pulmonary vessel trees (blood 40, thinning towards the periphery by Murray's law), airways
(air with 2 mm walls), heart 40 (or contrast-filled chambers), aorta, pulmonary trunk, SVC/IVC,
oesophagus, diaphragm, liver 60, spleen 48, stomach (wall, content, gas), CT couch.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field

import numpy as np

from tumorseg.phantoms.primitives import (
    branching_tree,
    ellipsoid_distance,
    mm_grid,
    smooth_field,
    tree_radii,
    tubes_occupancy,
)

__all__ = ["LOBES", "ThoraxParams", "ThoraxReference", "build_thorax", "planning_regions"]

Vec3 = tuple[float, float, float]

#: Lung lobe codes of :attr:`ThoraxReference.lobes`.
LOBES: dict[str, int] = {"RUL": 1, "RML": 2, "RLL": 3, "LUL": 4, "LLL": 5}

_P = 2.4  # super-ellipse exponent of the thoracic cross-section (anterior half)
_P_POST = 1.85  # posterior half: rounder, with deep paravertebral gutters


def sub_stream(seed: int, name: str) -> np.random.Generator:
    """Independent generator for one part of the phantom (same seed → same part)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


@dataclass(frozen=True)
class ThoraxParams:
    """Random patient parameters (mm unless stated), drawn by :meth:`sample`."""

    seed: int
    scale: float  # in-plane body size factor
    scale_z: float  # cranio-caudal size factor
    z_shift: float
    fat_mm: float
    dome_drop_mm: float  # left dome below the right one
    heart_scale: float
    heart_shift: tuple[float, float]
    contrast: bool
    stomach_gas: bool
    breast_mm: float  # 0 = no breasts; else their anterior projection
    fissure_jitter: tuple[float, float, float, float]

    @classmethod
    def sample(cls, seed: int) -> ThoraxParams:
        """Draw the parameters of patient ``seed``."""
        r = sub_stream(seed, "thorax-params")
        return cls(
            seed=int(seed),
            scale=float(r.uniform(0.92, 1.03)),
            scale_z=float(r.uniform(0.94, 1.05)),
            z_shift=float(r.uniform(-6, 6)),
            fat_mm=float(r.uniform(6, 18)),
            dome_drop_mm=float(r.uniform(8, 18)),
            heart_scale=float(r.uniform(0.9, 1.08)),
            heart_shift=(float(r.uniform(-6, 6)), float(r.uniform(-5, 5))),
            contrast=bool(r.random() < 0.3),
            stomach_gas=bool(r.random() < 0.7),
            breast_mm=float(r.uniform(25, 55)) if r.random() < 0.45 else 0.0,
            fissure_jitter=tuple(float(v) for v in r.uniform(-1, 1, 4)),
        )

    # ------------------------------------------------------------------ landmarks (mm)
    @property
    def yc(self) -> float:
        """y of the centre of the thoracic cross-section."""
        return 6.0 * self.scale

    @property
    def apex_z(self) -> float:
        """Top of the lung apices."""
        return 108.0 + self.z_shift

    @property
    def carina_z(self) -> float:
        """Tracheal bifurcation."""
        return self.apex_z - 85.0 * self.scale_z

    @property
    def dome_right_z(self) -> float:
        """Top of the right hemidiaphragm at end-exhale."""
        return self.apex_z - 162.0 * self.scale_z

    @property
    def dome_left_z(self) -> float:
        """Top of the left hemidiaphragm at end-exhale."""
        return self.dome_right_z - self.dome_drop_mm

    @property
    def spine_y(self) -> float:
        """y of the vertebral body centres (mid-thorax)."""
        return self.yc + 90.0 * self.scale - 34.0

    def spine_y_at(self, z: np.ndarray | float) -> np.ndarray | float:
        """Vertebral body centre y at height z (thoracic kyphosis: mid-thorax most posterior)."""
        return self.spine_y + 5.0 * (1.0 - ((np.asarray(z) - self.carina_z + 20.0) / 150.0) ** 2)

    def cavity_axes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Half-widths (a: lateral, b_ant, b_post) of the inner thoracic wall at height z."""
        z0 = self.dome_right_z + 20.0
        u = np.clip((z - z0) / (self.apex_z + 20.0 - z0), 0.0, 1.0) ** 1.8
        s = self.scale
        return (np.float32(122.0 * s) * (1 - 0.38 * u), np.float32(72.0 * s) * (1 - 0.22 * u),
                np.float32(90.0 * s) * (1 - 0.10 * u))

    def diaphragm_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Height (mm) of the diaphragm surface above (x, y) at end-exhale: two domes, the
        right one higher, falling into deep posterior and lateral costophrenic recesses."""
        s = self.scale
        r2 = 2.0 * 78.0 * s
        right = self.dome_right_z - ((x + 50.0 * s) ** 2 + (y - 2.0) ** 2) / r2
        left = self.dome_left_z - ((x - 55.0 * s) ** 2 + (y - 4.0) ** 2) / r2
        return np.maximum(right, left).astype(np.float32)

    def heart_center(self) -> np.ndarray:
        """Centre of the heart ellipsoid (mm)."""
        s = self.scale
        hx = 24.0 * s + self.heart_shift[0]
        hy = -28.0 * s + self.heart_shift[1]
        rot, radii = self.heart_frame()
        half = float(np.sqrt(np.sum((rot[2, :] * radii) ** 2)))
        hz = float(self.diaphragm_z(np.float32(hx), np.float32(hy))) + 0.62 * half
        return np.array([hx, hy, hz])

    def heart_frame(self) -> tuple[np.ndarray, np.ndarray]:
        """Rotation (columns: long axis towards the apex, then two short axes) and radii."""
        u = np.array([0.62, -0.55, -0.56])
        u /= np.linalg.norm(u)
        v = np.cross(u, [0.0, 0.0, 1.0])
        v /= np.linalg.norm(v)
        w = np.cross(u, v)
        radii = np.array([66.0, 50.0, 42.0]) * self.heart_scale * self.scale
        return np.stack([u, v, w], axis=1), radii


# ---------------------------------------------------------------------------------- helpers
def _soft(phi: np.ndarray, h: float) -> np.ndarray:
    """Partial-volume occupancy (0–1) of the region phi < 0 (phi a distance in mm)."""
    return np.clip(np.float32(0.5) - phi / np.float32(h), 0.0, 1.0)


def _paint(hu: np.ndarray, occ: np.ndarray, value: float | np.ndarray,
           sl: tuple[slice, ...] | None = None) -> None:
    """Blend ``value`` into ``hu`` with weight ``occ`` (in place, optionally in a box)."""
    view = hu if sl is None else hu[sl]
    view += occ * (np.float32(value) - view) if np.isscalar(value) else occ * (value - view)


def _box(grid: tuple[np.ndarray, ...], lo: np.ndarray, hi: np.ndarray
         ) -> tuple[tuple[slice, slice, slice], tuple[np.ndarray, ...]] | None:
    """Index slices and sub-grid of the mm box [lo, hi] (None when empty)."""
    sl = []
    for a in range(3):
        c = grid[a].ravel()
        i0 = int(np.searchsorted(c, lo[a]))
        i1 = int(np.searchsorted(c, hi[a], side="right"))
        if i1 <= i0:
            return None
        sl.append(slice(i0, i1))
    sub = tuple(g[tuple(sl[a] if a == b else slice(None) for b in range(3))]
                for a, g in enumerate(grid))
    return (sl[0], sl[1], sl[2]), sub


def _cavity_phi(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray,
                flat: bool = False) -> np.ndarray:
    """Approximate signed distance (mm, measured along the ray from the axis) to the inner
    thoracic wall: negative inside the thoracic/abdominal cavity."""
    a, b_ant, b_post = p.cavity_axes(z) if not flat else p.cavity_axes(np.float32(-1e3))
    yr = y - np.float32(p.yc)
    gutter = 1.0 + 0.08 * np.exp(-(((np.abs(x) - 42.0 * p.scale) / (28.0 * p.scale)) ** 2))
    b = np.where(yr < 0, b_ant, b_post * gutter)
    q = np.where(yr < 0, np.float32(_P), np.float32(_P_POST))
    rho = ((np.abs(x) / a) ** q + (np.abs(yr) / b) ** q) ** (1.0 / q)
    r = np.sqrt(x * x + yr * yr)
    return (r - r / np.maximum(rho, 1e-3)).astype(np.float32)


def _wall_point(p: ThoraxParams, theta: np.ndarray, z: np.ndarray, offset: float) -> np.ndarray:
    """Points (n, 3) on the inner thoracic wall at polar angle theta (0 = patient left,
    +π/2 = posterior), height z, pushed ``offset`` mm outwards."""
    a, b_ant, b_post = p.cavity_axes(z)
    c, s = np.cos(theta), np.sin(theta)
    b = np.where(s < 0, b_ant, b_post)
    q = np.where(s < 0, _P, _P_POST)
    r = 1.0 / ((np.abs(c) / a) ** q + (np.abs(s) / b) ** q) ** (1.0 / q)
    for _ in range(2):  # the paravertebral gutters deepen the posterior wall (see _cavity_phi)
        gutter = 1.0 + 0.08 * np.exp(-(((np.abs(r * c) - 42.0 * p.scale) / (28.0 * p.scale))
                                       ** 2))
        bg = np.where(s < 0, b_ant, b_post * gutter)
        r = 1.0 / ((np.abs(c) / a) ** q + (np.abs(s) / bg) ** q) ** (1.0 / q)
    r = r + offset
    return np.stack([r * c, p.yc + r * s, z], axis=1)


def _polyline(points: list[Vec3], n_per: int = 6) -> np.ndarray:
    """Catmull–Rom smoothing of a coarse polyline (mm) into a dense one."""
    pts = np.asarray(points, dtype=float)
    if len(pts) < 3:
        return pts
    ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        for t in np.linspace(0, 1, n_per, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    out.append(pts[-1])
    return np.asarray(out)


def _tube_path(points: list[Vec3], radii: list[float], n_per: int = 6
               ) -> tuple[np.ndarray, np.ndarray]:
    """Dense polyline and per-point radii for a tube through the given control points."""
    dense = _polyline(points, n_per)
    # radius by arc length fraction between control points
    ctrl = np.linspace(0, 1, len(radii))
    t = np.linspace(0, 1, len(dense))
    return dense, np.interp(t, ctrl, radii)


def _draw_tube(grid: tuple[np.ndarray, ...], spacing: Vec3, path: tuple[np.ndarray, np.ndarray],
               extra: float = 0.0, out: np.ndarray | None = None) -> np.ndarray:
    pts, rad = path
    return tubes_occupancy(grid, spacing, pts[:-1], pts[1:], rad[:-1] + extra, rad[1:] + extra,
                           out=out)


# ------------------------------------------------------------------------ great vessels etc.
def _mediastinal_paths(p: ThoraxParams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Control polylines (mm) and radii of the airways, great vessels and oesophagus."""
    s = p.scale
    zc = p.carina_z
    hc = p.heart_center()
    top = p.apex_z + 40.0
    bottom = p.dome_right_z - 140.0
    ys = p.spine_y
    ty = ys - 45.0 * s  # trachea y
    paths = {
        "trachea": _tube_path([(0, ty - 4, top), (0, ty - 2, zc + 40), (0, ty, zc)],
                              [9.0 * s, 9.0 * s, 8.5 * s]),
        "bronchus_r": _tube_path([(0, ty, zc + 2), (-20 * s, ty + 3, zc - 10),
                                  (-38 * s, ty + 6, zc - 22)], [7.5 * s, 6.5 * s, 5.5 * s], 4),
        "bronchus_l": _tube_path([(0, ty, zc + 2), (22 * s, ty + 4, zc - 8),
                                  (44 * s, ty + 9, zc - 22)], [6.5 * s, 6.0 * s, 5.0 * s], 4),
        "esophagus": _tube_path([(4 * s, ys - 24 * s, top), (6 * s, ys - 24 * s, zc),
                                 (14 * s, ys - 26 * s, p.dome_left_z - 10),
                                 (40 * s, ys - 45 * s, p.dome_left_z - 35)],
                                [7.5 * s, 7.5 * s, 8.0 * s, 9.0 * s]),
        "aorta": _tube_path([(hc[0] - 14 * s, hc[1] + 16 * s, hc[2] + 20),
                             (-2 * s, -14 * s, zc + 22), (8 * s, -2 * s, zc + 40),
                             (22 * s, ys - 40 * s, zc + 34), (26 * s, ys - 14 * s, zc + 10),
                             (22 * s, ys - 14 * s, p.dome_left_z - 30),
                             (6 * s, ys - 20 * s, bottom)],
                            [15 * s, 15 * s, 14 * s, 13 * s, 12 * s, 11 * s, 10.5 * s]),
        "brachiocephalic_a": _tube_path([(2 * s, -8 * s, zc + 40), (-14 * s, -6 * s, top)],
                                        [6.5 * s, 6.0 * s], 3),
        "carotid_l": _tube_path([(11 * s, -2 * s, zc + 42), (20 * s, 0, top)],
                                [4.5 * s, 4.5 * s], 3),
        "subclavian_l": _tube_path([(20 * s, 8 * s, zc + 38), (34 * s, 14 * s, top)],
                                   [5.5 * s, 5.0 * s], 3),
        "svc": _tube_path([(-26 * s, -10 * s, top), (-27 * s, -12 * s, zc),
                           (-25 * s, -8 * s, hc[2] + 18)], [10 * s, 10 * s, 10.5 * s]),
        "brachiocephalic_v": _tube_path([(48 * s, -28 * s, zc + 62), (10 * s, -26 * s, zc + 50),
                                         (-24 * s, -14 * s, zc + 40)], [6.5 * s, 6.5 * s, 8 * s]),
        "pulmonary_trunk": _tube_path([(hc[0] - 2 * s, hc[1] - 18 * s, hc[2] + 22),
                                       (22 * s, -14 * s, zc - 12)], [14 * s, 13 * s], 4),
        "pa_left": _tube_path([(22 * s, -14 * s, zc - 12), (36 * s, 4 * s, zc - 8),
                               (46 * s, 14 * s, zc - 16)], [11 * s, 10 * s, 8 * s], 4),
        "pa_right": _tube_path([(22 * s, -14 * s, zc - 12), (0, -4 * s, zc - 14),
                                (-30 * s, 0, zc - 16), (-46 * s, 8 * s, zc - 22)],
                               [11 * s, 10.5 * s, 10 * s, 8 * s], 4),
        "ivc": _tube_path([(-20 * s, 16 * s, bottom), (-20 * s, 12 * s, p.dome_right_z - 20),
                           (hc[0] - 34 * s, hc[1] + 30 * s, hc[2] - 10)],
                          [11 * s, 11 * s, 12 * s]),
    }
    la = hc + np.array([-4 * s, 30 * s, 10.0])
    for name, (hx, hz) in {"pv_rs": (-44, -32), "pv_ri": (-40, -52),
                           "pv_ls": (42, -26), "pv_li": (38, -46)}.items():
        side = np.sign(hx)
        paths[name] = _tube_path([(hx * s, 14 * s, zc + hz), (side * 22 * s, la[1] - 6, la[2]),
                                  tuple(la)], [6.5 * s, 7 * s, 8 * s], 3)
    return paths


# ----------------------------------------------------------------- lungs, lobes, interior
def _spine_block(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Region of the vertebral column and paraspinal gutters excluded from the cavity."""
    ys = p.spine_y_at(z)
    body = (x / (24.0 * p.scale)) ** 2 + ((y - ys) / (20.0 * p.scale)) ** 2 <= 1.0
    return body | ((np.abs(x) < 27.0 * p.scale) & (y > ys))


def _mediastinum_core(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray
                      ) -> np.ndarray:
    """The central soft-tissue band between the lungs (without the heart and vessels)."""
    s = p.scale
    ys = p.spine_y_at(z)
    y_ant = p.yc - p.cavity_axes(z)[1]
    u = np.clip((y - y_ant) / (ys - y_ant), 0.0, 1.0)
    half = 3.0 * s + 16.0 * s * u**1.5
    return (np.abs(x - 3.0 * s) < half) & (y < ys + 5)


def _lobe_of(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Lobe codes (:data:`LOBES`) by fissure planes, for points assumed inside a lung."""
    j = p.fissure_jitter
    zc = p.carina_z
    right = x < 3.0 * p.scale
    bend = 0.3 * (np.abs(x) - 60.0 * p.scale)
    z_obl_r = zc + 10.0 + 6 * j[0] + (0.59 + 0.06 * j[1]) * (y - 85.0 * p.scale) + bend
    z_obl_l = zc + 16.0 + 6 * j[2] + (0.62 + 0.06 * j[3]) * (y - 85.0 * p.scale) + bend
    z_hor = zc - 28.0 + 5 * j[1]
    lobes = np.where(
        right,
        np.where(z < z_obl_r, 3, np.where(z < z_hor, 2, 1)),
        np.where(z < z_obl_l, 5, 4),
    ).astype(np.uint8)
    return lobes


def _fissure_distance(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray
                      ) -> np.ndarray:
    """Distance (mm) to the nearest fissure plane (oblique both sides, horizontal right)."""
    j = p.fissure_jitter
    zc = p.carina_z
    right = x < 3.0 * p.scale
    sl_r, sl_l = 0.59 + 0.06 * j[1], 0.62 + 0.06 * j[3]
    bend = 0.3 * (np.abs(x) - 60.0 * p.scale)
    norm_r, norm_l = np.sqrt(1 + sl_r**2 + 0.09), np.sqrt(1 + sl_l**2 + 0.09)
    z_obl_r = zc + 10.0 + 6 * j[0] + sl_r * (y - 85.0 * p.scale) + bend
    d_r = np.abs(z - z_obl_r) / norm_r
    d_l = np.abs(z - (zc + 16.0 + 6 * j[2] + sl_l * (y - 85.0 * p.scale) + bend)) / norm_l
    d_h = np.where(z > z_obl_r, np.abs(z - (zc - 28.0 + 5 * j[1])), 1e3)
    return np.where(right, np.minimum(d_r, d_h), d_l).astype(np.float32)


def _regions(p: ThoraxParams, grid: tuple[np.ndarray, ...], spacing: Vec3
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cavity signed distance, interior (sliding) mask, mediastinum mask, lobe map."""
    x, y, z = grid
    phi = _cavity_phi(p, x, y, z)
    interior = (phi < 0) & ~_spine_block(p, x, y, z)
    med = _mediastinum_core(p, x, y, z)
    # heart with a fat margin
    rot, radii = p.heart_frame()
    hd = ellipsoid_distance(grid, tuple(p.heart_center()), tuple(radii + 5.0), rot)
    med |= hd <= 1.0
    occ = np.zeros(interior.shape, dtype=np.float32)
    for name, path in _mediastinal_paths(p).items():
        if name in ("bronchus_r", "bronchus_l"):
            continue
        _draw_tube(grid, spacing, path, extra=6.0 if name != "trachea" else 4.0, out=occ)
    med |= occ > 0.5
    zd = p.diaphragm_z(x, y)
    apex = _apex_ok(p, x, y, z)
    lung = interior & ~med & (z > zd) & apex
    lobes = np.where(lung, _lobe_of(p, x, y, z), 0).astype(np.uint8)
    return phi, interior, med, lobes


def _apex_ok(p: ThoraxParams, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Lungs end in two domes (apices) above the thoracic inlet."""
    s = p.scale
    q = ((np.abs(x) - 48.0 * s) / (62.0 * s)) ** 2 + ((y - 22.0 * s) / (60.0 * s)) ** 2
    return z <= p.apex_z - 45.0 * q


@functools.lru_cache(maxsize=4)
def planning_regions(p: ThoraxParams, step_mm: float = 4.0
                     ) -> tuple[tuple[np.ndarray, ...], Vec3, np.ndarray, np.ndarray, np.ndarray]:
    """The patient's regions on a fixed coarse grid (independent of the output grid).

    Returns ``(grid, spacing, interior, mediastinum, lobes)`` on a 360×360×270 mm grid of
    ``step_mm`` voxels; used to place the tumor and seed the vessel trees so that the same
    seed gives the same patient at every output resolution. Cached: treat as read-only.
    """
    shape = (int(360 / step_mm), int(360 / step_mm), int(270 / step_mm))
    spacing = (step_mm, step_mm, step_mm)
    grid = mm_grid(shape, spacing)
    _, interior, med, lobes = _regions(p, grid, spacing)
    return grid, spacing, interior, med, lobes


# ------------------------------------------------------------------------------- the build
@dataclass(frozen=True, eq=False)
class ThoraxReference:
    """The reference (end-exhale) patient on the output grid.

    Attributes:
        params: the patient parameters.
        hu: noise-free HU map (float32, [i, j, k]) before the scanner blur.
        interior: mask of the cavity that slides along the chest wall when breathing
            (lungs, mediastinum, upper abdomen); the rest (wall, ribs, spine, couch) does not.
        lobes: lung lobe codes (:data:`LOBES`), 0 outside the lungs.
        info: facts for the case description (JSON-able).
    """

    params: ThoraxParams
    hu: np.ndarray
    interior: np.ndarray
    lobes: np.ndarray
    info: dict = field(default_factory=dict)


def build_thorax(shape: tuple[int, int, int], spacing: Vec3, params: ThoraxParams
                 ) -> ThoraxReference:
    """Render the reference thorax of ``params`` on a grid of ``shape`` voxels of ``spacing`` mm
    centred on the origin. Deterministic; takes a few seconds at 256×256×100."""
    p = params
    s = p.scale
    grid = mm_grid(shape, spacing)
    x, y, z = grid
    h = float(np.prod(spacing) ** (1 / 3))
    rng = sub_stream(p.seed, "thorax-texture")

    phi, interior, _med, lobes = _regions(p, grid, spacing)
    lung = lobes > 0
    hu = np.full(shape, -1000.0, dtype=np.float32)

    # ---- body wall: skin, subcutaneous fat, muscles (pectoral, serratus, paraspinal), with
    # thicknesses varying around the body; the outline does not taper towards the shoulders
    yr = y - np.float32(p.yc)
    theta = np.arctan2(yr, x)  # (ni, nj, 1); 0 = left, +pi/2 = posterior
    wobble = _angular_noise(theta, sub_stream(p.seed, "wall"), 3)
    wall_fat = p.fat_mm * (1.0 + 0.35 * np.cos(2 * theta) + 0.2 * np.sin(theta)
                           + 0.25 * wobble[0])
    pect = np.exp(-((np.abs(theta + np.pi / 2) - 0.75) / 0.45) ** 2)
    para = np.exp(-((theta - np.pi / 2) / 0.42) ** 2)
    wall_mus = 8.0 * s + 9.0 * s * pect + 16.0 * s * para + 3.0 * wobble[1]
    t_rib = 11.0 * s
    phi_flat = _cavity_phi(p, x, y, z, flat=True)
    body_phi = phi_flat - (t_rib + wall_mus + wall_fat)
    mus_phi = phi_flat - (t_rib + wall_mus)
    back = float(p.yc + 90.0 * s + t_rib + 8.0 * s + 16.0 * s + p.fat_mm * 1.2) + 3.0
    _draw_couch(hu, x, y, back)

    _paint(hu, _soft(body_phi, h), -100.0 + 8.0 * smooth_field(shape, spacing, 12.0, rng))
    skin = _soft(body_phi + 1.8, h)
    _paint(hu, 1.0 - skin, 25.0 * _soft(body_phi, h) - 1000.0 * (1.0 - _soft(body_phi, h)))
    del skin
    mus = _soft(np.minimum(mus_phi, phi - t_rib - 4.0), h)
    _paint(hu, mus, 45.0 + 6.0 * wobble[2])
    # an intermuscular fat plane anteriorly (between pectoralis and the ribs)
    plane = np.clip(1 - np.abs(phi - t_rib - 3.0 * s) / 1.5, 0, 1) * pect * 0.8
    _paint(hu, plane, -80.0)
    # the anterior body surface (y, mm) at x = ±70 mm, for the breasts
    ia = [int(np.argmin(np.abs(x.ravel() - sg * 70.0 * s))) for sg in (-1.0, 1.0)]
    front = [float(y.ravel()[np.argmax(np.any(body_phi[i] < 0, axis=-1))]) for i in ia]
    del body_phi, mus_phi, phi_flat, mus, plane
    _draw_scapulae(hu, grid, spacing, p, phi, theta, t_rib, h)
    if p.breast_mm > 0:
        _draw_breasts(hu, grid, spacing, p, front, h, rng)

    # ---- cavity contents
    hu[interior] = -90.0  # mediastinal / abdominal fat
    zd = p.diaphragm_z(x, y)
    below = interior & (z < zd)
    texture = smooth_field(shape, spacing, 25.0, rng)
    fine = smooth_field(shape, spacing, 7.0, rng)
    dependent = np.clip((y - (p.yc - 72 * s)) / (160.0 * s), 0, 1)
    lung_hu = -880.0 + 18.0 * texture + 9.0 * fine + 65.0 * dependent ** 2
    hu[lung] = np.broadcast_to(lung_hu, shape)[lung]
    del texture, fine, lung_hu
    # fissures: faint thin lines
    fd = _fissure_distance(p, x, y, z)
    fiss = np.clip(1 - fd / h, 0, 1) * np.float32(min(1.0, 0.6 / h)) * lung
    _paint(hu, fiss, -450.0)
    del fd, fiss

    _draw_abdomen(hu, grid, spacing, p, below, zd, h, rng)
    _draw_mediastinum(hu, grid, spacing, p, zd, h)
    _draw_lung_trees(hu, grid, spacing, p, interior)
    _draw_spine(hu, grid, spacing, p, h)
    _draw_ribs(hu, grid, spacing, p)
    _draw_sternum_clavicles(hu, grid, spacing, p, h)
    info = {"contrast": p.contrast, "breasts": p.breast_mm > 0, "stomach_gas": p.stomach_gas,
            "body_scale": round(s, 3), "fat_mm": round(p.fat_mm, 1),
            "dome_right_z_mm": round(p.dome_right_z, 1),
            "dome_left_z_mm": round(p.dome_left_z, 1), "carina_z_mm": round(p.carina_z, 1)}
    return ThoraxReference(params=p, hu=hu, interior=interior, lobes=lobes, info=info)


def _draw_abdomen(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3, p: ThoraxParams,
                  below: np.ndarray, zd: np.ndarray, h: float, rng: np.random.Generator) -> None:
    x, y, z = grid
    s = p.scale
    shape = hu.shape
    # diaphragm muscle: a band under the lung surface
    dia = below & (z > zd - 5.0)
    # liver (right, crossing the midline anteriorly), stomach and spleen (left)
    liver_d = ellipsoid_distance(grid, (-38 * s, -2 * s, p.dome_right_z - 80), (110 * s,
                                 100 * s, 110), None)
    rot = _rot_z(np.deg2rad(35))
    stomach_c = (58 * s, -12 * s, p.dome_left_z - 48)
    stom_d = ellipsoid_distance(grid, stomach_c, (38 * s, 52 * s, 52), rot)
    spleen_d = ellipsoid_distance(grid, (84 * s, 52 * s, p.dome_left_z - 42),
                                  (24 * s, 52 * s, 46), _rot_z(np.deg2rad(-40)))
    liver = below & (liver_d <= 1) & (stom_d > 1.08) & (spleen_d > 1.08)
    liver &= x < 70 * s - 0.6 * (y + 40 * s)
    tex = smooth_field(shape, spacing, 15.0, rng)
    hu[liver] = (58.0 + 5.0 * tex)[liver]
    spleen = below & (spleen_d <= 1)
    hu[spleen] = 47.0
    stomach = below & (stom_d <= 1)
    hu[stomach] = 42.0  # wall
    lumen = below & (stom_d <= 0.86)
    hu[lumen] = 12.0 + 6.0 * tex[lumen]
    if p.stomach_gas:
        gas_level = stomach_c[2] + 10.0
        hu[lumen & (z > gas_level)] = -1000.0
    hu[dia] = 42.0


def _angular_noise(theta: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """``n`` smooth periodic random functions of the polar angle (unit-ish amplitude)."""
    out = []
    for _ in range(n):
        f = np.zeros_like(theta)
        for k in range(2, 7):
            f += rng.normal() / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        out.append((f / 0.6).astype(np.float32))
    return out


def _draw_breasts(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
                  p: ThoraxParams, front: list[float], h: float, rng: np.random.Generator
                  ) -> None:
    """Breasts: fatty mounds on the anterior chest wall with fibroglandular strands.
    ``front``: y (mm) of the anterior body surface at x = −70 and +70 mm."""
    s = p.scale
    for sg, y_front in zip((-1.0, 1.0), front, strict=True):
        y_wall = y_front + 12.0
        c = (sg * 70.0 * s, y_front + 0.35 * p.breast_mm, p.carina_z - 50.0)
        r = (62.0 * s, p.breast_mm, 55.0)
        boxed = _box(grid, np.array(c) - np.array(r) - 4, np.array(c) + np.array(r) + 4)
        if boxed is None:
            continue
        sl, g = boxed
        rho = ellipsoid_distance(g, c, r, _rot_z(sg * 0.25))
        sd = (rho - 1.0) * float(np.mean(r))
        inside = _soft(sd, h) * (g[1] < y_wall + 15.0)
        glands = np.clip((smooth_field(inside.shape, spacing, 6.0, rng) - 0.3) * 1.5, 0, 1)
        glands *= np.clip(1.0 - rho, 0, 1) ** 0.5
        view = hu[sl]
        # fat where there was air or subcutaneous fat (keep the chest wall underneath)
        soft_only = view < 35.0  # air, fat and the body's skin line, not the muscle
        _paint(view, inside * soft_only, -105.0 + 130.0 * glands)
        skin = np.clip(1 - np.abs(sd + 1.0) / 1.0, 0, 1) * soft_only
        _paint(view, skin * (g[1] < y_wall + 15.0), 25.0)


def _draw_couch(hu: np.ndarray, x: np.ndarray, y: np.ndarray, back: float) -> None:
    """CT couch below the patient's back: two carbon-fibre shells around foam."""
    xs, ycol = x[:, :, 0], y[:, :, 0]
    y_top = back + 0.0016 * xs**2
    inside = np.abs(xs) < 170.0
    shell = (((ycol > y_top) & (ycol < y_top + 2.5))
             | ((ycol > y_top + 16) & (ycol < y_top + 18.5)))
    foam = (ycol >= y_top + 2.5) & (ycol <= y_top + 16)
    hu[shell & inside] = 250.0
    hu[foam & inside] = -960.0


def _draw_scapulae(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
                   p: ThoraxParams, phi: np.ndarray, theta: np.ndarray, t_rib: float,
                   h: float) -> None:
    """Shoulder blades: thin curved triangular plates behind the upper ribs."""
    _x, _y, z = grid
    zc = p.carina_z
    zs = z.ravel()
    ks = np.flatnonzero((zs > zc - 60.0) & (zs < p.apex_z + 30.0))
    if ks.size == 0:
        return
    sl = (slice(None), slice(None), slice(int(ks[0]), int(ks[-1]) + 1))
    ph = phi[sl]
    zz = z[sl]
    # angle from the posterior midline, positive laterally on both sides
    lat = np.where(theta > 0, np.abs(np.pi / 2 - theta), 10.0)  # anterior half: never
    # triangle in (lat, z): medial border lat≈0.42, inferior angle, glenoid laterally
    z_low, z_high = zc - 55.0, p.apex_z + 8.0
    u = (zz - z_low) / (z_high - z_low)  # 0 at the inferior angle, 1 at the top
    med = 0.40 + 0.05 * u
    lateral = 0.55 + 0.6 * np.clip(u, 0, 1) ** 0.8
    inside = (u >= 0) & (u <= 1) & (lat > med) & (lat < lateral)
    off = t_rib + 7.0 + 6.0 * np.clip((lat - 0.4) / 0.6, 0, 1)
    plate = np.clip(1 - np.abs(ph - off) / 2.0, 0, 1) * inside
    _paint(hu, plate, 520.0, sl)


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _draw_mediastinum(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
                      p: ThoraxParams, zd: np.ndarray, h: float) -> None:
    """Heart (chambers filled with contrast when ``p.contrast``), pericardium, great vessels,
    oesophagus and the central airways."""
    s = p.scale
    blood = 40.0
    c_left, c_right, c_myo = (270.0, 190.0, 110.0) if p.contrast else (blood, blood, 44.0)
    rot, radii = p.heart_frame()
    hc = p.heart_center()
    reach = float(radii.max()) + 8.0
    boxed = _box(grid, hc - reach, hc + reach)
    if boxed is not None:
        sl, g = boxed
        zsub = zd[sl[0], sl[1], :]
        above = g[2] > zsub - 1.0
        rho = ellipsoid_distance(g, tuple(hc), tuple(radii), rot)
        r_mean = float(np.mean(radii))
        hphi = (rho - 1.0) * r_mean
        peri = np.clip(1 - np.abs(hphi - 4.0) / 1.0, 0, 1) * above * 0.8
        _paint(hu, peri, 25.0, sl)
        _paint(hu, _soft(hphi, h) * above, c_myo, sl)
        u = rot[:, 0]
        chambers = [  # centre offset (mm), radii along (long, short, short), value
            (hc + 8 * u + np.array([14, 6, -4]) * s, (30, 17, 18), c_left),  # LV
            (hc + 6 * u + np.array([-8, -20, -2]) * s, (32, 11, 22), c_right),  # RV
            (hc + np.array([-4, 30, 12]) * s, (20, 14, 15), c_left),  # LA
            (hc + np.array([-32, 2, 6]) * s, (22, 19, 22), c_right),  # RA
        ]
        for c, rr, val in chambers:
            rd = ellipsoid_distance(g, tuple(c), tuple(np.array(rr) * p.heart_scale * s), rot)
            occ = _soft((rd - 1.0) * float(np.mean(rr)), h) * (rho < 1.0) * above
            _paint(hu, occ, val, sl)
    vessel_val = {"aorta": c_left, "pulmonary_trunk": c_right, "pa_left": c_right,
                  "pa_right": c_right, "svc": 340.0 if p.contrast else blood,
                  "brachiocephalic_v": 300.0 if p.contrast else blood, "ivc": blood,
                  "brachiocephalic_a": c_left, "carotid_l": c_left, "subclavian_l": c_left,
                  "esophagus": 42.0}
    paths = _mediastinal_paths(p)
    for name in ("esophagus", "ivc", "svc", "brachiocephalic_v", "pulmonary_trunk", "pa_left",
                 "pa_right", "aorta", "brachiocephalic_a", "carotid_l", "subclavian_l",
                 "pv_rs", "pv_ri", "pv_ls", "pv_li"):
        occ = _draw_tube(grid, spacing, paths[name])
        _paint(hu, occ, vessel_val.get(name, c_left))
    # airways: wall then lumen
    for name in ("trachea", "bronchus_r", "bronchus_l"):
        _paint(hu, _draw_tube(grid, spacing, paths[name], extra=2.0), 35.0)
    for name in ("trachea", "bronchus_r", "bronchus_l"):
        _paint(hu, _draw_tube(grid, spacing, paths[name]), -1000.0)


def _sample_in(mask: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3, n: int,
               rng: np.random.Generator) -> np.ndarray:
    """``n`` random points (mm) uniformly inside a mask given on ``grid``."""
    idx = np.argwhere(mask)
    if len(idx) == 0:
        return np.zeros((0, 3))
    pick = idx[rng.choice(len(idx), size=min(n, len(idx)), replace=False)]
    origin = np.array([g.ravel()[0] for g in grid])
    return origin + (pick + rng.uniform(-0.5, 0.5, pick.shape)) * np.asarray(spacing)


@functools.lru_cache(maxsize=2)
def _lung_trees(p: ThoraxParams) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Pulmonary artery, vein and bronchial trees: (nodes, parents, radii, kind) per tree,
    grown on the planning grid so they are the same at every output resolution."""
    grid, spacing, _, _, lobes = planning_regions(p)
    rng = sub_stream(p.seed, "lung-trees")
    paths = _mediastinal_paths(p)
    trees = []
    for side, sign in (("r", -1), ("l", 1)):
        lung = (lobes >= 4) if sign > 0 else ((lobes >= 1) & (lobes <= 3))
        n_vox = int(lung.sum())
        n_att = max(200, int(n_vox * 64.0 / 450.0))  # ~ one attractor per 450 mm³
        for kind, roots in (("artery", [f"pa_{'left' if sign > 0 else 'right'}"]),
                            ("vein", [f"pv_{side}s", f"pv_{side}i"]),
                            ("bronchus", [f"bronchus_{side}"])):
            n = n_att if kind != "bronchus" else n_att // 6
            att = _sample_in(lung, grid, spacing, n, rng)
            parts = np.array_split(att[np.argsort(att[:, 2])[::-1]], len(roots))
            for root_name, part in zip(roots, parts, strict=True):
                pts, rad = paths[root_name]
                root = pts[0] if kind == "vein" else pts[-1]
                direction = (pts[0] - pts[1]) if kind == "vein" else (pts[-1] - pts[-2])
                if kind == "bronchus":
                    nodes, parents = branching_tree(root, direction, part, rng, step_mm=5.0,
                                                    influence_mm=70.0, kill_mm=14.0,
                                                    jitter=0.1)
                    radii = tree_radii(parents, 0.7, 2.4)
                    radii *= float(rad[-1]) / max(radii[0], 1e-3)
                else:
                    nodes, parents = branching_tree(root, direction, part, rng, step_mm=3.0,
                                                    influence_mm=30.0, kill_mm=5.0)
                    radii = tree_radii(parents, 0.5, 2.45)
                    root_r = float(rad[-1] if kind == "artery" else rad[0])
                    radii = np.minimum(radii, root_r)
                trees.append((nodes, parents, radii, kind))
    return trees


def _draw_lung_trees(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
                     p: ThoraxParams, interior: np.ndarray) -> None:
    vessel = np.zeros(hu.shape, dtype=np.float32)
    walls = np.zeros(hu.shape, dtype=np.float32)
    lumen = np.zeros(hu.shape, dtype=np.float32)
    for nodes, parents, radii, kind in _lung_trees(p):
        ch = np.arange(1, len(nodes))
        a, b = nodes[parents[ch]], nodes[ch]
        r = radii[ch]
        if kind == "bronchus":
            keep = r >= 0.9
            tubes_occupancy(grid, spacing, a[keep], b[keep], r[keep] * 1.3 + 0.5, out=walls)
            tubes_occupancy(grid, spacing, a[keep], b[keep], r[keep], out=lumen)
        else:
            tubes_occupancy(grid, spacing, a, b, r, out=vessel)
    inside = interior.astype(np.float32)
    value = 300.0 if p.contrast else 40.0
    _paint(hu, vessel * inside, value)
    _paint(hu, walls * inside * (hu < -300), 20.0)
    _paint(hu, lumen * inside, -1000.0)


def _draw_spine(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3, p: ThoraxParams,
                h: float) -> None:
    x, y, z = grid
    s = p.scale
    ys = p.spine_y_at(z)
    step = 22.0 * p.scale_z
    top = p.apex_z - 2.0
    # vertebral bodies and discs: a column whose value alternates along z
    ax, ay = 19.0 * s, 15.5 * s
    rho = np.sqrt((x / ax) ** 2 + ((y - ys) / ay) ** 2)
    col_phi = (rho - 1.0) * ay
    phase = np.mod((top - z) / step + 0.5, 1.0) * step  # 0..step within a level
    disc = np.abs(phase - step / 2) > (step / 2 - 2.6 * s)
    endplate = (np.abs(phase - step / 2) > (step / 2 - 4.0 * s)) & ~disc
    cortex = np.clip(1 - np.abs(col_phi + 1.0) / 1.2, 0, 1)
    body_val = np.where(disc, 90.0, np.where(endplate, 480.0, 230.0)).astype(np.float32)
    body_val = body_val + cortex * np.where(disc, 0.0, 500.0)
    _paint(hu, _soft(col_phi, h), body_val)
    # posterior elements per level
    yc_canal = ys + ay + 9.0 * s
    ring = np.sqrt(x**2 + (y - yc_canal) ** 2)
    levels = top - step * np.arange(0, 14)
    zs = z.ravel()
    for zl in levels:
        ks = np.flatnonzero(np.abs(zs - zl) < 7.5 * s)
        if ks.size == 0:
            continue
        sl = (slice(None), slice(None), slice(int(ks[0]), int(ks[-1]) + 1))
        ring_k = ring[sl] if ring.shape[2] > 1 else ring
        yk = np.broadcast_to(y, ring_k.shape)
        ycan = yc_canal[sl] if np.ndim(yc_canal) == 3 and yc_canal.shape[2] > 1 else yc_canal
        arch = (ring_k > 8.0 * s) & (ring_k < 13.5 * s) & (yk > ycan - 7 * s)
        view = hu[sl]
        view[arch] = 420.0
    _paint(hu, _soft(ring - 8.0 * s, h) * (y > ys), 25.0)  # spinal canal
    starts, ends, r0, r1 = [], [], [], []
    for zl in levels:
        ycl = float(p.spine_y_at(zl)) + ay + 9.0 * s
        starts.append((0, ycl + 11 * s, zl))
        ends.append((0, ycl + 30 * s, zl - 16 * s))
        r0.append(4.5 * s)
        r1.append(3.5 * s)
        for sg in (-1, 1):
            starts.append((sg * 9 * s, ycl - 2 * s, zl))
            ends.append((sg * 30 * s, ycl + 6 * s, zl + 2))
            r0.append(5.5 * s)
            r1.append(5.0 * s)
    occ = tubes_occupancy(grid, spacing, np.array(starts), np.array(ends), np.array(r0),
                          np.array(r1))
    _paint(hu, occ, 480.0)


def _draw_ribs(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
               p: ThoraxParams) -> None:
    s = p.scale
    step = 22.0 * p.scale_z
    top = p.apex_z - 2.0
    bone_a, bone_b = [], []
    cart_a, cart_b = [], []
    radii_b, radii_m, radii_c = [], [], []
    rng = sub_stream(p.seed, "ribs")
    for n in range(12):
        z_post = top - step * n + 4.0
        drop = (75.0 + 3.0 * n if n > 0 else 40.0) * p.scale_z + rng.uniform(-6, 6)
        th_post = 1.28
        th_end = [-1.32, -1.35, -1.38, -1.4, -1.4, -1.38, -1.3, -1.15, -0.95, -0.75, -0.2,
                  0.25][n]
        cart_frac = [0.2, 0.12, 0.14, 0.16, 0.18, 0.22, 0.28, 0.32, 0.34, 0.3, 0.0, 0.0][n]
        r = (5.2 if n < 2 else 4.6) * s
        th = np.linspace(th_post, th_end, 36)
        frac = (th_post - th) / (th_post + 1.4)
        zr = z_post + 3.0 - drop * (3 * frac**2 - 2 * frac**3) * 0.7 - drop * 0.3 * frac
        for sign in (1, -1):
            thetas = th if sign > 0 else np.pi - th
            pts = _wall_point(p, thetas, zr, r + 1.0)
            ys = float(p.spine_y_at(z_post))
            head = np.array([[sign * 20.0 * s, ys + 4.0, z_post + 2.0]])
            pts = np.vstack([head, pts])
            n_c = round(cart_frac * len(pts))
            nb = len(pts) - n_c
            bone_a.append(pts[: nb - 1])
            bone_b.append(pts[1:nb])
            radii_b.append(np.full(nb - 1, r))
            radii_m.append(np.full(nb - 1, r - 1.8 * s))
            if n_c:
                cart_a.append(pts[nb - 1: -1])
                cart_b.append(pts[nb:])
                radii_c.append(np.full(len(pts) - nb, r * 0.85))
    ba, bb = np.vstack(bone_a), np.vstack(bone_b)
    _paint(hu, tubes_occupancy(grid, spacing, ba, bb, np.concatenate(radii_b)), 900.0)
    _paint(hu, tubes_occupancy(grid, spacing, ba, bb, np.concatenate(radii_m)), 260.0)
    if cart_a:
        _paint(hu, tubes_occupancy(grid, spacing, np.vstack(cart_a), np.vstack(cart_b),
                                   np.concatenate(radii_c)), 130.0)


def _draw_sternum_clavicles(hu: np.ndarray, grid: tuple[np.ndarray, ...], spacing: Vec3,
                            p: ThoraxParams, h: float) -> None:
    x, y, z = grid
    s = p.scale
    zc = p.carina_z
    z_top, z_bot = zc + 58.0, zc - 112.0
    _, b_ant, _ = p.cavity_axes(z)
    y_front = np.float32(p.yc) - b_ant
    half_w = np.where(z > zc + 20, 24.0 * s, 14.0 * s).astype(np.float32)
    yy = y - (y_front - 7.0 * s)
    rho = ((np.abs(x) / half_w) ** 3 + (np.abs(yy) / (6.0 * s)) ** 3) ** (1 / 3)
    inz = (z < z_top) & (z > z_bot)
    phi = (rho - 1.0) * 6.0 * s
    occ = _soft(phi, h) * inz
    cortex = np.clip(1 - np.abs(phi + 0.9) / 1.0, 0, 1)
    _paint(hu, occ, 300.0 + 450.0 * cortex)
    # clavicles
    yf = float(p.yc - p.cavity_axes(np.float32(z_top))[1])
    starts, ends = [], []
    for sg in (-1, 1):
        path = _polyline([(sg * 22 * s, yf - 14 * s, z_top + 6), (sg * 60 * s, yf - 18 * s,
                          z_top + 12), (sg * 100 * s, yf + 5 * s, z_top + 20),
                          (sg * 122 * s, yf + 35 * s, z_top + 24)], 5)
        starts.append(path[:-1])
        ends.append(path[1:])
    st, en = np.vstack(starts), np.vstack(ends)
    _paint(hu, tubes_occupancy(grid, spacing, st, en, 7.5 * s), 850.0)
    _paint(hu, tubes_occupancy(grid, spacing, st, en, 5.0 * s), 280.0)

"""Head and brain anatomy for the brain MRI phantom: a tissue map from analytic shapes.

Coordinates are millimetres relative to the volume centre on LPS axes (+x patient Left,
+y Posterior, +z Superior; arrays ``[i, j, k]`` = (x, y, z), see :mod:`tumorseg.io`).
Surfaces are signed distances (mm, negative inside) built from ellipsoids, tubes and smooth
unions, so tissue layers (CSF, skull, scalp) are offsets of one surface.

The cortex is folded: sulci are sheets where a random field on the sphere (sampled along the
ray from the brain centre, so sulci run radially inwards) crosses zero, down to a random
depth; gray matter lines the brain surface and every sulcus (≈2.7 mm thick), white matter
fills the rest. Deep structures: lateral ventricles (frontal/occipital/temporal horns),
third and fourth ventricles, caudate, thalamus, lentiform nuclei, corpus callosum (white
matter), cerebellum with folia, brainstem, falx, choroid plexus, orbits and sinuses at the
skull base. A mass effect (radial push away from the tumor) can displace the deep structures.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tumorseg.phantoms.primitives import ellipsoid_distance, mm_grid

__all__ = ["TISSUES", "BrainParams", "brain_tissues", "envelope_sd", "ventricle_paths"]

Vec3 = tuple[float, float, float]

#: Tissue codes of the internal tissue map.
TISSUES: dict[str, int] = {
    "air": 0, "skin": 1, "fat": 2, "bone": 3, "marrow": 4, "csf": 5, "gm": 6, "wm": 7,
    "deep_gm": 8, "ventricle": 9, "dura": 10, "vessel": 11, "muscle": 12, "vitreous": 13,
    "choroid_plexus": 14,
}
_T = TISSUES


def sub_stream(seed: int, name: str) -> np.random.Generator:
    """Independent generator for one part of the phantom (same seed → same part)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


@dataclass(frozen=True)
class BrainParams:
    """Random head parameters (mm unless stated), drawn by :meth:`sample`."""

    seed: int
    scale: float
    center: tuple[float, float, float]
    ventricle_scale: float
    sulcal_width: float  # CSF half-width of the sulci (atrophy)
    skull_mm: float
    scalp_fat_mm: float
    tilt_deg: float  # small head rotation about z

    def head_to_world(self, h: np.ndarray) -> np.ndarray:
        """Map a point in the head frame (mm, centred on the brain) to world mm."""
        ang = np.deg2rad(self.tilt_deg)
        hx, hy = h[0] + self.center[0], h[1] + self.center[1]
        return np.array([np.cos(ang) * hx + np.sin(ang) * hy,
                         -np.sin(ang) * hx + np.cos(ang) * hy, h[2] + self.center[2]])

    @classmethod
    def sample(cls, seed: int) -> BrainParams:
        """Draw the parameters of head ``seed``."""
        r = sub_stream(seed, "brain-params")
        return cls(
            seed=int(seed),
            scale=float(r.uniform(0.92, 1.0)),
            center=(float(r.uniform(-2, 2)), float(r.uniform(0, 4)), float(r.uniform(-4, 0))),
            ventricle_scale=float(r.uniform(0.8, 1.35)),
            sulcal_width=float(r.uniform(0.45, 0.9)),
            skull_mm=float(r.uniform(5.5, 7.5)),
            scalp_fat_mm=float(r.uniform(2.5, 5.0)),
            tilt_deg=float(r.uniform(-4, 4)),
        )


# ------------------------------------------------------------------------------- helpers
def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Rounded minimum (union of signed distances), rounding ``k`` mm."""
    d = a - b
    return 0.5 * (a + b - np.sqrt(d * d + np.float32(k * k)))


def _smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Rounded maximum (intersection of signed distances)."""
    d = a - b
    return 0.5 * (a + b + np.sqrt(d * d + np.float32(k * k)))


def _ell_sd(x: np.ndarray, y: np.ndarray, z: np.ndarray, c: Vec3, r: Vec3) -> np.ndarray:
    """Approximate signed distance (mm) to an axis-aligned ellipsoid, along the ray from
    its centre."""
    dx, dy, dz = x - np.float32(c[0]), y - np.float32(c[1]), z - np.float32(c[2])
    rho = np.sqrt((dx / r[0]) ** 2 + (dy / r[1]) ** 2 + (dz / r[2]) ** 2)
    dist = np.sqrt(dx * dx + dy * dy + dz * dz)
    return (dist - dist / np.maximum(rho, 1e-3)).astype(np.float32)


def _polyline_sd(x: np.ndarray, y: np.ndarray, z: np.ndarray, pts: np.ndarray,
                 radii: np.ndarray, stretch: Vec3 = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Signed distance (mm) to a tube of varying radius along a polyline (full arrays).

    ``stretch`` scales the coordinates before measuring (e.g. (1.6, 1, 1) makes the
    cross-section narrower in x)."""
    st = np.asarray(stretch, dtype=np.float32)
    xs, ys, zs = x * st[0], y * st[1], z * st[2]
    out = None
    for n in range(len(pts) - 1):
        a, b = np.asarray(pts[n]) * st, np.asarray(pts[n + 1]) * st
        ab = b - a
        ll = float(ab @ ab)
        dx, dy, dz = xs - np.float32(a[0]), ys - np.float32(a[1]), zs - np.float32(a[2])
        t = np.clip((dx * ab[0] + dy * ab[1] + dz * ab[2]) / max(ll, 1e-9), 0.0, 1.0)
        ex, ey, ez = dx - t * ab[0], dy - t * ab[1], dz - t * ab[2]
        d = np.sqrt(ex * ex + ey * ey + ez * ez) - (radii[n] + t * (radii[n + 1] - radii[n]))
        out = d if out is None else np.minimum(out, d)
    return out.astype(np.float32)


def _index_box(ref: tuple[np.ndarray, ...], lo: np.ndarray, hi: np.ndarray
               ) -> tuple[slice, slice, slice] | None:
    """Index box of the voxels whose (head-frame) coordinates ``ref`` lie in [lo, hi]."""
    x2, y2, z1 = ref[0][:, :, 0], ref[1][:, :, 0], ref[2][0, 0, :]
    m2 = (x2 >= lo[0]) & (x2 <= hi[0]) & (y2 >= lo[1]) & (y2 <= hi[1])
    ii = np.flatnonzero(m2.any(axis=1))
    jj = np.flatnonzero(m2.any(axis=0))
    kk = np.flatnonzero((z1 >= lo[2]) & (z1 <= hi[2]))
    if not (ii.size and jj.size and kk.size):
        return None
    return (slice(int(ii[0]), int(ii[-1]) + 1), slice(int(jj[0]), int(jj[-1]) + 1),
            slice(int(kk[0]), int(kk[-1]) + 1))


def _local(fn, coords: tuple[np.ndarray, ...], ref: tuple[np.ndarray, ...], lo: np.ndarray,
           hi: np.ndarray, fill: float = 1e3) -> np.ndarray:
    """``fn(x, y, z)`` evaluated only in the box [lo, hi] (mm), ``fill`` elsewhere."""
    out = np.full(ref[0].shape[:2] + ref[2].shape[2:], fill, dtype=np.float32)
    box = _index_box(ref, np.asarray(lo, float), np.asarray(hi, float))
    if box is not None:
        out[box] = fn(*(c[box] for c in coords))
    return out


def _ell_local(coords: tuple[np.ndarray, ...], ref: tuple[np.ndarray, ...], c: Vec3, r: Vec3,
               margin: float) -> np.ndarray:
    """:func:`_ell_sd` within ``margin`` mm of the ellipsoid's box."""
    c_, r_ = np.asarray(c, float), np.asarray(r, float)
    return _local(lambda x, y, z: _ell_sd(x, y, z, c, r), coords, ref, c_ - r_ - margin,
                  c_ + r_ + margin)


def _poly_local(coords: tuple[np.ndarray, ...], ref: tuple[np.ndarray, ...], pts: np.ndarray,
                radii: np.ndarray, margin: float, stretch: Vec3 = (1.0, 1.0, 1.0)
                ) -> np.ndarray:
    """:func:`_polyline_sd` within ``margin`` mm of the tube's box."""
    pts = np.asarray(pts, float)
    rmax = float(np.max(radii)) / min(stretch)
    return _local(lambda x, y, z: _polyline_sd(x, y, z, pts, radii, stretch), coords, ref,
                  pts.min(axis=0) - rmax - margin, pts.max(axis=0) + rmax + margin)


def _sphere_noise(rng: np.random.Generator, n: int = 48, sigma: float = 2.2) -> np.ndarray:
    """A smooth random 3D field on an n³ grid (unit std), sampled later on a sphere."""
    f = ndimage.gaussian_filter(rng.standard_normal((n, n, n)).astype(np.float32), sigma,
                                mode="wrap")
    return f / float(f.std() or 1.0)


def _sample_noise(field: np.ndarray, pts: tuple[np.ndarray, ...], extent: float) -> np.ndarray:
    """Sample ``field`` (covering [-extent, extent]³ mm) at points (mm), linear."""
    n = field.shape[0]
    coords = [(p + extent) / (2 * extent) * (n - 1) for p in pts]
    return ndimage.map_coordinates(field, coords, order=1, mode="wrap").astype(np.float32)


def envelope_sd(p: BrainParams, x: np.ndarray, y: np.ndarray, z: np.ndarray,
                ref: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (mm, negative inside) to the outer brain surface, and the height of
    the tentorium, at head-frame points (x, y, z) (any broadcastable arrays; ``ref`` = the
    grid's coordinates when the points are a grid, to evaluate small parts in boxes)."""
    s = p.scale
    cer_r = (63.0 * s, 78.0 * s, 54.0 * s)
    sd_cer = _ell_sd(x, y, z, (0.0, 0.0, 2.0), cer_r)
    temporal = _smoothstep((np.abs(x) - 16.0 * s) / (14.0 * s)) * _smoothstep(
        (y + 45.0 * s) / 16.0)
    floor = -20.0 * s - 26.0 * s * temporal
    post = _smoothstep((y - 15.0 * s) / 20.0)
    tentorium = (-14.0 * s - 0.32 * (y - 15.0 * s) - 0.003 * x * x).astype(np.float32)
    floor = (1 - post) * floor + post * np.maximum(floor, tentorium)
    sd_cer = _smax(sd_cer, (floor - z).astype(np.float32), 6.0)
    sd_cb = _ell_sd(x, y, z, (0.0, 46.0 * s, -44.0 * s), (50.0 * s, 32.0 * s, 23.0 * s))
    sd_cb = _smax(sd_cb, (z - (tentorium - 2.0)).astype(np.float32), 3.0)
    stem = np.array([(0, 8 * s, -8.0), (0, 18 * s, -40 * s), (0, 24 * s, -90.0)])
    stem_r = np.array([12.0, 11.0, 10.0]) * s
    if ref is None:
        sd_bs = _polyline_sd(x, y, z, stem, stem_r)
    else:
        sd_bs = _poly_local((x, y, z), ref, stem, stem_r, 20.0)
    return _smin(_smin(sd_cer, sd_cb, 4.0), sd_bs, 5.0), tentorium


def ventricle_paths(p: BrainParams, side: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Centre lines (mm, head frame) and radii of one lateral ventricle: (body with frontal
    and occipital horns, temporal horn); ``side`` −1 right, +1 left."""
    s, vs = p.scale, p.ventricle_scale
    body = np.array([(side * 10, -30, 6), (side * 12, -16, 13), (side * 14, 4, 16),
                     (side * 20, 26, 10), (side * 16, 46, 4)]) * s
    temp = np.array([(side * 20, 26, 10), (side * 28, 14, -6), (side * 32, -4, -16),
                     (side * 31, -16, -20)]) * s
    return [(body, np.array([4.5, 6.0, 6.0, 8.0, 3.2]) * s * vs),
            (temp, np.array([6.0, 4.0, 2.6, 2.0]) * s * vs)]


# ------------------------------------------------------------------------ the tissue map
def brain_tissues(
    params: BrainParams,
    shape: tuple[int, int, int],
    spacing: Vec3,
    push: tuple[Vec3, float, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render the head of ``params`` as a tissue map (uint8 codes of :data:`TISSUES`).

    ``push = (centre, amplitude_mm, width_mm)`` displaces the deep structures radially away
    from ``centre`` (mass effect of a tumor), by at most ``amplitude_mm``.

    Returns ``(tissue, extra)`` where ``extra`` holds ``depth`` (float32, mm below the brain
    surface) and ``intracranial`` (bool: inside the inner table of the skull).
    """
    p = params
    s = p.scale
    grid = mm_grid(shape, spacing)
    ang = np.deg2rad(p.tilt_deg)
    x0, y0, z = grid
    xf = (np.cos(ang) * x0 - np.sin(ang) * y0 - np.float32(p.center[0])).astype(np.float32)
    yf = (np.sin(ang) * x0 + np.cos(ang) * y0 - np.float32(p.center[1])).astype(np.float32)
    zf = np.broadcast_to(z - np.float32(p.center[2]), np.broadcast_shapes(xf.shape, z.shape))
    x, y = np.broadcast_to(xf, shape), np.broadcast_to(yf, shape)
    z = np.broadcast_to(zf, shape)
    tissue = np.zeros(shape, dtype=np.uint8)

    # ---- brain envelope: cerebrum with a shaped floor, cerebellum, brainstem
    ref = (x, y, z)
    envelope, tentorium = envelope_sd(p, x, y, z, ref)

    # ---- skull and scalp as offsets of the envelope
    csf_gap = 2.5
    sd_ic = envelope - np.float32(csf_gap)  # inner table
    occ = _smoothstep((y - 20.0) / 40.0)  # thicker occipital bone
    t_skull = np.float32(p.skull_mm) * (1.0 + 0.25 * occ)
    t_fat = np.float32(p.scalp_fat_mm)
    neck = _ell_sd(x, y, z, (0.0, 8.0 * s, -130.0), (64.0 * s, 78.0 * s, 130.0))
    face = _ell_sd(x, y, z, (0.0, -30.0 * s, -60.0), (62.0 * s, 70.0 * s, 55.0))
    below = _smin(neck, face, 10.0) - 2.0
    head = _smin(sd_ic - t_skull - t_fat - 2.0, below, 12.0)
    tissue[head < 0] = _T["muscle"]
    tissue[(head < 0) & (head > -(t_fat + 2.0))] = _T["fat"]
    tissue[(head < 0) & (head > -1.8)] = _T["skin"]
    bone = sd_ic < t_skull
    tissue[bone & (head < -(t_fat + 1.0))] = _T["bone"]
    dip = (sd_ic > 0.35 * t_skull) & (sd_ic < 0.65 * t_skull) & (head < -(t_fat + 2.0))
    tissue[dip & (sd_ic > 0)] = _T["marrow"]
    del neck, face, below, t_skull, occ
    _skull_base(tissue, x, y, z, s, head)
    intracranial = sd_ic < 0
    tissue[intracranial] = _T["csf"]
    # dura: a thin enhancing layer under the inner table
    tissue[intracranial & (sd_ic > -0.9)] = _T["dura"]

    # ---- deep structures in (optionally) pushed coordinates
    xd, yd, zd = x, y, z
    margin = 2.0
    if push is not None:
        c, amp, width = push  # centre in world mm → head frame
        cx = np.float32(np.cos(ang) * c[0] - np.sin(ang) * c[1] - p.center[0])
        cy = np.float32(np.sin(ang) * c[0] + np.cos(ang) * c[1] - p.center[1])
        cz = np.float32(c[2] - p.center[2])
        dx, dy, dz = x - cx, y - cy, z - cz
        r2 = dx * dx + dy * dy + dz * dz
        k = np.float32(amp / (width * np.exp(-0.5))) * np.exp(-r2 / np.float32(2 * width**2))
        xd, yd, zd = x - k * dx, y - k * dy, z - k * dz
        margin += float(amp)
    pushed = (xd, yd, zd)

    # ---- cortex: sulci are sheets perpendicular to the brain surface (a random field sampled
    # at the nearest surface point crosses zero), down to a random depth; gray matter lines
    # the surface and every sulcus. The cerebellum gets finer, deeper folds (folia).
    depth = -envelope
    brain = envelope < 0
    rng = sub_stream(p.seed, "brain-folds")
    coarse = _sphere_noise(rng, 84, 1.5)
    fine = _sphere_noise(rng, 96, 1.2)
    deep_noise = _sphere_noise(rng, 24, 1.5)
    gx, gy, gz = np.gradient(envelope, *spacing)
    gn = np.sqrt(gx * gx + gy * gy + gz * gz) + np.float32(1e-3)
    surf = (xd - envelope * gx / gn, yd - envelope * gy / gn, zd - envelope * gz / gn)
    del gx, gy, gz, gn
    w_cb = (_smoothstep((tentorium - 1.0 - z) / 4.0) * _smoothstep((y - 5.0 * s) / 10.0)
            * (np.abs(x) > 2.0))
    sulc = (1 - w_cb) * _sample_noise(coarse, surf, 100.0) + w_cb * _sample_noise(fine, surf,
                                                                                  100.0)
    # a second, independent sulcal network (cerebrum only) doubles the density and gives
    # the long, branching sulci of a real cortex instead of isolated loops
    sulc2 = _sample_noise(coarse[::-1, ::-1], surf, 100.0)
    jitter = _sample_noise(deep_noise, surf, 100.0)
    del surf
    sulc_depth = np.clip(14.0 + 5.0 * jitter, 5.0, 24.0) * (1 - w_cb) + (9.0 + 3.0 * jitter) * w_cb
    stem = _smoothstep((-z - 20.0 * s) / 10.0) * _smoothstep((12.0 * s - np.abs(x)) / 6.0)
    sulc_depth = sulc_depth * (1 - stem) * (1 - 0.6 * w_cb * stem)
    d_sheet = _sheet_distance(sulc, spacing)
    d_sheet = np.minimum(d_sheet, _sheet_distance(sulc2, spacing) + 40.0 * w_cb)
    del sulc, sulc2
    d_sulcus = np.sqrt(d_sheet**2 + np.maximum(depth - sulc_depth, 0.0) ** 2)
    del d_sheet
    # interhemispheric fissure (not pushed: the falx holds it), down to the corpus callosum
    cc_top = 20.0 * s - 8.0 * ((y / (40.0 * s)) ** 2)
    fissure_floor = np.where(np.abs(y) < 38.0 * s, cc_top, -60.0)
    above_cb = z > tentorium + 1.0
    in_fissure = (np.abs(x) < 1.2) & (z > fissure_floor) & brain & above_cb
    gm_thick = np.float32(2.7) * (1 - w_cb) + np.float32(1.6) * w_cb
    csf_w = np.float32(p.sulcal_width) * (1 - 0.4 * w_cb)
    cortex_d = np.minimum(depth, d_sulcus - csf_w)
    cortex_d = np.minimum(cortex_d, np.where((z > fissure_floor) & above_cb, np.abs(x) - 1.2,
                                             1e3))
    tissue[brain] = _T["wm"]
    tissue[brain & (cortex_d < gm_thick)] = _T["gm"]
    in_sulcus = brain & (d_sulcus < csf_w) & (depth < sulc_depth + csf_w) & (depth > 0)
    tissue[in_sulcus] = _T["csf"]
    # cortical vessels running in some sulci (bright after contrast)
    tissue[in_sulcus & (np.abs(jitter - 0.7) < 0.07) & (depth < 8.0)] = _T["vessel"]
    del jitter, in_sulcus
    tissue[in_fissure] = _T["csf"]
    tissue[in_fissure & (np.abs(x) < 0.5)] = _T["dura"]  # falx
    # tentorium: a dural sheet between cerebrum and cerebellum
    tissue[brain & (np.abs(z - tentorium) < 0.5) & (y > 18.0 * s) & (np.abs(x) > 8.0)] = _T["dura"]
    del d_sulcus, cortex_d, w_cb, stem

    # deep gray nuclei and ventricles
    vs = p.ventricle_scale
    for sg in (-1.0, 1.0):
        for c, r, rot in (((sg * 12.0, -12.0, 10.0), (7.5, 11.0, 9.0), 0.0),  # caudate head
                          ((sg * 11.0, 8.0, 1.0), (10.0, 15.0, 9.0), 0.0),  # thalamus
                          ((sg * 24.0, -3.0, 0.0), (6.5, 15.0, 10.0), sg * 0.15)):  # lentiform
            c_s = tuple(v * s for v in c)
            r_s = tuple(v * s for v in r)
            rm = max(r_s) + margin
            d = _local(lambda a, b, cc, c_s=c_s, r_s=r_s, rot=rot: ellipsoid_distance(
                (a, b, cc), c_s, r_s, _rot_z(rot) if rot else None), pushed, ref,
                np.array(c_s) - rm, np.array(c_s) + rm)
            tissue[brain & (d <= 1.0) & (tissue != _T["csf"])] = _T["deep_gm"]
    vent = None
    for sg in (-1.0, 1.0):
        (body, rad), (temp, rad_t) = ventricle_paths(p, sg)
        d_body = _poly_local(pushed, ref, body, rad, margin + 2.0, stretch=(1.5, 1.0, 0.9))
        d_temp = _poly_local(pushed, ref, temp, rad_t, margin + 2.0)
        d = np.minimum(d_body, d_temp)
        vent = d if vent is None else np.minimum(vent, d)
    # caudate indents the lateral wall; septum pellucidum keeps the two sides apart
    third = _ell_local(pushed, ref, (0.0, 6.0 * s, -4.0 * s), (2.0 * vs, 14.0 * s, 9.0 * s),
                       margin + 2.0)
    fourth = _ell_local(pushed, ref, (0.0, 30.0 * s, -40.0 * s), (6.0 * s, 4.0 * s, 8.0 * s),
                        margin + 2.0)
    vent = np.minimum(vent, np.minimum(third, fourth))
    septum = np.abs(xd) < 0.9
    ventricle = brain & (vent < 0) & ~(septum & (third > 0))
    tissue[ventricle] = _T["ventricle"]
    # choroid plexus in the atria
    for sg in (-1.0, 1.0):
        d = _ell_local(pushed, ref, (sg * 21.0 * s, 27.0 * s, 8.0 * s), (3.5, 5.0, 3.0),
                       margin + 2.0)
        tissue[ventricle & (d < 0)] = _T["choroid_plexus"]
    del vent, third, fourth
    # superior sagittal sinus at the vertex, in the falx
    sss = _poly_local(ref, ref, np.array([(0, -60 * s, 40 * s), (0, -20 * s, 58 * s),
                                          (0, 30 * s, 54 * s), (0, 66 * s, 22 * s)]),
                      np.array([2.5, 3.5, 4.0, 4.5]), 2.0)
    tissue[(sss < 0) & intracranial] = _T["vessel"]

    extra = {"depth": depth.astype(np.float32), "intracranial": intracranial}
    return tissue, extra


def _sheet_distance(f: np.ndarray, spacing: Vec3) -> np.ndarray:
    """Approximate distance (mm) to the zero level set of a smooth field: |f| / |∇f|."""
    gx, gy, gz = np.gradient(f, *spacing)
    grad = np.sqrt(gx * gx + gy * gy + gz * gz) + np.float32(1e-3)
    return (np.abs(f) / grad).astype(np.float32)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return (u * u * (3 - 2 * u)).astype(np.float32)


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _skull_base(tissue: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, s: float,
                head: np.ndarray) -> None:
    """Orbits (globes in fat), paranasal sinuses and mastoids below the anterior skull."""
    inside = head < -3.0
    ref = (x, y, z)
    for sg in (-1.0, 1.0):
        fat = _ell_local(ref, ref, (sg * 30 * s, -58 * s, -40.0 * s), (17 * s, 26 * s, 15 * s), 2.0)
        tissue[inside & (fat < 0)] = _T["fat"]
        globe = _ell_local(ref, ref, (sg * 32 * s, -70 * s, -40.0 * s),
                           (12 * s, 12 * s, 12 * s), 2.0)
        tissue[inside & (globe < 0)] = _T["skin"]  # sclera
        tissue[inside & (globe < -1.2)] = _T["vitreous"]
        mastoid = _ell_local(ref, ref, (sg * 52 * s, 22 * s, -52.0 * s),
                             (9 * s, 12 * s, 12 * s), 2.0)
        tissue[inside & (mastoid < 0)] = _T["bone"]
        tissue[inside & (mastoid < -2.5)] = _T["air"]
    ethmoid = _ell_local(ref, ref, (0.0, -62 * s, -42.0 * s), (10 * s, 18 * s, 12 * s), 2.0)
    tissue[inside & (ethmoid < 0)] = _T["bone"]
    tissue[inside & (ethmoid < -1.5)] = _T["air"]
    sphen = _ell_local(ref, ref, (0.0, -28 * s, -50.0 * s), (12 * s, 11 * s, 10 * s), 2.0)
    tissue[inside & (sphen < 0)] = _T["bone"]
    tissue[inside & (sphen < -1.5)] = _T["air"]

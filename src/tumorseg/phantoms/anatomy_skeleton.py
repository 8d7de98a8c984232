"""The skeleton of the torso phantom: vertebrae (bodies with cortical shell and endplates,
discs, posterior arches, spinal canal), sacrum, ribs with costal cartilages, sternum, ilia,
acetabula, pubic and ischial rami and proximal femurs.

Bones are painted from signed distances (mm): a cortical shell (at least about one voxel
thick; thinner-than-voxel cortex is drawn as ``CORTICAL_THIN``, whose HU the CT mixes with
cancellous bone) around cancellous bone. Called by
:func:`~tumorseg.phantoms.anatomy_abdomen.build_torso`; anatomical mm as there.
"""

from __future__ import annotations

import numpy as np

from tumorseg.phantoms.anatomy_abdomen import BONE, SOFT, T, Torso
from tumorseg.phantoms.anatomy_shapes import Box, class_lut, polyline_tube
from tumorseg.phantoms.primitives import ellipsoid_distance

__all__ = ["paint_pelvis", "paint_ribs", "paint_spine"]

def _cortex_thickness(t: Torso) -> float:
    """Cortical shell thickness (mm) drawn: at least ~ one in-plane voxel."""
    return float(max(1.5, 0.8 * min(t.frame.anat_spacing[:2])))


def _paint_bone(t: Torso, box: Box, sd: np.ndarray, over: np.ndarray | None = None,
                cortex: float | None = None) -> None:
    """Paint a bone from its signed distance: cortical shell, cancellous inside."""
    cx = _cortex_thickness(t) if cortex is None else cortex
    t.paint(box, sd < 0, T.CANCELLOUS, BONE, over)
    t.paint(box, (sd < 0) & (sd > -cx), _cortical_class(t), BONE, class_lut([T.CANCELLOUS]))


def _cortical_class(t: Torso) -> int:
    return T.CORTICAL if min(t.frame.anat_spacing[:2]) <= 1.2 else T.CORTICAL_THIN


def paint_spine(t: Torso) -> None:
    """Vertebral bodies with endplates, discs, posterior arches, spinal canal and sacrum."""
    sp = t.spine
    box = t.box((-70, -30, -330), (70, 160, 1e4))
    if box.empty:
        return
    Z = box.Z.ravel().astype(np.float64)
    yv = sp.y(Z)
    rx, ry = sp.radius(Z)
    names = list(sp.levels)
    lo = np.array([sp.levels[n][0] for n in names])
    hi = np.array([sp.levels[n][1] for n in names])
    idx = np.searchsorted(lo, Z, side="right") - 1
    valid = idx >= 0
    idc = np.clip(idx, 0, len(names) - 1)
    in_body = valid & (Z < hi[idc])
    pos = np.where(valid, (Z - lo[idc]) / (hi[idc] - lo[idc]), -1.0)  # 0..1 inside body
    gap_next = np.where(idc + 1 < len(lo), lo[np.minimum(idc + 1, len(lo) - 1)], hi[idc] + 6)
    in_disc = valid & ~in_body & (Z < gap_next)
    lumbar = Z < sp.levels["L1"][1] + 4
    cx = _cortex_thickness(t)
    endplate = np.minimum(Z - lo[idc], hi[idc] - Z) < max(1.5, 0.6 * box.spacing[2])

    def v(a: np.ndarray) -> np.ndarray:
        return a.astype(np.float32).reshape(1, 1, -1)

    X, Y = box.X, box.Y
    dy = Y - v(yv)
    qb = np.sqrt((X / v(rx)) ** 2 + (dy / v(ry)) ** 2)
    body_sd = (qb - 1.0) * v(np.minimum(rx, ry))
    body_sd = np.maximum(body_sd, dy - v(ry * 0.82))  # flat back of the body
    vb = v(in_body.astype(np.float32)) > 0
    t.paint(box, (body_sd < 0) & vb, T.CANCELLOUS, BONE)
    shell = (body_sd > -cx) | (v(endplate.astype(np.float32)) > 0)
    t.paint(box, (body_sd < 0) & vb & shell, _cortical_class(t), BONE)
    t.paint(box, (body_sd < 1.0) & (v(in_disc.astype(np.float32)) > 0), T.DISC, BONE)
    # posterior arch: ring around the canal, spinous and transverse processes
    rcx = np.where(lumbar, 11.5, 8.5)
    rcy = np.where(lumbar, 8.0, 7.0)
    yc = yv + ry + rcy + 2.5
    arch_here = (Z > lo[0] - 4) & (Z < hi[-1] + 4)
    dyc = Y - v(yc)
    qc = np.sqrt((X / v(rcx)) ** 2 + (dyc / v(rcy)) ** 2)
    qo = np.sqrt((X / v(rcx + 6.5)) ** 2 + (dyc / v(rcy + 6.0)) ** 2)
    pedicle = (np.abs(X) < v(rcx + 5.0)) & (Y > v(yv + ry * 0.4)) & (dyc < 0) & (
        np.abs(X) > v(rcx - 3.0))
    ring = ((qo <= 1.0) | pedicle) & (v(arch_here.astype(np.float32)) > 0)
    low_part = (pos > 0.0) & (pos < 0.75) | in_disc
    sp_len = np.where(lumbar, 32.0, 38.0)
    spinous = (np.abs(X) < np.float32(3.5)) & (dyc > 0) & (dyc < v(rcy + sp_len)) & (
        v(low_part.astype(np.float32)) > 0)
    mid = (pos > 0.35) & (pos < 0.62)
    tp_len = np.where(lumbar, np.interp(Z, [-120, -60, 20], [36, 46, 34]), 30.0)
    tp_slope = np.where(lumbar, 0.05, 0.45)
    tp_y = v(yc) - 1.0 + v(tp_slope) * np.maximum(np.abs(X) - v(rcx), 0)
    tp_half = np.float32(4.0) - np.float32(2.0) * np.clip(
        (np.abs(X) - v(rcx)) / v(tp_len - rcx), 0, 1)
    transverse = (np.abs(X) > v(rcx)) & (np.abs(X) < v(tp_len)) & (
        np.abs(Y - tp_y) < tp_half) & (v(mid.astype(np.float32)) > 0)
    arch = (ring | spinous | transverse) & (v((Z > sp.s1_top).astype(np.float32)) > 0)
    t.paint(box, arch, _cortical_class(t), BONE, SOFT)
    t.paint(box, (qc <= 1.0) & (v((Z > sp.s1_top - 60).astype(np.float32)) > 0),
            T.CANAL, 0)
    # sacrum: a wide, curved, tapering bone below S1
    z_tip = sp.s1_top - 125.0
    w = np.clip((Z - z_tip) / (sp.s1_top - z_tip), 0.0, 1.0)
    sac = (Z <= sp.s1_top) & (Z > z_tip)
    sx = 26.0 * (0.35 + 0.65 * w)
    ala = 54.0 * np.clip(w * 1.6 - 0.45, 0.12, 1.0)
    sy = 17.0 * (0.45 + 0.55 * w)
    dys = Y - v(yv)
    core = (X / v(sx)) ** 2 + (dys / v(sy)) ** 2
    wing = (X / v(ala)) ** 2 + ((dys - v(sy * 0.5)) / v(sy * 0.75)) ** 2
    sd_sac = (np.sqrt(np.minimum(core, wing)) - 1.0) * v(sy)
    sd_sac = np.where(v(sac.astype(np.float32)) > 0, sd_sac, np.float32(99))
    _paint_bone(t, box, sd_sac, SOFT)
    canal_s = (X / np.float32(11)) ** 2 + ((dys - v(sy + 4)) / v(4.0 + 3.0 * w)) ** 2 < 1
    t.paint(box, canal_s & v(sac.astype(np.float32)).astype(bool) & (v(w) > 0.3), T.CANAL, 0)


def _rib_paths(t: Torso, name: str, side: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, int]:
    """Centreline (N, 3) of one rib and how many of its points are bone (rest: cartilage)."""
    sp = t.spine
    n = int(name[1:])
    z0 = sp.level_center(name) + 4.0
    yv = float(sp.y(z0))
    end = {12: 150, 11: 178, 10: 232, 9: 242, 8: 250, 7: 256, 6: 262, 5: 266,
           4: 268, 3: 268}[n] + rng.uniform(-6, 6)
    bone_end = min(end, 238.0 + rng.uniform(-6, 6))
    drop = {12: 25, 11: 45, 10: 75, 9: 85, 8: 88, 7: 86, 6: 80, 5: 70, 4: 60, 3: 50}[n]
    drop *= rng.uniform(0.85, 1.15)
    th_deg = np.arange(112.0, end + 0.1, 5.0)
    u = (th_deg - th_deg[0]) / max(th_deg[-1] - th_deg[0], 1.0)
    zs = z0 - drop * u ** 1.25
    if n <= 10 and end > 240:  # costal cartilage rises again towards the sternum/costal margin
        cart = th_deg > bone_end
        zs = np.where(cart, zs + 0.9 * (th_deg - bone_end) * (1 + (10 - n) * 0.1), zs)
    th = np.deg2rad(th_deg)
    # angles as drawn are the right side (X < 0 near 180°); the left side is mirrored
    th_eval = th if side < 0 else np.pi - th
    rc, rm, _ = t.wall.radii(th_eval, zs)
    r = rc + 0.38 * (rm - rc) + 2.0
    xs = r * np.cos(th) if side < 0 else -r * np.cos(th)
    ys = r * np.sin(th)
    head = np.array([[side * 16.0, yv + 10.0, z0 + 2.0], [side * 34.0, yv + 34.0, z0]])
    pts = np.concatenate([head, np.stack([xs, ys, zs], axis=1)])
    nbone = 2 + int(np.sum(th_deg <= bone_end))
    return pts, nbone


def paint_ribs(t: Torso) -> None:
    """Ribs 3–12 with costal cartilages, and the sternum / xiphoid."""
    rng = t.rng("ribs")
    top = t.frame.axis(2).max()
    for name in ("T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"):
        for side in (-1.0, 1.0):
            pts, nbone = _rib_paths(t, name, side, rng)
            if pts[:, 2].min() > top + 20:
                continue
            b = t.box(pts.min(0) - 15, pts.max(0) + 15)
            if b.empty:
                continue
            st = (1.0, 1.0, 0.5)
            sd, _ = polyline_tube(b, pts[:nbone], 3.2, margin=3, stretch=st)
            _paint_bone(t, b, sd, SOFT, cortex=1.6)
            if nbone < len(pts):
                sd, _ = polyline_tube(b, pts[nbone - 1:], 3.0, margin=3, stretch=st)
                t.paint(b, sd < 0, T.CARTILAGE, 0, SOFT)
    # sternum and xiphoid in the anterior wall
    z_x = t.spine.level_center("T10") + rng.uniform(-10, 10)
    zs = np.array([z_x - 35.0, z_x, z_x + 250.0])
    rc, rm, _ = t.wall.radii(-np.pi / 2, zs)
    ys = -(rc + 0.45 * (rm - rc))
    pts = np.stack([np.zeros(3), ys, zs], axis=1)
    b = t.box(pts.min(0) - 30, pts.max(0) + 30)
    sd, _ = polyline_tube(b, pts, [4.0, 9.0, 13.0], margin=3, stretch=(1.0, 0.45, 1.0))
    _paint_bone(t, b, sd, SOFT, cortex=1.6)


def _ilium_levels(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Control cross-sections of the right ilium: heights, polylines (X, Y) and thickness."""
    zs = np.array([-98.0, -112.0, -132.0, -152.0, -176.0, -200.0, -222.0])
    lines = [
        np.array([[-66, 64], [-80, 60]]),
        np.array([[-56, 62], [-86, 50], [-112, 26], [-124, 2]]),
        np.array([[-52, 58], [-90, 44], [-120, 14], [-127, -22]]),
        np.array([[-50, 54], [-86, 42], [-114, 10], [-122, -36]]),
        np.array([[-52, 48], [-80, 38], [-104, 12], [-112, -22]]),
        np.array([[-58, 42], [-80, 34], [-100, 14], [-104, -8]]),
        np.array([[-70, 34], [-94, 26], [-108, 8], [-100, -16]]),
    ]
    th = np.array([8.0, 9.0, 5.0, 5.0, 7.0, 11.0, 16.0])
    jitter = rng.uniform(0.94, 1.06)
    return zs + rng.uniform(-8, 8), [ln.astype(float) * jitter for ln in lines], th


def paint_pelvis(t: Torso) -> None:
    """Ilia, acetabula, pubic and ischial rami, femoral heads, necks and trochanters."""
    rng = t.rng("pelvis")
    zs, lines, th = _ilium_levels(rng)
    box = t.box((-200, -120, -340), (200, 120, zs[0] + 5))
    if box.empty:
        return
    fz = float(-252.0 + rng.uniform(-8, 8))
    fx = float(92.0 * rng.uniform(0.95, 1.05))
    r_head = float(rng.uniform(21, 25))
    for s in (-1.0, 1.0):
        # ilium, slice by slice between control cross-sections
        for z in box.Z.ravel():
            if z > zs[0] or z < zs[-1] - 6:
                continue
            j = int(np.clip(np.searchsorted(-zs, -z) - 1, 0, len(zs) - 2))
            w = float(np.clip((zs[j] - z) / (zs[j] - zs[j + 1]), 0, 1))
            a, b = lines[j], lines[j + 1]
            if len(a) != len(b):
                a = np.array([a[0], a[0] + (a[1] - a[0]) * 0.5, a[1], a[1]])
            line = (1 - w) * a + w * b
            thick = (1 - w) * th[j] + w * th[j + 1]
            pts = np.column_stack([-s * line[:, 0], line[:, 1],
                                   np.full(len(line), z)])
            sl = box.sub((-250, -250, z - 0.01), (250, 250, z + 0.01))
            if sl.empty:
                continue
            sd, _ = polyline_tube(sl, pts, thick / 2, margin=3)
            _paint_bone(t, sl, sd, SOFT)
        # femur: head, neck, greater trochanter, shaft
        head = np.array([s * fx, 2.0, fz])

        def at(dx: float, dy: float, dz: float, head: np.ndarray = head) -> np.ndarray:
            return head + np.array([dx, dy, dz])

        b = t.box(head - 80, head + 80)
        if b.empty:
            continue
        q = ellipsoid_distance(b.grid, tuple(head), (r_head,) * 3)
        sd = (q - 1.0) * r_head
        neck = np.array([head, at(s * 32, 6, -22), at(s * 40, 10, -30)])
        sdn, _ = polyline_tube(b, neck, [14.0, 14.0, 17.0], margin=3)
        tro = ellipsoid_distance(b.grid, tuple(at(s * 44, 14, -20)), (16, 20, 24))
        shaft = np.array([at(s * 40, 8, -30), at(s * 34, 2, -250)])
        sds, _ = polyline_tube(b, shaft, 14.0, margin=3)
        femur = np.minimum(np.minimum(sd, sdn), np.minimum((tro - 1.0) * 16, sds))
        _paint_bone(t, b, femur, SOFT)
        # acetabulum: a bony cup around the head (medial half), joint space between
        q_out = ellipsoid_distance(b.grid, tuple(at(-s * 6, 0, 4)), (r_head + 14,) * 3)
        cup = (q_out <= 1.0) & (q > 1.0 + 2.5 / r_head) & ((b.X - head[0]) * s < 8)
        cup &= b.Z > fz - 22
        t.paint(b, cup, T.CANCELLOUS, BONE, SOFT)
        t.paint(b, cup & (q_out > 1.0 - _cortex_thickness(t) / (r_head + 14)),
                _cortical_class(t), BONE, class_lut([T.CANCELLOUS]))
        # pubic rami and ischium
        rami = [
            (np.array([at(-s * 14, -22, 2), [s * 12, -60, fz - 22]]), 9.0),
            (np.array([[s * 12, -58, fz - 40], at(-s * 30, 30, -60)]), 7.0),
            (np.array([at(-s * 14, 28, 4), at(-s * 26, 42, -55)]), 11.0),
        ]
        for pts, r in rami:
            bb = t.box(pts.min(0) - 20, pts.max(0) + 20)
            sdr, _ = polyline_tube(bb, pts, r, margin=3)
            _paint_bone(t, bb, sdr, SOFT)

"""The viscera of the torso phantom: kidneys, adrenals, spleen, liver with its vessels,
gallbladder, portal system, pancreas, stomach, duodenum, colon, small bowel, bladder and
pelvic organs, small mesenteric vessels and lymph nodes.

Called by :func:`tumorseg.phantoms.anatomy_abdomen.build_torso` after the body wall, skeleton,
muscles and great vessels; each organ takes only free intra-abdominal fat
(:data:`~tumorseg.phantoms.anatomy_abdomen.FREE`), so organs painted earlier keep their
shape and later ones fill the space left, as real viscera do. Coordinates are anatomical mm
(X left, Y posterior, Z superior, 0 at the L1/L2 disc).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tumorseg.phantoms.anatomy_shapes import (
    Box,
    class_lut,
    polyline_tube,
    smooth_max,
    smooth_path,
)
from tumorseg.phantoms.anatomy_tissues import ORGAN_LABELS, Tissue
from tumorseg.phantoms.primitives import ellipsoid_distance

if TYPE_CHECKING:
    from tumorseg.phantoms.anatomy_abdomen import Torso

__all__ = ["paint_viscera"]

T = Tissue
OL = ORGAN_LABELS
FREE = class_lut([T.VISCERAL_FAT])
FAT = class_lut([T.VISCERAL_FAT, T.RETRO_FAT])


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _frame_from(w: np.ndarray, u_hint: np.ndarray) -> np.ndarray:
    """Rotation whose columns are (u, v, w): w given, u as close to ``u_hint`` as possible."""
    w = _unit(w)
    u = _unit(u_hint - (u_hint @ w) * w)
    return np.column_stack([u, np.cross(w, u), w])


def _local(box: Box, c: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Coordinate (mm) of the box voxels along unit vector ``axis`` from point ``c``."""
    a = axis.astype(np.float32)
    return ((box.X - np.float32(c[0])) * a[0] + (box.Y - np.float32(c[1])) * a[1]
            + (box.Z - np.float32(c[2])) * a[2])


def _at_z(path: np.ndarray, z: float) -> np.ndarray:
    """Point of a roughly vertical polyline at height ``z`` (linear; clamped at the ends)."""
    order = np.argsort(path[:, 2])
    p = path[order]
    return np.array([np.interp(z, p[:, 2], p[:, 0]), np.interp(z, p[:, 2], p[:, 1]), z])


def _tube_organ(t: Torso, pts: np.ndarray, radii: np.ndarray | float, cls: int, organ: int,
                over: np.ndarray, margin: float = 4.0, stretch=(1.0, 1.0, 1.0)
                ) -> tuple[Box, np.ndarray, np.ndarray]:
    """Paint a tube; return its box, signed distance and the mask painted."""
    r = float(np.max(radii))
    b = t.box(pts.min(0) - r - margin - 2, pts.max(0) + r + margin + 2)
    sd, _ = polyline_tube(b, pts, radii, margin=margin, stretch=stretch)
    painted = t.paint(b, sd < 0, cls, organ, over)
    return b, sd, painted


# ----------------------------------------------------------------------------- kidneys
def _paint_kidneys(t: Torso) -> None:
    """Kidneys (cortex, medullary pyramids, sinus fat, pelvis), perirenal fat, renal vessels,
    ureters to the bladder, adrenals."""
    sp = t.spine
    for s, name in ((-1.0, "right"), (1.0, "left")):
        rng = t.rng(f"kidney-{name}")
        zc = (-24.0 if s < 0 else -8.0) + rng.uniform(-12, 12)
        L, W, Th = rng.uniform(50, 62), rng.uniform(27, 32), rng.uniform(21, 25)
        c = np.array([s * rng.uniform(64, 76), float(sp.y(zc)) + rng.uniform(14, 24), zc])
        a1, a2 = np.deg2rad(rng.uniform(8, 20)), np.deg2rad(rng.uniform(10, 25))
        w = _unit([-s * np.sin(a1), np.sin(a2), 1.0])
        hil = np.deg2rad(rng.uniform(30, 55))
        R = _frame_from(w, np.array([-s * np.cos(hil), -np.sin(hil), 0.0]))
        u = R[:, 0]
        t.paths[f"kidney_{name}"] = np.array([c, c + u * W])
        b = t.box(c - L - 30, c + L + 30)
        if b.empty:
            continue
        q = ellipsoid_distance(b.grid, tuple(c), (W, Th, L), R)
        sd = (q - 1.0) * np.float32(Th) + np.float32(1.2) * b.field(14.0, rng)
        fat = rng.uniform(5, 14)
        t.paint(b, sd < fat, T.RETRO_FAT, 0, FREE)
        organ = OL[f"kidney_{name}"]
        t.paint(b, sd < 0, T.KIDNEY_CORTEX, organ, FAT)
        cortex_t = rng.uniform(5.5, 8.0)
        pyr = b.field(9.0, rng)
        t.paint(b, (sd < -cortex_t) & (pyr > -0.5), T.KIDNEY_MEDULLA, organ,
                class_lut([T.KIDNEY_CORTEX]))
        cs = c + u * (0.58 * W)
        qs = ellipsoid_distance(b.grid, tuple(cs), (0.5 * W, 0.4 * Th, 0.55 * L), R)
        kid = class_lut([T.KIDNEY_CORTEX, T.KIDNEY_MEDULLA])
        t.paint(b, qs <= 1.0, T.RETRO_FAT, 0, kid)
        fill = rng.uniform(0.5, 1.1)
        cp = c + u * (0.68 * W)
        qp = ellipsoid_distance(b.grid, tuple(cp), (0.34 * W * fill, 0.28 * Th * fill,
                                                    0.42 * L * fill), R)
        t.paint(b, qp <= 1.0, T.URINE, organ, class_lut([T.RETRO_FAT]))
        # calyces: short branches from the pelvis towards the poles
        for pole in (-1.0, 1.0):
            cal = np.array([cp, c + u * 0.15 * W + R[:, 2] * pole * 0.55 * L])
            _tube_organ(t, cal, 2.6 * fill, T.URINE, organ,
                                     class_lut([T.RETRO_FAT, T.KIDNEY_MEDULLA]), margin=1)
        # renal vein to the IVC (the left one crossing in front of the aorta), artery behind
        hilum = c + u * (1.05 * W)
        ivc = _at_z(t.paths["ivc"], zc + 8)
        ao = _at_z(t.paths["aorta"], zc + 12)
        if s < 0:
            vein = np.array([hilum, 0.5 * (hilum + ivc) + [0, -4, 0], ivc])
        else:
            vein = np.array([hilum, [30.0, ao[1] - 16, zc + 8], [ao[0], ao[1] - 17, zc + 8],
                             ivc])
        _tube_organ(t, vein, [6.0, 5.5, 5.5, 6.0][: len(vein)], T.VEIN, 0, FAT, margin=1)
        art = np.array([ao + np.array([s * 8, 4, 0]), hilum + np.array([0, 6, 3])])
        _tube_organ(t, art, 3.2, T.ARTERY, 0, FAT, margin=1)
        # ureter: down along the psoas, over the iliac vessels, into the bladder base
        ure = smooth_path(np.array([
            hilum + np.array([0, -2, -10]), [s * 55, float(sp.y(zc - 60)) - 6, zc - 60],
            [s * 48, float(sp.y(-110)) - 14, -110.0], [s * 46, 2.0, -160.0],
            [s * 52, 30.0, -215.0], [s * 22, -12.0, -262.0]]), 5.0)
        t.paths[f"ureter_{name}"] = ure
        _tube_organ(t, ure, 2.4, T.URINE, 0, class_lut([T.VISCERAL_FAT, T.RETRO_FAT]),
                    margin=1)
        # adrenal: a thin inverted Y above and medial to the upper pole
        top = c + R[:, 2] * L * 0.95
        base = np.array([top[0] - s * 10 * (1 if s > 0 else 1.6), top[1] - 6, top[2] + 8])
        for limb in ([s * -2, 14, 26], [s * 12, 4, 22]):
            pts = np.array([base, base + np.array(limb, float)])
            _tube_organ(t, pts, 2.6, T.ADRENAL, 0, FAT, margin=1)


# ----------------------------------------------------------------------------- spleen
def _paint_spleen(t: Torso) -> None:
    """A crescent spleen under the left dome, its convex face on the posterolateral wall."""
    rng = t.rng("spleen")
    f = rng.uniform(0.8, 1.25)
    th = np.deg2rad(rng.uniform(12, 35))
    rc, _, _ = t.wall.radii(th, 50.0)
    thick, breadth, height = 24.0 * f, 50.0 * f, 54.0 * f
    radial = np.array([np.cos(th), np.sin(th), 0.0])
    c = radial * (float(rc) - thick * 1.05 - 10.0)
    # hang it under the diaphragm: its upper pole just below the dome's slope
    c[2] = float(t.diaphragm.height(np.float32(c[0]), np.float32(c[1]))) - 6.0 - height * (
        rng.uniform(0.5, 0.7))
    R = _frame_from(_unit([0.25, 0.1, 1.0]), radial)
    b = t.box(c - 90, c + 90)
    if b.empty:
        return
    q = ellipsoid_distance(b.grid, tuple(c), (thick, breadth, height), R)
    ci = c - radial * thick * 1.7
    qi = ellipsoid_distance(b.grid, tuple(ci), (thick * 1.5, breadth * 0.8, height * 0.8), R)
    sd = smooth_max((q - 1.0) * np.float32(thick), (1.0 - qi) * np.float32(thick * 1.5), 6.0)
    sd = np.maximum(sd, t.cavity_sd(b) + 1.5)
    dia = t.diaphragm.height(b.X[:, :, 0], b.Y[:, :, 0])[:, :, None]
    sd = np.maximum(sd, b.Z - (dia - 6.0))
    sd = sd + np.float32(3.0) * b.field(30.0, rng)
    t.paint(b, sd < 0, T.SPLEEN, OL["spleen"], FREE)
    t.paths["spleen_hilum"] = np.array([c - radial * thick * 0.9])


# ----------------------------------------------------------------------------- liver
def _branch_tree(rng: np.random.Generator, root: np.ndarray, direction: np.ndarray,
                 length: float, radius: float, depth: int, min_radius: float = 0.8
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random vessel tree: list of (points (N, 3), radii (N,)) polylines; branches thinner
    than ``min_radius`` (mm) are not drawn."""
    if radius < min_radius:
        return []
    d = _unit(direction)
    n = 4
    pts = [root]
    for _ in range(n):
        d = _unit(d + rng.normal(0, 0.18, 3))
        pts.append(pts[-1] + d * length / n)
    pts_a = np.array(pts)
    rad = np.linspace(radius, radius * 0.55, n + 1)
    out = [(pts_a, rad)]
    if depth > 0:
        for _ in range(int(rng.integers(2, 4))):
            i = int(rng.integers(1, n))
            side = _unit(np.cross(d, rng.normal(size=3)))
            cd = _unit(_unit(pts_a[i + 1] - pts_a[i]) + side * rng.uniform(0.6, 1.3))
            out += _branch_tree(rng, pts_a[i], cd, length * rng.uniform(0.45, 0.65),
                                rad[i] * rng.uniform(0.55, 0.75), depth - 1, min_radius)
    return out


def _liver_floor(X: np.ndarray, z0: float, slope: float) -> np.ndarray:
    """Height (mm) of the liver's inferior surface above X: lowest at the right lobe tip
    (``z0``), rising towards the left lobe (``slope`` mm per mm)."""
    return (z0 + slope * 0.6 * 25.0 * np.logaddexp(0.0, (X + 110.0) / 25.0)
            + slope * 20.0 * np.logaddexp(0.0, (X + 45.0) / 20.0))


def _paint_liver(t: Torso) -> None:
    """Liver from rounded intersections (cavity, under the diaphragm, above its inferior
    surface, right of its left margin), with hepatic veins, portal branches, gallbladder."""
    rng = t.rng("liver")
    z0 = rng.uniform(-55, -20)
    slope = rng.uniform(0.45, 0.65)
    left = rng.uniform(-28, 12)
    depth = rng.uniform(-8, 10)
    env = rng.uniform(98, 118)
    caud_z = rng.uniform(-10, 10)
    dia_top = t.diaphragm.top
    b = t.box((-160, -140, z0 - 12), (min(140.0, -45.0 + 1.15 * env + 8.0), 120, dia_top + 5))
    if b.empty:
        return
    X, Y, Z = b.X, b.Y, b.Z
    c_cav = t.cavity_sd(b) + 1.0
    c_dia = Z - (t.diaphragm.height(X[:, :, 0], Y[:, :, 0])[:, :, None] - 6.0)
    c_inf = _liver_floor(X, z0, slope) - Z
    # left margin: the left lobe reaches further left anteriorly and higher up
    x_left = (12.0 + left + 0.85 * 15.0 * np.logaddexp(0.0, (-Y - 5.0) / 15.0)
              + 0.2 * (Z - 40.0))
    c_left = X - x_left
    # the left lobe is a thin anterior wedge: limit its depth (Y) medially and on the left
    y_lim = np.clip(-32.0 + 0.55 * (Z - 50.0), -48.0, 10.0) + depth
    w = 1.0 / (1.0 + np.exp(-(X + 22.0) / 8.0))
    c_post = (Y - y_lim) * w - (1.0 - w) * 60.0
    sd = smooth_max(smooth_max(c_cav, c_dia, 8.0), c_inf, 10.0)
    sd = smooth_max(sd, c_left, 16.0)
    sd = smooth_max(sd, c_post, 12.0)
    # size envelope: a big patient's larger cavity does not make a larger liver
    q_env = ellipsoid_distance(b.grid, (-45.0, -12.0, 40.0), (env * 1.15, env, env * 0.95))
    sd = smooth_max(sd, (q_env - 1.0) * np.float32(env), 20.0)
    # caudate lobe: wraps the IVC in front and on the left
    ivc = _at_z(t.paths["ivc"], 60.0)
    q_c = ellipsoid_distance(b.grid, (ivc[0] + 14.0, ivc[1] - 4.0, 55.0 + caud_z),
                             (20.0, 18.0, 32.0))
    sd = np.minimum(sd, np.maximum((q_c - 1.0) * np.float32(18.0), c_dia))
    sd = sd + np.float32(5.0) * b.field(45.0, rng) + np.float32(1.2) * b.field(10.0, rng)
    t.paint(b, sd < 0, T.LIVER, OL["liver"], FREE)
    del c_cav, c_dia, c_inf, c_left, c_post, sd
    t.notes["liver_tip_z"] = float(z0)
    # hepatic veins, from the IVC below the dome
    liver_only = class_lut([T.LIVER])
    vmin = max(0.9, 0.45 * min(t.frame.anat_spacing))  # thinner vessels vanish in the voxels
    z_hv = t.diaphragm.right[1] - rng.uniform(18, 28)
    root = _at_z(t.paths["ivc"], z_hv)
    trees = []
    for d, ln, r in (([-1.0, 0.2, -0.3], 95, 6.0), ([-0.6, -0.8, -0.35], 85, 5.0),
                     ([0.55, -0.85, -0.1], 70, 4.5)):
        trees += _branch_tree(rng, root, np.array(d), ln * rng.uniform(0.85, 1.15), r, 3,
                              vmin)
    for pts, rad in trees:
        bb = t.box(pts.min(0) - 10, pts.max(0) + 10)
        sdv, _ = polyline_tube(bb, pts, rad, margin=1)
        t.paint(bb, sdv < 0, T.HEPATIC_VEIN, None, liver_only)
    # portal branches from the hilum
    zh = float(_liver_floor(np.float64(-35.0), z0, slope)) + rng.uniform(18, 30)
    hilum = np.array([-32.0 + rng.uniform(-6, 6), _at_z(t.paths["ivc"], zh)[1] - 16, zh])
    t.paths["porta_hepatis"] = hilum[None, :]
    trees = _branch_tree(rng, hilum, np.array([-1.0, 0.15, 0.1]), 75, 6.5, 3, vmin)
    trees += _branch_tree(rng, hilum, np.array([0.7, -0.7, 0.25]), 75, 5.5, 3, vmin)
    for pts, rad in trees:
        bb = t.box(pts.min(0) - 10, pts.max(0) + 10)
        sdv, _ = polyline_tube(bb, pts, rad, margin=1)
        t.paint(bb, sdv < 0, T.PORTAL, None, liver_only)
    # gallbladder in its fossa on the inferior surface
    if rng.uniform() < 0.85:
        fill = rng.uniform(0.6, 1.15)
        xg = -44.0 + rng.uniform(-8, 8)
        zg = float(_liver_floor(np.float64(xg), z0, slope)) + rng.uniform(2, 14)
        cg = np.array([xg, -42.0 + rng.uniform(-8, 8), zg])
        R = _frame_from(_unit([-0.2, -0.6, -0.75]), np.array([1.0, 0.0, 0.0]))
        bb = t.box(cg - 60, cg + 60)
        qg = ellipsoid_distance(bb.grid, tuple(cg), (15 * fill, 14 * fill, 34 * fill), R)
        t.paint(bb, qg <= 1.0, T.GALLBLADDER, OL["gallbladder"], class_lut([
            T.LIVER, T.VISCERAL_FAT, T.PORTAL, T.HEPATIC_VEIN]))


# ----------------------------------------------------------------------------- portal, pancreas
def _paint_pancreas_and_vessels(t: Torso) -> None:
    """Coeliac trunk, SMA, portal vein, SMV and splenic vein, then the lobulated pancreas
    draped over them from the duodenal C-loop to the splenic hilum."""
    rng = t.rng("pancreas")
    sp = t.spine
    zp = sp.level_center("L1") - 18.0 + rng.uniform(-12, 12)
    t.notes["pancreas_z"] = float(zp)
    ao = _at_z(t.paths["aorta"], zp)
    r_ao = 11.0
    conf = np.array([-5.0 + rng.uniform(-4, 4), ao[1] - r_ao - 17.0, zp + 6.0])
    art = class_lut([T.VISCERAL_FAT, T.RETRO_FAT])
    # arteries from the aorta
    sma = smooth_path(np.array([_at_z(t.paths["aorta"], zp + 14) + np.array([-3, -6, 0]),
                                [ao[0] - 3, ao[1] - r_ao - 9, zp + 2],
                                [ao[0] - 5, ao[1] - r_ao - 20, zp - 40],
                                [ao[0] - 8, ao[1] - r_ao - 35, zp - 110]]), 5.0)
    _tube_organ(t, sma, 3.5, T.ARTERY, 0, art, margin=1)
    cel = _at_z(t.paths["aorta"], zp + 32)
    hilum_s = t.paths["spleen_hilum"][0]
    porta = t.paths["porta_hepatis"][0]
    cel_pts = np.array([cel + np.array([0, -8, 0]), cel + np.array([-2, -22, 0])])
    _tube_organ(t, cel_pts, 3.5, T.ARTERY, 0, art, margin=1)
    spl_a = smooth_path(np.array([cel_pts[-1], [30, cel[1] - 14, zp + 34],
                                  [60, cel[1] - 4, zp + 42], hilum_s + np.array([0, -4, 4])]), 4.0)
    spl_a[:, 2] += 4.0 * np.sin(np.linspace(0, 5 * np.pi, len(spl_a)))  # tortuous
    _tube_organ(t, spl_a, 2.6, T.ARTERY, 0, art, margin=1)
    hep_a = np.array([cel_pts[-1], [-20, cel[1] - 20, zp + 32], porta + np.array([6, -6, 4])])
    _tube_organ(t, hep_a, 2.6, T.ARTERY, 0, art, margin=1)
    # veins: SMV → confluence → portal vein; splenic vein from the hilum behind the pancreas
    pv = OL["portal_splenic_vein"]
    smv = smooth_path(np.array([[ao[0] - 22, ao[1] - r_ao - 38, zp - 110],
                                [ao[0] - 18, ao[1] - r_ao - 22, zp - 40], conf]), 5.0)
    portal = smooth_path(np.array([conf, 0.5 * (conf + porta) + [-4, 4, 0], porta]), 4.0)
    tail_end = hilum_s + np.array([-12.0, -8.0, -6.0])
    body = np.array([[-6.0, conf[1] - 13, zp + 10], [24.0, conf[1] - 12, zp + 18],
                     [54.0, conf[1] + 6, zp + 26]])
    body[:, 2] += rng.uniform(-6, 6)
    tail = np.array([0.55 * body[-1] + 0.45 * tail_end + [0, 4, 0], tail_end])
    spv = smooth_path(np.vstack([conf, body[1:] + np.array([0, 13, -2]),
                                 tail[:1] + np.array([0, 10, -2]), hilum_s]), 4.0)
    over_v = class_lut([T.VISCERAL_FAT, T.RETRO_FAT])
    for path, r in ((smv, 5.5), (portal, rng.uniform(6, 7.5)), (spv, 4.5)):
        _tube_organ(t, path, r, T.PORTAL, pv, over_v, margin=1)
        _tube_organ(t, path, r, T.PORTAL, None, class_lut([T.LIVER]), margin=1)
    t.paths["portal_vein"] = portal
    t.paths["smv"] = smv
    # pancreas: head in the C-loop, uncinate behind the SMV, neck, body, tail
    head = np.array([[-20.0, conf[1] + 14, zp - 28], [-36.0, conf[1] + 5, zp - 14],
                     [-33.0, conf[1] - 4, zp + 1]])
    ctrl = np.vstack([head, body, tail])
    path = smooth_path(ctrl, 3.0)
    rad_ctrl = np.array([10.0, 18.0, 17.0, 12.0, 13.0, 12.0, 11.0, 8.0])
    rad_ctrl *= rng.uniform(0.8, 1.15)
    s_ctrl = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(ctrl, axis=0), axis=1))])
    s_path = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    rad = np.interp(s_path / s_path[-1] * s_ctrl[-1], s_ctrl, rad_ctrl)
    b = t.box(path.min(0) - 25, path.max(0) + 25)
    sd, _ = polyline_tube(b, path, rad, margin=6, stretch=(1.0, 0.8, 1.15))
    sd = sd + np.float32(2.2) * b.field(7.0, rng) + np.float32(1.5) * b.field(20.0, rng)
    t.paths["pancreas"] = path
    mask = t.paint(b, sd < 0, T.PANCREAS, OL["pancreas"], FREE)
    clefts = b.field(3.5, rng) > rng.uniform(1.1, 2.2)
    t.paint(b, mask & clefts, T.VISCERAL_FAT, 0, class_lut([T.PANCREAS]))


# ----------------------------------------------------------------------------- GI tract
def _gi_tube(t: Torso, path: np.ndarray, rad: np.ndarray, wall: float, organ: int,
             rng: np.random.Generator, content: str, gas_depth: float | None,
             over: np.ndarray = FREE, folds: float = 0.0) -> None:
    """Paint a hollow viscus along ``path``: wall, then lumen (fluid / contrast / stool), and
    gas above one horizontal level (supine: gas rises anteriorly, to −Y).

    ``gas_depth``: depth (mm) of the gas layer below the most anterior point of this piece's
    lumen (None: no gas). ``content``: "fluid", "contrast" or "stool".
    """
    r = float(np.max(rad))
    b = t.box(path.min(0) - r - 6, path.max(0) + r + 6)
    if b.empty:
        return
    sd, _ = polyline_tube(b, path, rad, margin=2.0)
    tube = t.paint(b, sd < 0, T.GI_WALL, organ, over)
    inner = sd + np.float32(wall)
    if folds > 0 and t.fine:
        inner = inner + np.float32(folds) * np.abs(b.field(5.0, rng))
    lumen = tube & (inner < 0)
    if not lumen.any():
        return
    if content == "stool":
        t.paint(b, lumen, T.STOOL, None, class_lut([T.GI_WALL]))
        if t.fine:
            mott = b.field(4.0, rng)
            t.paint(b, lumen & (mott > 1.0), T.GI_GAS, None, class_lut([T.STOOL]))
    else:
        cls = T.GI_CONTRAST if content == "contrast" else T.GI_FLUID
        t.paint(b, lumen, cls, None, class_lut([T.GI_WALL]))
    if gas_depth is not None and gas_depth > 0:
        y_top = float(np.broadcast_to(b.Y, b.shape)[lumen].min())
        gas = lumen & (b.Y < np.float32(y_top + gas_depth))
        t.paint(b, gas, T.GI_GAS, None, class_lut([T.GI_FLUID, T.GI_CONTRAST, T.STOOL]))


def _paint_stomach(t: Torso, oral: bool) -> None:
    """Stomach from the fundus under the left dome to the pylorus; rugae, fluid, gas."""
    rng = t.rng("stomach")
    dl = t.diaphragm.left[1]
    zp = t.notes["pancreas_z"]
    d = rng.uniform(0.7, 1.15)
    ctrl = np.array([[48.0, 26.0, dl - 26], [68.0, -2.0, dl - 48], [58.0, -42.0, dl - 72],
                     [34.0, -62.0, zp + 28], [6.0, -64.0, zp + 15], [-22.0, -50.0, zp + 12]])
    ctrl[:, :2] += rng.uniform(-6, 6, (len(ctrl), 2))
    # the fundus fills the top of the left dome
    ctrl[0, 2] = float(t.diaphragm.height(np.float32(ctrl[0, 0]), np.float32(ctrl[0, 1]))) - (
        6.0 + 30.0 * d)
    path = smooth_path(ctrl, 4.0)
    rad_c = np.array([36.0, 38.0, 34.0, 28.0, 20.0, 11.0]) * np.array([d, d, d, d, d, 1.0])
    rad = np.interp(np.linspace(0, 1, len(path)), np.linspace(0, 1, len(ctrl)), rad_c)
    gas = rng.uniform(5, 45) * d if rng.uniform() < 0.85 else None
    t.paths["stomach"] = path
    _gi_tube(t, path, rad, rng.uniform(3.5, 5.5), OL["stomach"], rng,
             "contrast" if oral and rng.uniform() < 0.5 else "fluid", gas, folds=3.0)


def _paint_duodenum(t: Torso, oral: bool) -> None:
    """Duodenal C-loop around the pancreatic head, D3 between the SMA and the aorta."""
    rng = t.rng("duodenum")
    zp = t.notes["pancreas_z"]
    ao = _at_z(t.paths["aorta"], zp - 55)
    pyl = t.paths["stomach"][-1]
    ctrl = np.array([pyl, [-40.0, -34.0, zp + 14], [-58.0, -12.0, zp + 4],
                     [-64.0, ao[1] - 16, zp - 20], [-56.0, ao[1] - 14, zp - 48],
                     [-24.0, ao[1] - 24, zp - 58], [10.0, ao[1] - 26, zp - 58],
                     [30.0, ao[1] - 24, zp - 44], [40.0, ao[1] - 34, zp - 22]])
    path = smooth_path(ctrl, 4.0)
    rad = np.full(len(path), rng.uniform(9, 13))
    t.paths["duodenum"] = path
    half = len(path) // 2
    for piece in (slice(0, half + 1), slice(half, len(path))):
        gas = rng.uniform(2, 10) if rng.uniform() < 0.4 else None
        _gi_tube(t, path[piece], rad[piece], 2.2, OL["bowel"], rng,
                 "contrast" if oral else "fluid", gas, folds=1.5)


def _paint_colon(t: Torso, oral: bool) -> None:
    """Colon from the caecum round the abdomen to the rectum, with haustra, stool and gas."""
    rng = t.rng("colon")
    zl = t.notes.get("liver_tip_z", -40.0)
    ctrl = np.array([
        [-84, -2, -150], [-100, 18, -105], [-106, 24, -45], [-96, 4, min(zl - 18, 5)],
        [-62, -60, -12], [-20, -72, -38], [25, -70, -28], [66, -50, 8], [94, 2, 46],
        [108, 34, 8], [110, 38, -50], [104, 30, -115], [80, -8, -165], [40, -28, -186],
        [6, -4, -200], [8, 40, -216], [2, 62, -236], [0, 68, -272], [0, 56, -330]], float)
    ctrl[:, :2] += rng.uniform(-7, 7, (len(ctrl), 2))
    ctrl[4:8, 2] += rng.uniform(-30, 10)  # transverse colon sags more or less
    path = smooth_path(ctrl, t.path_step)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    base = rng.uniform(17, 24)
    hpitch = rng.uniform(22, 30)
    rad = base * (1.0 + 0.16 * np.cos(2 * np.pi * s / hpitch))
    rad *= np.interp(s / s[-1], [0, 0.15, 0.5, 0.8, 1.0], [1.25, 1.05, 0.95, 0.85, 1.0])
    t.paths["colon"] = path
    # stool in most of the colon; the caecum/ascending may hold fluid or oral contrast
    cut = int(len(path) * rng.uniform(0.15, 0.35))
    first = "contrast" if oral and rng.uniform() < 0.6 else "fluid"
    step = int(72 / t.path_step)  # pieces of ~ 7 cm, each with its own gas pocket (or none)
    for a in range(0, len(path) - 1, step):
        piece = slice(a, min(len(path), a + step + 1))
        gas = rng.uniform(0.2, 1.2) * base if rng.uniform() < 0.55 else None
        content = first if a < cut else "stool"
        _gi_tube(t, path[piece], rad[piece], 2.0, OL["bowel"], rng, content, gas)


def _bowel_walk(rng: np.random.Generator, start: np.ndarray, n_steps: int, step: float,
                centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """A tortuous, loosely self-avoiding random walk filling a union of ellipsoids
    (``centres`` and ``radii``, (E, 3) mm)."""
    cell = 16.0
    lo = (centres - radii).min(0) - cell
    dims = np.ceil(((centres + radii).max(0) + cell - lo) / cell).astype(int) + 1
    occ = np.zeros(dims, np.float32)
    pos = np.asarray(start, dtype=np.float64)
    d = _unit(rng.normal(size=3))
    pts = [pos.copy()]
    cand_dirs = rng.normal(size=(n_steps, 12, 3))
    for n in range(n_steps):
        cands = d[None, :] + 0.55 * cand_dirs[n]
        cands /= np.linalg.norm(cands, axis=1, keepdims=True)
        p = pos[None, :] + step * cands
        q = np.sqrt((((p[:, None, :] - centres) / radii) ** 2).sum(2)).min(1)
        idx = np.clip(((p - lo) / cell).astype(int), 0, dims - 1)
        score = occ[idx[:, 0], idx[:, 1], idx[:, 2]] + 12.0 * np.maximum(q - 1.0, 0) + 0.8 * (
            1.0 - cands @ d)
        k = int(np.argmin(score))
        d = cands[k]
        pos = p[k]
        i = idx[k]
        occ[max(i[0] - 1, 0): i[0] + 2, max(i[1] - 1, 0): i[1] + 2,
            max(i[2] - 1, 0): i[2] + 2] += 0.25
        occ[i[0], i[1], i[2]] += 1.0
        pts.append(pos.copy())
    return np.array(pts)


def _paint_small_bowel(t: Torso, oral: bool) -> None:
    """Jejunum and ileum: a long random loop filling the free mid and lower abdomen."""
    rng = t.rng("small-bowel")
    start = t.paths["duodenum"][-1]
    # mid and lower abdomen, and the jejunal loops of the left upper quadrant
    centres = np.array([[0.0, -30.0, -95.0 + rng.uniform(-15, 15)], [50.0, -40.0, 5.0]])
    radii = np.array([[100.0, 66.0, 112.0], [55.0, 45.0, 55.0]])
    walk = _bowel_walk(rng, start, int(rng.integers(950, 1100)), 6.0, centres, radii)
    path = smooth_path(walk[::2], t.path_step)
    n = len(path)
    u = np.linspace(0, 1, n)
    # distension varies slowly along the bowel; some segments are collapsed
    knots = rng.uniform(0, 1, 40)
    dist = np.interp(u, np.linspace(0, 1, 40), knots)
    rad = 7.0 + 9.0 * dist
    content = "contrast" if oral else "fluid"
    t.paths["small_bowel"] = path
    step = int(160 / t.path_step)
    for a in range(0, n - 1, step):  # in pieces: keeps each box small, gas per piece
        piece = slice(a, min(n, a + step + 1))
        gas = rng.uniform(1.0, 6.0) if rng.uniform() < 0.3 else None
        _gi_tube(t, path[piece], rad[piece], 2.0, OL["bowel"], rng, content, gas, folds=1.2)


def _paint_pelvic_organs(t: Torso) -> None:
    """Bladder (wall and urine, variable filling) and prostate / uterus behind it."""
    rng = t.rng("bladder")
    fill = rng.uniform(0.55, 1.35)
    fz = -252.0
    c = np.array([rng.uniform(-5, 5), -34.0 + rng.uniform(-6, 6), fz - 6 + 14 * fill])
    r = np.array([44.0, 34.0, 30.0]) * fill
    t.notes["bladder_fill"] = float(fill)
    b = t.box(c - r - 10, c + r + 10)
    if not b.empty:
        q = ellipsoid_distance(b.grid, tuple(c), tuple(r))
        sd = (q - 1.0) * np.float32(r.min()) + np.float32(1.0) * b.field(20.0, rng)
        over = class_lut([T.VISCERAL_FAT, T.MUSCLE])
        m = t.paint(b, sd < 0, T.BLADDER_WALL, OL["bladder"], over)
        t.paint(b, m & (sd < -rng.uniform(2.5, 4.0)), T.URINE, OL["bladder"],
                class_lut([T.BLADDER_WALL]))
    cp = np.array([0.0, c[1] + 30.0, fz - 28.0])
    b = t.box(cp - 30, cp + 30)
    if not b.empty:
        q = ellipsoid_distance(b.grid, tuple(cp), (20.0, 16.0, 17.0))
        t.paint(b, q <= 1.0, T.PELVIC_ORGAN, 0, class_lut([T.VISCERAL_FAT, T.MUSCLE]))


def _paint_fat_details(t: Torso) -> None:
    """Small mesenteric vessels and a few normal lymph nodes in the intra-abdominal fat."""
    rng = t.rng("fat-details")
    fine = min(t.frame.anat_spacing[:2]) <= 1.6
    b = t.box((-120, -110, -200), (120, 60, 40))
    if b.empty:
        return
    if fine:
        f1, f2 = b.field(22.0, rng), b.field(22.0, rng)
        g = f1 * f1 + f2 * f2
        t.paint(b, g < 0.02, T.SMALL_VESSEL, 0, FREE)
    nodes = []
    for name in ("aorta", "ivc", "iliac_artery_left", "iliac_artery_right", "smv"):
        path = t.paths.get(name)
        if path is None:
            continue
        for _ in range(int(rng.integers(1, 4))):
            p = path[int(rng.integers(0, len(path)))]
            off = _unit(rng.normal(size=3) * [1, 1, 0.2]) * rng.uniform(14, 22)
            nodes.append((p + off, rng.uniform(2.5, 5.0)))
    for p, r in nodes:
        bb = t.box(p - 10, p + 10)
        if bb.empty:
            continue
        q = ellipsoid_distance(bb.grid, tuple(p), (r, r * 0.8, r * 1.4))
        t.paint(bb, q <= 1.0, T.LYMPH_NODE, OL["lymph_node"], FAT)


def paint_viscera(t: Torso) -> None:
    """Paint all viscera into ``t`` (in place), in anatomical priority order."""
    oral = bool(t.rng("oral-contrast").uniform() < 0.3)
    t.notes["oral_contrast"] = oral
    _paint_spleen(t)
    _paint_kidneys(t)
    _paint_liver(t)
    _paint_pancreas_and_vessels(t)
    _paint_pelvic_organs(t)
    _paint_stomach(t, oral)
    _paint_duodenum(t, oral)
    _paint_colon(t, oral)
    _paint_small_bowel(t, oral)
    _paint_fat_details(t)

"""Geometry helpers for the torso phantoms: an anatomical frame, sub-boxes, tubes along
polylines, rounded intersections, and painting tissue classes with priorities.

Anatomy is described in *anatomical millimetres* ``(X, Y, Z)``: X towards the patient's left,
Y posterior (both LPS, 0 on the body axis), Z superior with 0 at the L1/L2 disc. A
:class:`Frame` maps a volume's voxels ``[i, j, k]`` to these coordinates, so organs keep their
size in mm whatever the voxel spacing, and a field of view too small for the body shrinks the
whole patient uniformly (``Frame.scale``). All computation happens in :class:`Box` sub-volumes
(bounding boxes of one structure), so a 512×512×96 volume stays cheap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = [
    "Box",
    "Frame",
    "class_lut",
    "fast_smooth_field",
    "paint",
    "polyline_tube",
    "smooth_max",
    "smooth_min",
    "smooth_path",
    "sub_rng",
]

Vec3 = tuple[float, float, float]


def sub_rng(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible generator for one part of a phantom (``name``).

    Drawing a structure's parameters from its own stream keeps the rest of the patient
    unchanged when one structure's code changes, and makes the same seed give the same
    patient at every voxel size.
    """
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


def _linear_upsample_axis(a: np.ndarray, axis: int, n: int, step_vox: float) -> np.ndarray:
    """Linear interpolation of ``a`` along ``axis`` onto ``n`` samples, one every
    ``1 / step_vox`` coarse samples (fine sample i sits at coarse position i / step_vox + 1)."""
    pos = np.arange(n, dtype=np.float64) / step_vox + 1.0
    i0 = np.floor(pos).astype(np.int64)
    f = (pos - i0).astype(np.float32)
    m = a.shape[axis]
    shape = [1] * a.ndim
    shape[axis] = n
    out = np.take(a, np.clip(i0, 0, m - 1), axis=axis)
    out *= (1.0 - f).reshape(shape)
    term = np.take(a, np.clip(i0 + 1, 0, m - 1), axis=axis)
    term *= f.reshape(shape)
    out += term
    return out


def fast_smooth_field(
    shape: tuple[int, int, int], spacing: Vec3, scale_mm: float, rng: np.random.Generator
) -> np.ndarray:
    """A smooth Gaussian random field, zero mean and about unit standard deviation (float32).

    Like :func:`~tumorseg.phantoms.primitives.smooth_field` (``scale_mm`` is the correlation
    length) but upsampled separably (linear weights) from a Gaussian-smoothed coarse grid,
    several times faster on large volumes. Mean and deviation are normalised on the coarse
    grid.
    """
    if min(shape) == 0:
        return np.zeros(shape, np.float32)
    step = max(scale_mm / 2.0, 1e-3)
    per_vox = [s / max(step, s) for s in spacing]  # coarse samples per fine voxel (≤ 1)
    coarse = tuple(int(np.ceil(n * p)) + 4 for n, p in zip(shape, per_vox, strict=True))
    field = ndimage.gaussian_filter(rng.standard_normal(size=coarse, dtype=np.float32), 1.0,
                                    mode="wrap")
    field = (field - field.mean()) / np.float32(field.std() or 1.0)
    out = field
    for axis in (2, 1, 0):  # the last pass copies contiguous blocks: fastest
        out = _linear_upsample_axis(out, axis, shape[axis], 1.0 / per_vox[axis])
    return out.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Box:
    """A rectangular block of a volume with its anatomical coordinates (mm).

    Attributes:
        sl: the block as index slices into the full volume ``[i, j, k]``.
        X, Y, Z: open (broadcastable) float32 coordinate arrays of the block's voxel centres,
            shapes (ni,1,1), (1,nj,1), (1,1,nk), anatomical mm.
        spacing: voxel size in anatomical mm.
    """

    sl: tuple[slice, slice, slice]
    X: np.ndarray
    Y: np.ndarray
    Z: np.ndarray
    spacing: Vec3

    @property
    def shape(self) -> tuple[int, int, int]:
        """Block size in voxels."""
        return (self.X.shape[0], self.Y.shape[1], self.Z.shape[2])

    @property
    def empty(self) -> bool:
        """True when the block holds no voxel (the structure is outside the field of view)."""
        return min(self.shape) == 0

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)`` as a tuple, the form :mod:`~tumorseg.phantoms.primitives` takes."""
        return (self.X, self.Y, self.Z)

    def sub(self, lo: Sequence[float], hi: Sequence[float]) -> Box:
        """The part of this block inside the anatomical mm box ``[lo, hi]`` (clipped)."""
        axes = (self.X.ravel(), self.Y.ravel(), self.Z.ravel())
        sl, coords = [], []
        for a in range(3):
            c = axes[a]
            i0 = int(np.searchsorted(c, lo[a], side="left"))
            i1 = int(np.searchsorted(c, hi[a], side="right"))
            i1 = max(i0, i1)
            base = self.sl[a].start or 0
            sl.append(slice(base + i0, base + i1))
            view = [1, 1, 1]
            view[a] = i1 - i0
            coords.append(c[i0:i1].reshape(view))
        return Box((sl[0], sl[1], sl[2]), coords[0], coords[1], coords[2], self.spacing)

    def local(self, other: Box) -> tuple[slice, slice, slice]:
        """Slices that select ``other`` (a sub-block of this one) inside this block's arrays."""
        return tuple(
            slice(o.start - (s.start or 0), o.stop - (s.start or 0))
            for s, o in zip(self.sl, other.sl, strict=True)
        )  # type: ignore[return-value]

    def field(self, scale_mm: float, rng: np.random.Generator) -> np.ndarray:
        """A smooth zero-mean, unit-std random field on this block (correlation ``scale_mm``)."""
        return fast_smooth_field(self.shape, self.spacing, scale_mm, rng)


@dataclass(frozen=True)
class Frame:
    """Maps a volume's voxel grid to anatomical mm.

    Attributes:
        shape: volume size (ni, nj, nk) in voxels.
        spacing: voxel size in mm (world).
        scale: world mm per anatomical mm (1 for an adult in a normal field of view; < 1
            shrinks the patient to fit a small one).
        z_center: anatomical Z (mm, 0 = L1/L2 disc) at the volume centre.
    """

    shape: tuple[int, int, int]
    spacing: Vec3
    scale: float
    z_center: float

    @property
    def anat_spacing(self) -> Vec3:
        """Voxel size in anatomical mm."""
        s = self.scale
        return (self.spacing[0] / s, self.spacing[1] / s, self.spacing[2] / s)

    def axis(self, a: int) -> np.ndarray:
        """Anatomical coordinates (mm, float32) of the voxel centres along array axis ``a``."""
        n = self.shape[a]
        c = (np.arange(n, dtype=np.float64) - (n - 1) / 2.0) * self.spacing[a] / self.scale
        if a == 2:
            c = c + self.z_center
        return c.astype(np.float32)

    def full(self) -> Box:
        """The whole volume as a :class:`Box`."""
        axes = [self.axis(a) for a in range(3)]
        return Box(
            (slice(0, self.shape[0]), slice(0, self.shape[1]), slice(0, self.shape[2])),
            axes[0].reshape(-1, 1, 1), axes[1].reshape(1, -1, 1), axes[2].reshape(1, 1, -1),
            self.anat_spacing,
        )

    def box(self, lo: Sequence[float], hi: Sequence[float]) -> Box:
        """The voxels inside the anatomical mm box ``[lo, hi]`` (clipped to the volume)."""
        return self.full().sub(lo, hi)

    def to_world_offset(self, p: Sequence[float]) -> np.ndarray:
        """Anatomical mm → mm relative to the volume centre (LPS axes)."""
        return np.array([p[0], p[1], p[2] - self.z_center]) * self.scale


def smooth_max(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Rounded ``max(a, b)`` (an intersection of two signed distances), rounding ``k`` mm."""
    d = a - b
    return 0.5 * (a + b + np.sqrt(d * d + np.float32(k * k)))


def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Rounded ``min(a, b)`` (a union of two signed distances), rounding ``k`` mm."""
    d = a - b
    return 0.5 * (a + b - np.sqrt(d * d + np.float32(k * k)))


def polyline_tube(
    box: Box,
    points: np.ndarray,
    radii: Sequence[float] | np.ndarray,
    margin: float = 6.0,
    stretch: Vec3 = (1.0, 1.0, 1.0),
) -> tuple[np.ndarray, None]:
    """Signed distance (mm) to a tube of varying radius along a polyline, inside ``box``.

    ``points`` is (N, 3) anatomical mm, ``radii`` (N,) mm (linear between points). Negative
    inside; values are exact within ``margin`` mm of the surface and ``+inf``-like (1e4) far
    away. ``stretch`` divides the coordinates per axis before measuring, which makes the
    cross-section elliptical (e.g. ``(1, 1, 0.5)`` doubles a horizontal tube's height).
    Each segment is evaluated only in its own bounding box. Returns ``(sd, None)``.
    """
    pts = np.asarray(points, dtype=np.float64)
    rad = np.broadcast_to(np.asarray(radii, dtype=np.float64), (len(pts),))
    sd = np.full(box.shape, 1e4, dtype=np.float32)
    if box.empty or len(pts) < 2:
        return sd, None
    st = np.asarray(stretch, dtype=np.float64)
    a_all, b_all = pts[:-1], pts[1:]
    reach = (np.maximum(rad[:-1], rad[1:]) + margin)[:, None] * st[None, :]
    lo_all = np.minimum(a_all, b_all) - reach
    hi_all = np.maximum(a_all, b_all) + reach
    axes = (box.X.ravel(), box.Y.ravel(), box.Z.ravel())
    i0 = np.stack([np.searchsorted(axes[k], lo_all[:, k], side="left") for k in range(3)], 1)
    i1 = np.stack([np.searchsorted(axes[k], hi_all[:, k], side="right") for k in range(3)], 1)
    scaled = [(axes[k] / np.float32(st[k])).astype(np.float32) for k in range(3)]
    for n in np.flatnonzero(np.all(i1 > i0, axis=1)):
        (x0, y0, z0), (x1, y1, z1) = i0[n], i1[n]
        a, b = a_all[n], b_all[n]
        ra, rb = rad[n], rad[n + 1]
        a_s, ab = a / st, (b - a) / st
        dx = (scaled[0][x0:x1] - np.float32(a_s[0]))[:, None, None]
        dy = (scaled[1][y0:y1] - np.float32(a_s[1]))[None, :, None]
        dz = (scaled[2][z0:z1] - np.float32(a_s[2]))[None, None, :]
        len2 = float(ab @ ab)
        if len2 < 1e-9:
            t = np.zeros((x1 - x0, y1 - y0, z1 - z0), np.float32)
        else:
            t = (dx * np.float32(ab[0] / len2) + dy * np.float32(ab[1] / len2)
                 + dz * np.float32(ab[2] / len2))
            np.clip(t, 0.0, 1.0, out=t)
        ex = dx - t * np.float32(ab[0])
        ey = dy - t * np.float32(ab[1])
        ez = dz - t * np.float32(ab[2])
        d = np.sqrt(ex * ex + ey * ey + ez * ez) - (np.float32(ra) + t * np.float32(rb - ra))
        view = sd[x0:x1, y0:y1, z0:z1]
        np.minimum(view, d, out=view)
    return sd, None


def class_lut(classes: Iterable[int]) -> np.ndarray:
    """A boolean lookup table over uint8 class ids, True for ``classes``."""
    lut = np.zeros(256, dtype=bool)
    lut[list(classes)] = True
    return lut


def paint(
    tissue: np.ndarray,
    organs: np.ndarray,
    box: Box,
    mask: np.ndarray,
    cls: int,
    organ: int | None = 0,
    over: np.ndarray | None = None,
) -> np.ndarray:
    """Set ``tissue`` to ``cls`` (and ``organs`` to ``organ``) where ``mask`` is True in ``box``.

    ``over`` (a :func:`class_lut`) limits painting to voxels whose current tissue class is
    allowed, which is how organs take the space left to them instead of overlapping.
    ``organ=None`` leaves the organ map unchanged. Mutates both arrays in place and returns
    the mask actually painted (box-shaped).
    """
    if box.empty:
        return np.zeros(box.shape, bool)
    mask = np.broadcast_to(mask, box.shape)
    t = tissue[box.sl]
    if over is not None:
        mask = mask & over[t]
    t[mask] = cls
    if organ is not None:
        organs[box.sl][mask] = organ
    return np.asarray(mask)


def smooth_path(ctrl: np.ndarray, step_mm: float) -> np.ndarray:
    """A smooth curve through control points ``ctrl`` (N, 3), resampled every ``step_mm``.

    A cubic spline over the chord length; returns (M, 3) points in the same units (mm).
    """
    from scipy.interpolate import CubicSpline

    ctrl = np.asarray(ctrl, dtype=np.float64)
    seg = np.linalg.norm(np.diff(ctrl, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(np.maximum(seg, 1e-6))])
    n = max(2, int(np.ceil(s[-1] / step_mm)) + 1)
    return CubicSpline(s, ctrl, axis=0, bc_type="natural")(np.linspace(0.0, s[-1], n))

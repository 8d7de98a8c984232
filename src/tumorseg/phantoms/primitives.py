"""Building blocks for synthetic scans: coordinate grids, smooth random fields, organ and
lesion shapes, partial-volume blur and scanner-like noise.

All shapes are computed on a grid in millimetres (arrays indexed [i, j, k], see
:mod:`tumorseg.io`), so anatomy keeps its physical size whatever the voxel spacing.
Every random function takes a :class:`numpy.random.Generator`; nothing reads global state.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "ellipsoid",
    "ellipsoid_distance",
    "irregular_blob",
    "mm_grid",
    "partial_volume",
    "random_rotation",
    "smooth_field",
    "textured_noise",
]

Vec3 = tuple[float, float, float]


def mm_grid(shape: tuple[int, int, int], spacing: Vec3) -> tuple[np.ndarray, ...]:
    """Open (broadcastable) coordinate arrays in mm, centred on the volume centre.

    Returns ``(x, y, z)`` with shapes (ni,1,1), (1,nj,1), (1,1,nk) — float32.
    """
    axes = []
    for a, (n, s) in enumerate(zip(shape, spacing, strict=True)):
        c = (np.arange(n, dtype=np.float32) - (n - 1) / 2.0) * np.float32(s)
        view = [1, 1, 1]
        view[a] = n
        axes.append(c.reshape(view))
    return tuple(axes)


def random_rotation(rng: np.random.Generator, max_angle_deg: float = 180.0) -> np.ndarray:
    """A random 3×3 rotation: axis uniform on the sphere, angle uniform in ±max_angle_deg."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def ellipsoid_distance(
    grid: tuple[np.ndarray, ...],
    center: Vec3,
    radii: Vec3,
    rotation: np.ndarray | None = None,
) -> np.ndarray:
    """Normalised ellipsoid radius: < 1 inside, 1 on the surface (all in mm).

    ``grid`` comes from :func:`mm_grid`; ``rotation`` rotates the ellipsoid's axes.
    """
    x, y, z = (g - np.float32(c) for g, c in zip(grid, center, strict=True))
    if rotation is not None:
        r = np.asarray(rotation, dtype=np.float32)
        u = r[0, 0] * x + r[1, 0] * y + r[2, 0] * z
        v = r[0, 1] * x + r[1, 1] * y + r[2, 1] * z
        w = r[0, 2] * x + r[1, 2] * y + r[2, 2] * z
    else:
        u, v, w = x, y, z
    return np.sqrt((u / radii[0]) ** 2 + (v / radii[1]) ** 2 + (w / radii[2]) ** 2)


def ellipsoid(
    grid: tuple[np.ndarray, ...],
    center: Vec3,
    radii: Vec3,
    rotation: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean ellipsoid mask (see :func:`ellipsoid_distance`)."""
    return ellipsoid_distance(grid, center, radii, rotation) <= 1.0


def smooth_field(
    shape: tuple[int, int, int],
    spacing: Vec3,
    scale_mm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A smooth Gaussian random field with zero mean and unit standard deviation.

    ``scale_mm`` is the correlation length. Computed on a coarse grid and zoomed up, so it
    is cheap even for 512×512×300 volumes. float32.
    """
    step = max(scale_mm / 2.0, 1e-3)
    coarse = tuple(
        max(2, int(np.ceil(n * s / step)) + 1) for n, s in zip(shape, spacing, strict=True)
    )
    field = ndimage.gaussian_filter(rng.normal(size=coarse).astype(np.float32), 1.0, mode="wrap")
    zoom = [n / c for n, c in zip(shape, coarse, strict=True)]
    out = ndimage.zoom(field, zoom, order=1, mode="nearest", grid_mode=True)
    out = out[: shape[0], : shape[1], : shape[2]]
    if out.shape != tuple(shape):
        out = np.pad(out, [(0, n - m) for n, m in zip(shape, out.shape, strict=True)], mode="edge")
    std = float(out.std()) or 1.0
    return ((out - out.mean()) / std).astype(np.float32)


def irregular_blob(
    grid: tuple[np.ndarray, ...],
    spacing: Vec3,
    center: Vec3,
    diameter_mm: float,
    rng: np.random.Generator,
    irregularity: float = 0.25,
    elongation: float = 0.3,
) -> np.ndarray:
    """Boolean lesion-like shape: a rotated ellipsoid whose surface is bumped by smooth noise.

    ``diameter_mm`` is the mean diameter; ``irregularity`` (0–0.5) scales the surface bumps
    relative to the radius, ``elongation`` (0–0.6) how far the axes may differ.
    The computation is limited to the blob's bounding box, so large volumes stay cheap.
    """
    shape = tuple(g.size for g in (grid[0].ravel(), grid[1].ravel(), grid[2].ravel()))
    radius = diameter_mm / 2.0
    radii = tuple(radius * float(rng.uniform(1 - elongation, 1 + elongation)) for _ in range(3))
    reach = max(radii) * (1 + 2 * irregularity) + 2 * max(spacing)
    lo, hi = [], []
    for a in range(3):
        coord = grid[a].ravel()
        lo.append(int(np.searchsorted(coord, center[a] - reach)))
        hi.append(int(np.searchsorted(coord, center[a] + reach, side="right")))
    mask = np.zeros(shape, dtype=bool)
    if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
        return mask
    sub_grid = tuple(
        g[tuple(slice(lo[a], hi[a]) if a == b else slice(None) for b in range(3))]
        for a, g in enumerate(grid)
    )
    sub_shape = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
    dist = ellipsoid_distance(sub_grid, center, radii, random_rotation(rng))
    bumps = smooth_field(sub_shape, spacing, max(radius * 0.6, 1.5 * max(spacing)), rng)
    mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = dist <= 1.0 + irregularity * bumps
    return mask


def partial_volume(image: np.ndarray, spacing: Vec3, fwhm_mm: Vec3) -> np.ndarray:
    """Blur ``image`` with a Gaussian of the given FWHM per axis (mm): the scanner's
    point-spread function and slice profile, which mix tissues at their borders."""
    sigma = [f / 2.3548 / s for f, s in zip(fwhm_mm, spacing, strict=True)]
    return ndimage.gaussian_filter(image.astype(np.float32), sigma, mode="nearest")


def textured_noise(
    shape: tuple[int, int, int],
    spacing: Vec3,
    std: float,
    correlation_mm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Spatially correlated Gaussian noise (CT-like grain) with standard deviation ``std``.

    White noise is blurred in-plane by ``correlation_mm`` (the reconstruction kernel) and
    rescaled to ``std``. float32.
    """
    white = rng.standard_normal(size=shape, dtype=np.float32)
    sigma = [correlation_mm / s if a < 2 else 0.3 for a, s in enumerate(spacing)]
    noise = ndimage.gaussian_filter(white, sigma, mode="wrap")
    noise *= np.float32(std / (float(noise.std()) or 1.0))
    return noise

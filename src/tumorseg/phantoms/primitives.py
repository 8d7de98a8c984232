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
    "grid_shape_for_fov",
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


# ----------------------------------------------------------------------------------------------
# Additions (lung 4D CT and brain MRI phantoms): tubes, branching trees, MR noise and bias.
# ----------------------------------------------------------------------------------------------


def _grid_origin(grid: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[int, int, int]]:
    """First coordinate (mm) of each axis of an :func:`mm_grid` and the grid's shape."""
    axes = [np.asarray(g).ravel() for g in grid]
    origin = np.array([float(a[0]) for a in axes])
    shape = (axes[0].size, axes[1].size, axes[2].size)
    return origin, shape


def tubes_occupancy(
    grid: tuple[np.ndarray, ...],
    spacing: Vec3,
    starts: np.ndarray,
    ends: np.ndarray,
    radii_start: np.ndarray,
    radii_end: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Fraction of each voxel (0–1) covered by a set of tapered tubes (cylinder segments).

    Each tube runs from ``starts[m]`` to ``ends[m]`` (mm, (m, 3), in the frame of ``grid``
    from :func:`mm_grid`) with radius ``radii_start[m]`` → ``radii_end[m]`` (mm) and rounded
    ends, so a polyline of segments is a smooth tube. Thick tubes (radius ≥ ~0.7 voxel) are
    drawn with a one-voxel soft edge; thinner ones are splatted by cross-section area, so a
    0.3 mm vessel on a 1.5 mm grid still shows up faintly with the right partial volume
    instead of vanishing or turning into a full-voxel line. Overlaps take the maximum.
    ``out`` (float32, the grid's shape) is updated in place and returned when given.
    """
    origin, shape = _grid_origin(grid)
    sp = np.asarray(spacing, dtype=float)
    if out is None:
        out = np.zeros(shape, dtype=np.float32)
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    ends = np.atleast_2d(np.asarray(ends, dtype=float))
    r0 = np.broadcast_to(np.asarray(radii_start, dtype=float), (len(starts),))
    r1 = r0 if radii_end is None else np.broadcast_to(
        np.asarray(radii_end, dtype=float), (len(starts),))
    if len(starts) == 0:
        return out
    h = float(np.prod(sp) ** (1.0 / 3.0))
    thick = np.maximum(r0, r1) >= 0.7 * h
    for m in np.flatnonzero(thick):
        _paint_segment(out, origin, sp, h, starts[m], ends[m], r0[m], r1[m])
    thin = np.flatnonzero(~thick)
    if thin.size:
        out_thin = _splat_segments(shape, origin, sp, starts[thin], ends[thin], r0[thin], r1[thin])
        np.maximum(out, out_thin, out=out)
    return out


def _paint_segment(out: np.ndarray, origin: np.ndarray, sp: np.ndarray, h: float,
                   a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> None:
    reach = max(ra, rb) + h
    lo = np.floor((np.minimum(a, b) - reach - origin) / sp).astype(int)
    hi = np.ceil((np.maximum(a, b) + reach - origin) / sp).astype(int) + 1
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, out.shape)
    if np.any(hi <= lo):
        return
    axes = [(np.arange(lo[d], hi[d], dtype=np.float32) * sp[d] + origin[d]) for d in range(3)]
    x = axes[0][:, None, None] - np.float32(a[0])
    y = axes[1][None, :, None] - np.float32(a[1])
    z = axes[2][None, None, :] - np.float32(a[2])
    ab = (b - a).astype(np.float32)
    ll = float(ab @ ab)
    if ll > 1e-12:
        t = np.clip((x * ab[0] + y * ab[1] + z * ab[2]) / ll, 0.0, 1.0)
    else:
        t = np.zeros((1, 1, 1), dtype=np.float32)
    d = np.sqrt((x - t * ab[0]) ** 2 + (y - t * ab[1]) ** 2 + (z - t * ab[2]) ** 2)
    r = np.float32(ra) + t * np.float32(rb - ra)
    occ = np.clip((r - d) / np.float32(h) + 0.5, 0.0, 1.0)
    view = out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    np.maximum(view, occ, out=view)


def _splat_segments(shape: tuple[int, int, int], origin: np.ndarray, sp: np.ndarray,
                    a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Thin tubes as cross-section area deposited along their axis, trilinearly, then a
    half-voxel blur: occupancy = area·length / voxel volume, clipped to 1."""
    step = 0.5 * float(sp.min())
    length = np.linalg.norm(b - a, axis=1)
    n = np.maximum(1, np.ceil(length / step).astype(int))
    seg = np.repeat(np.arange(len(a)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    t = (np.arange(seg.size) - first + 0.5) / n[seg]
    pts = a[seg] + t[:, None] * (b[seg] - a[seg])
    r = ra[seg] + t * (rb[seg] - ra[seg])
    mass = np.pi * r**2 * (length[seg] / n[seg]) / float(np.prod(sp))
    idx = (pts - origin) / sp
    base = np.floor(idx).astype(int)
    frac = idx - base
    flat = np.zeros(int(np.prod(shape)), dtype=np.float64)
    for corner in range(8):
        off = np.array([(corner >> 2) & 1, (corner >> 1) & 1, corner & 1])
        w = np.prod(np.where(off, frac, 1.0 - frac), axis=1) * mass
        ijk = base + off
        ok = np.all((ijk >= 0) & (ijk < np.asarray(shape)), axis=1)
        lin = np.ravel_multi_index(tuple(ijk[ok].T), shape)
        flat += np.bincount(lin, weights=w[ok], minlength=flat.size)
    vol = flat.reshape(shape).astype(np.float32)
    vol = ndimage.gaussian_filter(vol, 0.45, mode="constant")
    return np.minimum(vol, 1.0)


def branching_tree(
    root: Vec3,
    direction: Vec3,
    attractors: np.ndarray,
    rng: np.random.Generator,
    step_mm: float = 4.0,
    influence_mm: float = 40.0,
    kill_mm: float = 8.0,
    max_nodes: int = 20000,
    jitter: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """Grow a space-filling branching tree (vessels, airways) by *space colonisation*.

    Starting at ``root`` (mm) heading along ``direction``, every node that is the nearest node
    of some attraction points (``attractors``, (n, 3) mm, e.g. random points inside an organ)
    within ``influence_mm`` grows a ``step_mm`` child towards their mean direction; points
    closer than ``kill_mm`` to a node are consumed. Branches form where attractors pull apart,
    so the tree fills the organ like a real vascular tree.

    Returns ``(nodes, parents)``: node positions (n, 3) mm and parent indices (n,), −1 for the
    root; parents always precede their children. Use :func:`tree_radii` for vessel radii.
    """
    from scipy.spatial import cKDTree

    att = np.asarray(attractors, dtype=float).reshape(-1, 3)
    heading = np.asarray(direction, dtype=float)
    heading = heading / (np.linalg.norm(heading) or 1.0)
    pos = np.zeros((max_nodes, 3))
    par = np.full(max_nodes, -1, dtype=int)
    pos[0] = root
    n = 1
    # trunk: walk straight until some attractor is within reach
    for _ in range(200):
        if (len(att) == 0 or n >= max_nodes
                or np.min(np.linalg.norm(att - pos[n - 1], axis=1)) < influence_mm):
            break
        pos[n] = pos[n - 1] + step_mm * heading
        par[n] = n - 1
        n += 1
    alive = np.ones(len(att), dtype=bool)
    while alive.any() and n < max_nodes:
        tree = cKDTree(pos[:n])
        live = np.flatnonzero(alive)
        dist, near = tree.query(att[live], distance_upper_bound=influence_mm)
        killed = dist < kill_mm
        alive[live[killed]] = False
        found = np.isfinite(dist) & ~killed
        if not found.any():
            break
        near = near[found]
        vec = att[live[found]] - pos[near]
        vec /= np.maximum(dist[found][:, None], 1e-9)
        growers, inverse = np.unique(near, return_inverse=True)
        pull = np.stack([np.bincount(inverse, weights=vec[:, a], minlength=len(growers))
                         for a in range(3)], axis=1)
        pull /= np.maximum(np.linalg.norm(pull, axis=1, keepdims=True), 1e-9)
        pull += jitter * rng.normal(size=pull.shape)
        pull /= np.maximum(np.linalg.norm(pull, axis=1, keepdims=True), 1e-9)
        new = pos[growers] + step_mm * pull
        # drop children that would sit on an existing node (balanced pulls)
        d_exist, _ = tree.query(new)
        keep = d_exist > 0.45 * step_mm
        if not keep.any():
            break
        new, growers = new[keep][: max_nodes - n], growers[keep][: max_nodes - n]
        pos[n:n + len(new)] = new
        par[n:n + len(new)] = growers
        n += len(new)
    return pos[:n].copy(), par[:n].copy()


def tree_radii(parents: np.ndarray, leaf_radius_mm: float, exponent: float = 2.7) -> np.ndarray:
    """Vessel radius of every node of a tree by Murray's law (pipe model).

    A leaf has ``leaf_radius_mm``; a parent's radius r satisfies r^γ = Σ r_child^γ with γ =
    ``exponent`` (Murray: 3; measured lung vessels ~2.5–2.7). ``parents`` as returned by
    :func:`branching_tree` (parents precede children). Returns radii in mm, (n,).
    """
    parents = np.asarray(parents, dtype=int)
    flow = np.zeros(len(parents))
    has_child = np.zeros(len(parents), dtype=bool)
    has_child[parents[parents >= 0]] = True
    flow[~has_child] = leaf_radius_mm**exponent
    for n in range(len(parents) - 1, 0, -1):
        p = parents[n]
        if p >= 0:
            flow[p] += flow[n]
    return flow ** (1.0 / exponent)


def rician_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude-MR noise: |image + complex Gaussian noise| with per-channel ``sigma``.

    Bright tissue gets nearly Gaussian noise, the background a Rayleigh floor (mean ≈ 1.25 σ),
    as in real magnitude images. float32, non-negative.
    """
    real = image.astype(np.float32) + rng.standard_normal(image.shape, dtype=np.float32) * sigma
    imag = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    return np.sqrt(real * real + imag * imag)


def bias_field(
    shape: tuple[int, int, int],
    spacing: Vec3,
    rng: np.random.Generator,
    strength: float = 0.15,
    scale_mm: float = 90.0,
) -> np.ndarray:
    """A smooth multiplicative MR intensity non-uniformity, ``exp(strength · field)``.

    ``field`` is a unit-variance smooth random field with correlation length ``scale_mm``;
    ``strength`` 0.15 gives about ±15 % shading. float32, positive, mean ≈ 1.
    """
    field = smooth_field(shape, spacing, scale_mm, rng)
    return np.exp(np.float32(strength) * field).astype(np.float32)


__all__ += ["bias_field", "branching_tree", "rician_noise", "tree_radii", "tubes_occupancy"]


def grid_shape_for_fov(
    shape: tuple[int, ...] | list[int] | None, spacing: Vec3, fov_mm: Vec3
) -> tuple[int, int, int]:
    """The voxel grid of a phantom: ``shape`` when given (3 sizes ≥ 8, else ValueError),
    otherwise the field of view ``fov_mm`` divided by ``spacing`` (mm), at least 8 per axis."""
    if shape is not None:
        s = tuple(int(v) for v in shape)
        if len(s) != 3 or min(s) < 8:
            raise ValueError(f"shape must be 3 sizes of at least 8 voxels, got {shape}")
        return (s[0], s[1], s[2])
    n = [max(8, round(f / sp)) for f, sp in zip(fov_mm, spacing, strict=True)]
    return (n[0], n[1], n[2])

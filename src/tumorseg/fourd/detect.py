"""Automatic lung-tumor detection on one CT phase — a classical detector, not a network.

The bundled automatic model is abdominal, so the ITV command's automatic path uses this. It
finds one point in the tumor, then segments it as if that point were the user's click:

1. on a grid subsampled to about 3 mm: the body (largest component ≥ −400 HU, holes filled
   per axial slice) and the lungs (air < −400 HU inside it, components ≥ 50 mL);
2. the lung hull: the lungs closed with a ``closing_mm`` ball and their 3D holes filled, so
   nodules inside the lung and part of a tumor on the pleura are inside it (3D, not per
   slice: the heart is enclosed by the lungs on axial slices, not in 3D);
3. a multi-scale blob filter over the hull: the HU image (clipped to −1000…100) smoothed at
   each of ``blob_scales_mm``, its Hessian eigenvalues λ1 ≤ λ2 ≤ λ3, and where all three are
   negative (a bright blob) the "dot" response λ3² / |λ1| of Li, Sone & Doi (Med. Phys. 30,
   2003), scale-normalised by σ²; a vessel (tube: λ3 ≈ 0) or a wall (plane) scores low. The
   strongest response inside the hull is the seed — the same kind of point a user clicks;
4. the seed segmented by a click method of :mod:`tumorseg.fourd.gtv_source` (the random
   walker by default, ``click_method``).

Measured on 12 lung-4dct phantoms (``benchmarks/bench_lung_click.py``): see
``benchmarks/RESULTS.md``, "4D CT / ITV". It finds one solid tumor surrounded (mostly) by
lung. Tumors grown onto the chest wall or mediastinum give a weak blob response and are
missed, and the smallest (< 1 mL) compete with vessel branchings. Check its result, or give
the GTV with ``--mask`` or ``--click``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.errors import InputError
from tumorseg.fourd.gtv_source import DEFAULT_CLICK_METHOD, gtv_from_clicks
from tumorseg.fourd.reference import AIR_HU
from tumorseg.io import Volume

__all__ = ["DetectorSettings", "blob_response", "detect_lung_tumor", "find_tumor_seed"]


@dataclass(frozen=True)
class DetectorSettings:
    """Settings of :func:`find_tumor_seed` (mm, mL, HU)."""

    coarse_mm: float = 3.0
    closing_mm: float = 8.0
    min_lung_ml: float = 50.0
    blob_scales_mm: tuple[float, ...] = (3.0, 4.5, 6.5, 9.0)
    clip_hu: tuple[float, float] = (-1000.0, 100.0)


def _ball(radius_mm: float, spacing: np.ndarray) -> np.ndarray:
    r = np.maximum(1, np.floor(radius_mm / spacing)).astype(int)
    grids = np.ogrid[tuple(slice(-n, n + 1) for n in r)]
    return sum((g * s / radius_mm) ** 2 for g, s in zip(grids, spacing, strict=True)) <= 1.0


def _fill_slices(mask: np.ndarray) -> np.ndarray:
    out = np.empty_like(mask)
    for k in range(mask.shape[2]):
        out[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return out


def _largest(mask: np.ndarray) -> np.ndarray:
    labels = cc3d.connected_components(mask, connectivity=6)
    if labels.max() == 0:
        return mask
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    return labels == int(np.argmax(counts))


def blob_response(image: np.ndarray, spacing: np.ndarray, sigma_mm: float,
                  where: np.ndarray) -> np.ndarray:
    """Li's "dot" response of a bright blob at scale ``sigma_mm``, σ²-normalised.

    ``image [i, j, k]`` on a grid of ``spacing`` mm; the Hessian of the image smoothed with a
    Gaussian of ``sigma_mm`` is evaluated at the voxels of ``where`` only. Returns a float32
    array like ``image``: λ3² / |λ1| · σ² where all eigenvalues are negative, else 0.
    """
    sig = [sigma_mm / s for s in spacing]
    idx = np.nonzero(where)
    hess = np.empty((idx[0].size, 3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            order = [0, 0, 0]
            order[a] += 1
            order[b] += 1
            d = ndimage.gaussian_filter(image, sig, order=order)[idx] / (spacing[a] * spacing[b])
            hess[:, a, b] = hess[:, b, a] = d
    ev = np.linalg.eigvalsh(hess)  # ascending: λ1 ≤ λ2 ≤ λ3
    dot = np.where(ev[:, 2] < 0, ev[:, 2] ** 2 / np.maximum(-ev[:, 0], 1e-6), 0.0)
    out = np.zeros(image.shape, np.float32)
    out[idx] = dot * sigma_mm**2
    return out


def find_tumor_seed(volume: Volume, settings: DetectorSettings | None = None
                    ) -> tuple[int, int, int]:
    """The voxel index ``(i, j, k)`` of the strongest blob in the lungs of one CT phase (HU,
    ``[i, j, k]`` with k axial): steps 1–3 of the module docstring.

    Raises :class:`InputError` when no lungs or no blob are found.
    """
    s = settings or DetectorSettings()
    st = tuple(max(1, int(s.coarse_mm // sp)) for sp in volume.spacing)
    sp = np.asarray(volume.spacing) * np.asarray(st)
    hu = volume.array[:: st[0], :: st[1], :: st[2]].astype(np.float32)
    tissue = hu >= AIR_HU
    body = _fill_slices(_largest(tissue))
    air = body & ~tissue
    labels = cc3d.connected_components(air, connectivity=6)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    keep = np.flatnonzero(counts * np.prod(sp) / 1000.0 >= s.min_lung_ml)
    if keep.size == 0:
        raise InputError(f"{volume.source or 'reference phase'}: no lungs found (no air "
                         f"region of {s.min_lung_ml:g} mL inside the body)")
    lungs = np.isin(labels, keep)
    pad = int(np.ceil(s.closing_mm / sp.min())) + 1
    hull = ndimage.binary_closing(np.pad(lungs, pad), _ball(s.closing_mm, sp))
    hull = ndimage.binary_fill_holes(hull[pad:-pad, pad:-pad, pad:-pad]) & body
    image = np.clip(hu, *s.clip_hu)
    response = np.zeros(hu.shape, np.float32)
    for sigma in s.blob_scales_mm:
        np.maximum(response, blob_response(image, sp, sigma, hull), out=response)
    if not response.any():
        raise InputError(f"{volume.source or 'reference phase'}: no lung tumor found "
                         "automatically; give the GTV with --mask FILE or --click X,Y,Z")
    coarse = np.unravel_index(int(np.argmax(response)), response.shape)
    seed = [min(int(c) * t + t // 2, n - 1)
            for c, t, n in zip(coarse, st, volume.shape, strict=True)]
    return int(seed[0]), int(seed[1]), int(seed[2])


def detect_lung_tumor(volume: Volume, settings: DetectorSettings | None = None,
                      click_method: str = DEFAULT_CLICK_METHOD, device: str = "cpu"
                      ) -> np.ndarray:
    """The tumor on one CT phase as a boolean mask on its grid: :func:`find_tumor_seed`, then
    that seed segmented like one click by ``click_method`` (:func:`gtv_from_clicks`; ``device``
    for the "model" method).

    Raises :class:`InputError` when no lungs, no blob, or no tumor at the seed are found.
    """
    seed = find_tumor_seed(volume, settings)
    try:
        return gtv_from_clicks(volume, [seed], method=click_method, device=device)
    except InputError:
        raise InputError(f"{volume.source or 'reference phase'}: no lung tumor found "
                         f"automatically (nothing segmented at the strongest blob {seed}); "
                         "give the GTV with --mask FILE or --click X,Y,Z") from None

"""Automatic lung-tumor detection on one CT phase — a classical detector, not a network.

The bundled automatic model is abdominal, so the ITV command's automatic path uses this:

1. on a grid subsampled to about 3 mm: the body (largest component ≥ −400 HU, holes filled
   per axial slice) and the lungs (air < −400 HU inside it, components ≥ 50 mL);
2. the lung hull: the lungs closed with a ``closing_mm`` ball and their 3D holes filled, so
   nodules inside the lung and part of a tumor on the pleura are inside it (3D, not per
   slice: the heart is enclosed by the lungs on axial slices, not in 3D);
3. candidates: soft tissue (≥ −400 HU) inside the hull, opened with a ``opening_mm`` ball to
   cut vessels away, of equivalent diameter ≥ ``min_diameter_mm``; for each, the fraction of
   its surroundings (a 2-voxel shell) that is lung air. The largest *isolated* candidate
   (fraction ≥ ``isolated_lung_fraction``: a nodule inside the lung) wins; when there is none,
   the one of largest volume × fraction among those with at least half of the shell in the
   lung. (Vessel and hilum remnants touch the mediastinum, so less of their shell is lung
   than of a nodule's.) Measured: the tumor found (Dice > 0.5) on 3 of 12 lung-4dct phantoms
   at phase 0 (``benchmarks/bench_lung_click.py --cases 12``: the 29, 19 and one 0.8 mL
   tumor) and on 0 of the 4 cases of ``benchmarks/bench_itv.py``. Small tumors lose too much
   to the opening, and tumors that touch the chest wall or mediastinum lie partly outside the
   hull;
4. the best candidate refined at full resolution: voxels ≥ the tumor/lung level inside the
   candidate grown by one coarse voxel, holes filled, the largest component.

It finds one solid tumor surrounded (mostly) by lung. It will pick the wrong structure when a
larger soft-tissue mass sits in the lung (atelectasis, consolidation), and it cuts a tumor
that grows into the chest wall or mediastinum at the lung hull. Check its result, or give
the GTV with ``--mask`` or ``--click``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from tumorseg.errors import InputError
from tumorseg.fourd.reference import AIR_HU
from tumorseg.io import Volume

__all__ = ["DetectorSettings", "detect_lung_tumor"]


@dataclass(frozen=True)
class DetectorSettings:
    """Settings of :func:`detect_lung_tumor` (mm, mL)."""

    coarse_mm: float = 3.0
    closing_mm: float = 8.0
    opening_mm: float = 3.0
    min_diameter_mm: float = 8.0
    min_lung_ml: float = 50.0
    isolated_lung_fraction: float = 0.85


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


def detect_lung_tumor(volume: Volume, settings: DetectorSettings | None = None) -> np.ndarray:
    """The tumor on one CT phase (HU, ``[i, j, k]`` with k axial) as a boolean mask on its grid.

    Raises :class:`InputError` when no lungs or no candidate tumor are found.
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
    soft = ndimage.binary_opening(hull & tissue, _ball(s.opening_mm, sp))
    cands = cc3d.connected_components(soft, connectivity=26)
    best, best_key = 0, (False, 0.0)
    voxel_ml = float(np.prod(sp)) / 1000.0
    for label, box in enumerate(ndimage.find_objects(cands), start=1):
        if box is None:
            continue
        grown = tuple(slice(max(0, b.start - 2), b.stop + 2) for b in box)
        comp = cands[grown] == label
        n = int(comp.sum())
        diameter = (6.0 * n * voxel_ml * 1000.0 / np.pi) ** (1 / 3)
        if diameter < s.min_diameter_mm:
            continue
        shell = ndimage.binary_dilation(comp, iterations=2) & ~comp
        lung_fraction = float(lungs[grown][shell].mean()) if shell.any() else 0.0
        isolated = lung_fraction >= s.isolated_lung_fraction
        key = (isolated, float(n) if isolated else n * lung_fraction)
        if lung_fraction >= 0.5 and key > best_key:
            best, best_key = label, key
    if best == 0:
        raise InputError(f"{volume.source or 'reference phase'}: no lung tumor found "
                         "automatically; give the GTV with --mask FILE or --click X,Y,Z")
    coarse = ndimage.binary_dilation(cands == best, iterations=1)
    full = np.zeros(volume.shape, dtype=bool)
    up = coarse.repeat(st[0], 0).repeat(st[1], 1).repeat(st[2], 2)
    full[: up.shape[0], : up.shape[1], : up.shape[2]] = up[: volume.shape[0],
                                                           : volume.shape[1],
                                                           : volume.shape[2]]
    inside = float(np.median(hu[cands == best]))
    lung_hu = float(np.median(hu[lungs]))
    level = 0.5 * (inside + lung_hu)
    box = ndimage.find_objects(full.astype(np.uint8))[0]
    local = _fill_slices(full[box] & (volume.array[box] >= level))
    out = np.zeros(volume.shape, dtype=bool)
    out[box] = _largest(local)
    return out

"""Analytic shapes on voxel grids for the measurement tests (sizes in mm, arrays [i, j, k])."""

from __future__ import annotations

import numpy as np

from tumorseg.io import Volume


def grid_mm(shape, spacing):
    """Voxel-centre coordinates (mm, relative to the volume centre) along i, j, k."""
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    return np.meshgrid(*axes, indexing="ij")


def ellipsoid(shape, spacing, axes_mm, angle_deg=0.0, centre_mm=(0.0, 0.0, 0.0)):
    """Binary ellipsoid with semi-axes (a, b, c) mm, rotated in the i–j plane by angle."""
    x, y, z = grid_mm(shape, spacing)
    x, y, z = x - centre_mm[0], y - centre_mm[1], z - centre_mm[2]
    t = np.deg2rad(angle_deg)
    u = np.cos(t) * x + np.sin(t) * y
    v = -np.sin(t) * x + np.cos(t) * y
    a, b, c = axes_mm
    return ((u / a) ** 2 + (v / b) ** 2 + (z / c) ** 2) <= 1.0


def volumes(mask, spacing, direction=None, origin=(10.0, -20.0, 30.0), image=None):
    """(image, mask) Volumes on one grid; the image is zeros unless given."""
    img = np.zeros(mask.shape, np.int16) if image is None else image
    direction = np.eye(3) if direction is None else direction
    vol = Volume(img, spacing, origin, direction, modality="CT")
    return vol, vol.with_array(mask.astype(np.uint8), modality="SEG")

"""Exact reorientation and CLI point conventions."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume, align_to_grid, parse_point, point_to_index, reorient, to_lps


def _flipped_copy(vol: Volume) -> Volume:
    """The same voxels stored with axis 1 flipped and axes 0/2 swapped."""
    arr = np.flip(vol.array, axis=1).transpose(2, 1, 0)
    d = vol.direction.copy()
    d[:, 1] *= -1
    origin = vol.index_to_world([0, vol.shape[1] - 1, 0])
    return Volume(np.ascontiguousarray(arr), spacing=vol.spacing[::-1], origin=origin,
                  direction=d[:, [2, 1, 0]], source="flipped.nii.gz")


def test_reorient_keeps_every_voxel_position(oblique_volume):
    other = _flipped_copy(oblique_volume)
    back = align_to_grid(other, oblique_volume)
    assert back.same_grid(oblique_volume)
    np.testing.assert_array_equal(back.array, oblique_volume.array)


def test_to_lps_makes_direction_near_identity():
    d = np.diag([-1.0, -1.0, 1.0])
    arr = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    vol = Volume(arr, spacing=(1, 2, 3), origin=(10, 20, 30), direction=d)
    lps = to_lps(vol)
    np.testing.assert_allclose(lps.direction, np.eye(3))
    # voxel at LPS position p has the same value in both
    p = vol.index_to_world([2, 1, 4])
    ijk = np.rint(lps.world_to_index(p)).astype(int)
    assert lps.array[tuple(ijk)] == vol.array[2, 1, 4]


def test_oblique_difference_is_refused(oblique_volume):
    target = Volume(np.zeros(oblique_volume.shape), spacing=oblique_volume.spacing)
    with pytest.raises(GeometryMismatchError):
        reorient(oblique_volume, target.direction)


def test_parse_point_and_voxel_coords(oblique_volume):
    assert parse_point("3, 4,5") == (3.0, 4.0, 5.0)
    assert point_to_index(oblique_volume, (3, 4, 5)) == (3, 4, 5)
    with pytest.raises(InputError, match="three comma-separated"):
        parse_point("1,2")
    with pytest.raises(InputError, match="outside the image"):
        point_to_index(oblique_volume, (30, 0, 0))
    assert point_to_index(oblique_volume, (3.0, 4.0, 5.0)) == (3, 4, 5)
    with pytest.raises(InputError, match=r"--click 3\.5,4,5: voxel indices are whole numbers"):
        point_to_index(oblique_volume, (3.5, 4, 5), what="--click 3.5,4,5")


def test_mm_coords_map_to_the_voxel_at_that_position(oblique_volume):
    p = oblique_volume.index_to_world([7, 2, 5])
    assert point_to_index(oblique_volume, tuple(p), "mm") == (7, 2, 5)

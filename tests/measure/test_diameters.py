"""Volumes, diameters, RECIST axes and centroids on analytic shapes with known answers.

Tolerances: diameters are measured between voxel centres, so a shape of true diameter D
measures between D − (one voxel diagonal) and D; volumes of digitised spheres are within 4 %
at ≥ 8 voxels per radius.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import SimpleITK as sitk

from tests.conftest import oblique_direction
from tests.measure.shapes import ellipsoid, volumes
from tumorseg.errors import GeometryMismatchError
from tumorseg.measure import max_diameter_3d, measure_case, recist_axes


def _sitk_shape(mask_volume):
    f = sitk.LabelShapeStatisticsImageFilter()
    f.ComputeFeretDiameterOn()
    f.Execute(mask_volume.to_sitk())
    return f


def test_sphere_volume_diameters_and_sitk_agreement():
    r, spacing = 9.0, (1.0, 1.0, 1.0)
    mask = ellipsoid((25, 25, 25), spacing, (r, r, r))
    image, mvol = volumes(mask, spacing)
    lesion = measure_case(image, mvol).lesions[0]
    assert lesion.volume_ml * 1000 == pytest.approx(4 / 3 * np.pi * r**3, rel=0.04)
    for d in (lesion.max_diameter_3d_mm, lesion.recist_long_mm, lesion.recist_short_mm):
        assert 2 * r - np.sqrt(3) <= d <= 2 * r + 1e-9
    shape = _sitk_shape(mvol)
    assert lesion.volume_ml * 1000 == pytest.approx(shape.GetPhysicalSize(1), rel=1e-9)
    np.testing.assert_allclose(lesion.centroid_mm, shape.GetCentroid(1), atol=1e-6)
    assert lesion.max_diameter_3d_mm == pytest.approx(shape.GetFeretDiameter(1), abs=1e-6)
    assert (lesion.bbox_i0, lesion.bbox_i1) == (3, 21)


def test_ellipsoid_axes_on_the_axial_slice():
    spacing = (0.8, 0.8, 2.0)
    mask = ellipsoid((41, 41, 11), spacing, (12.0, 6.0, 8.0))
    axes = recist_axes(mask, spacing)
    assert axes is not None and axes.k == 5  # the widest slice is the middle one
    assert 24.0 - 0.8 * np.sqrt(2) <= axes.long_mm <= 24.0
    assert 12.0 - 0.8 * np.sqrt(2) <= axes.short_mm <= 12.0


@pytest.mark.parametrize("angle", [30.0, 117.0])
def test_rotated_ellipse_long_axis_follows_the_major_axis(angle):
    spacing = (0.7, 0.7, 3.0)
    mask = ellipsoid((61, 61, 5), spacing, (14.0, 5.0, 5.0), angle_deg=angle)
    axes = recist_axes(mask, spacing)
    assert 28.0 - 0.7 * np.sqrt(2) <= axes.long_mm <= 28.0
    assert 10.0 - 0.7 * np.sqrt(2) <= axes.short_mm <= 10.0 + 0.1
    (a, b), (c, d) = (np.subtract(*[np.multiply(p, spacing[:2]) for p in pair[::-1]])
                      for pair in (axes.long_ij, axes.short_ij))
    found = np.rad2deg(np.arctan2(b, a)) % 180
    assert min(abs(found - angle), 180 - abs(found - angle)) < 4.0
    assert abs(a * c + b * d) / (np.hypot(a, b) * np.hypot(c, d)) < 1e-9  # perpendicular


def test_anisotropic_spacing_sphere():
    r, spacing = 10.0, (0.7, 1.3, 2.5)
    mask = ellipsoid((35, 19, 11), spacing, (r, r, r))
    image, mvol = volumes(mask, spacing)
    lesion = measure_case(image, mvol).lesions[0]
    assert lesion.volume_ml * 1000 == pytest.approx(4 / 3 * np.pi * r**3, rel=0.06)
    assert 2 * r - np.hypot(0.7, 1.3) <= lesion.recist_long_mm <= 2 * r
    assert 2 * r - 2.5 <= lesion.max_diameter_3d_mm <= 2 * r
    assert lesion.max_diameter_3d_mm == pytest.approx(_sitk_shape(mvol).GetFeretDiameter(1))


def test_oblique_grid_centroid_and_sizes():
    spacing, direction = (1.2, 1.0, 1.5), oblique_direction(3)
    mask = ellipsoid((31, 31, 25), spacing, (10.0, 10.0, 10.0), centre_mm=(2.0, -3.0, 1.0))
    image, mvol = volumes(mask, spacing, direction=direction)
    lesion = measure_case(image, mvol).lesions[0]
    shape = _sitk_shape(mvol)
    np.testing.assert_allclose(lesion.centroid_mm, shape.GetCentroid(1), atol=1e-6)
    expected = mvol.index_to_world(np.argwhere(mask).mean(axis=0))
    np.testing.assert_allclose(lesion.centroid_mm, expected, atol=1e-9)
    assert 20.0 - 2.2 <= lesion.recist_long_mm <= 20.0
    assert lesion.max_diameter_3d_mm == pytest.approx(shape.GetFeretDiameter(1), abs=1e-6)
    world = mvol.index_to_world(np.argwhere(mask))
    assert lesion.bbox_x0_mm <= world[:, 0].min() and lesion.bbox_x1_mm >= world[:, 0].max()


def test_max_diameter_equals_brute_force_pairs():
    rng = np.random.default_rng(0)
    mask = np.zeros((9, 8, 7), bool)
    mask[2:7, 2:6, 1:6] = rng.random((5, 4, 5)) > 0.3
    spacing = (0.9, 1.4, 2.2)
    pts = np.argwhere(mask) * spacing
    brute = max(np.linalg.norm(p - q) for p, q in itertools.combinations(pts, 2))
    assert max_diameter_3d(mask, spacing) == pytest.approx(brute, abs=1e-9)


def test_two_lesions_dmax_and_order():
    spacing = (2.0, 2.0, 2.0)
    shape = (40, 30, 30)
    a = ellipsoid(shape, spacing, (8, 8, 8), centre_mm=(-20.0, 0.0, 0.0))
    b = ellipsoid(shape, spacing, (5, 5, 5), centre_mm=(20.0, 10.0, -10.0))
    image, mvol = volumes(a | b, spacing)
    result = measure_case(image, mvol)
    assert result.summary.lesion_count == 2
    assert result.lesions[0].volume_ml > result.lesions[1].volume_ml
    assert result.summary.dmax_mm == pytest.approx(np.linalg.norm([40, 10, -10]), abs=0.01)
    assert result.summary.total_volume_ml == pytest.approx(
        sum(x.volume_ml for x in result.lesions))


def test_instance_modes():
    spacing = (1.0, 1.0, 1.0)
    labels = np.zeros((20, 10, 10), np.uint8)
    labels[2:6, 2:6, 2:6] = 1
    labels[6:9, 2:6, 2:6] = 2  # touches value 1: sub-regions of one tumour
    image, mvol = volumes(labels, spacing)
    assert measure_case(image, mvol.with_array(labels)).summary.lesion_count == 1
    apart = labels.copy()
    apart[6:9] = 0
    apart[12:15, 2:6, 2:6] = 2
    apart[17:19, 7:9, 7:9] = 2  # value 2 in two pieces
    auto = measure_case(image, mvol.with_array(apart))
    assert auto.summary.instance_map and auto.summary.lesion_count == 2
    assert measure_case(image, mvol.with_array(apart), instances="no").summary.lesion_count == 3
    assert measure_case(image, mvol.with_array(labels), instances="yes").summary.lesion_count == 2


def test_empty_mask_zero_lesions_and_grid_mismatch():
    image, mvol = volumes(np.zeros((8, 8, 8), bool), (1.0, 1.0, 1.0))
    result = measure_case(image, mvol)
    assert result.lesions == [] and result.summary.total_volume_ml == 0.0
    other = mvol.with_array(mvol.array).__class__(mvol.array, (1.0, 1.0, 2.0))
    with pytest.raises(GeometryMismatchError, match="mask: grid differs from image"):
        measure_case(image, other)


def test_organ_majority_and_intensity_statistics():
    spacing = (1.0, 1.0, 1.0)
    mask = np.zeros((10, 10, 10), bool)
    mask[2:6, 2:6, 2:6] = True  # 64 voxels
    organs = np.zeros(mask.shape, np.uint8)
    organs[2:6, 2:6, 2:5] = 5  # 48 voxels in organ 5
    organs[2:6, 2:6, 5] = 3  # 16 voxels in organ 3
    hu = np.arange(1000, dtype=np.int16).reshape(mask.shape)
    image, mvol = volumes(mask, spacing, image=hu)
    lesion = measure_case(image, mvol, organs=mvol.with_array(organs),
                          organ_names={5: "liver"}).lesions[0]
    assert (lesion.organ_label, lesion.organ_name) == (5, "liver")
    assert lesion.organ_fraction == pytest.approx(0.75)
    inside = hu[mask].astype(float)
    assert lesion.intensity_mean == pytest.approx(inside.mean())
    assert lesion.intensity_std == pytest.approx(inside.std())
    assert (lesion.intensity_min, lesion.intensity_max) == (inside.min(), inside.max())
    assert lesion.intensity_median == pytest.approx(np.median(inside))

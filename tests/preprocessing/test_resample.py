"""Resampling to a spacing and back onto the original grid: exact geometry, label Dice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import oblique_direction
from tests.planning.synthetic import dice, sphere
from tumorseg.io import Volume
from tumorseg.preprocessing import (
    Grid,
    ResamplingConfig,
    anisotropic_axis,
    compute_new_shape,
    resample_to_grid,
    resample_to_spacing,
)
from tumorseg.preprocessing.resample import _resample_once, _separable


def _grid_equal(a: Volume, b: Volume) -> None:
    assert a.shape == b.shape
    assert a.spacing == b.spacing
    assert a.origin == b.origin
    assert np.array_equal(a.direction, b.direction)


@pytest.fixture
def aniso_label() -> Volume:
    spacing = (0.8, 0.8, 2.5)
    shape = (48, 44, 16)
    ball = sphere(shape, spacing, np.array([19.0, 17.0, 20.0]), 10.0)
    lab = ball.astype(np.uint8)
    lab[sphere(shape, spacing, np.array([19.0, 17.0, 20.0]), 6.0)] = 2
    return Volume(lab, spacing, (-101.3, 44.2, 7.7), oblique_direction(2), modality="SEG")


def test_resample_keeps_origin_and_direction(oblique_volume):
    out = resample_to_spacing(oblique_volume, (1.0, 1.0, 1.0))
    assert out.spacing == (1.0, 1.0, 1.0)
    assert out.origin == oblique_volume.origin
    np.testing.assert_array_equal(out.direction, oblique_volume.direction)
    assert out.shape == compute_new_shape(oblique_volume.shape, oblique_volume.spacing, (1, 1, 1))
    assert out.array.dtype == np.float32 and out.modality == "CT"
    assert resample_to_spacing(oblique_volume, oblique_volume.spacing) is oblique_volume


def test_round_trip_gives_the_original_grid_exactly(oblique_volume):
    down = resample_to_spacing(oblique_volume, (1.1, 0.9, 1.7))
    back = resample_to_grid(down, oblique_volume)
    _grid_equal(back, oblique_volume)
    back = resample_to_grid(down, Grid.of(oblique_volume))
    _grid_equal(back, oblique_volume)


def test_label_round_trip_dice(aniso_label):
    # in-plane coarser or finer, slices as thick or thinner (thicker slices lose information)
    for target in [(1.0, 1.0, 1.0), (0.8, 0.8, 1.5), (1.0, 1.0, 2.5), (0.5, 0.5, 0.5)]:
        res = resample_to_spacing(aniso_label, target, is_label=True)
        assert res.array.dtype == np.uint8
        assert set(np.unique(res.array)) <= {0, 1, 2}
        back = resample_to_grid(res, aniso_label, is_label=True)
        _grid_equal(back, aniso_label)
        for value in (1, 2):
            assert dice(back.array == value, aniso_label.array == value) > 0.95, target


def test_label_nearest_and_linear_multi_channel_image(aniso_label):
    cfg = ResamplingConfig(order_label=0, order_image=1)
    res = resample_to_spacing(aniso_label, (1.0, 1.0, 1.0), is_label=True, config=cfg)
    back = resample_to_grid(res, aniso_label, is_label=True, config=cfg)
    assert dice(back.array > 0, aniso_label.array > 0) > 0.95
    image = aniso_label.with_array(np.stack([aniso_label.array, 2 * aniso_label.array])
                                   .astype(np.float32), channel_names=("a", "b"))
    res = resample_to_spacing(image, (1.0, 1.0, 1.0), config=cfg)
    assert res.array.shape[0] == 2 and res.channel_names == ("a", "b")
    np.testing.assert_allclose(res.array[1], 2 * res.array[0], atol=1e-5)


def test_smooth_image_survives_bspline_round_trip():
    spacing = (1.0, 1.0, 1.0)
    i, j, k = np.meshgrid(*[np.arange(n, dtype=float) for n in (20, 18, 16)], indexing="ij")
    arr = (np.sin(i / 4) + np.cos(j / 5) + k / 10).astype(np.float32)
    vol = Volume(arr, spacing, (1.0, 2.0, 3.0))
    back = resample_to_grid(resample_to_spacing(vol, (0.7, 0.8, 0.9)), vol)
    np.testing.assert_allclose(back.array[2:-2, 2:-2, 2:-2], arr[2:-2, 2:-2, 2:-2], atol=0.02)


@pytest.mark.parametrize("order", [0, 1, 3])
def test_axis_by_axis_matches_itk_inside(order):
    rng = np.random.default_rng(order)
    a = rng.normal(size=(30, 27, 20)).astype(np.float32)
    src = Grid(a.shape, (0.9, 1.1, 1.3), (3.0, -2.0, 5.0), oblique_direction(4))
    dst = Grid((25, 33, 18), (1.05, 0.85, 1.2), tuple(src.index_to_world([0.7, 2.3, 1.4])),
               src.direction)
    mine = _separable(a, src, dst, (order,) * 3)
    itk = _resample_once(a, src, dst, order)
    np.testing.assert_allclose(mine[2:-2, 2:-2, 2:-2], itk[2:-2, 2:-2, 2:-2], atol=1e-5)


def test_oblique_reference_grid_uses_itk(oblique_volume):
    other = Grid((9, 9, 9), (1.5, 1.5, 1.5), oblique_volume.origin, np.eye(3))
    out = resample_to_grid(oblique_volume, other)
    assert out.shape == (9, 9, 9) and np.array_equal(out.direction, np.eye(3))
    assert np.isfinite(out.array).all()


def test_anisotropic_axis_rule():
    assert anisotropic_axis((0.8, 0.8, 2.5)) == 2        # ratio 3.125 > 3
    assert anisotropic_axis((0.8, 0.8, 2.4)) is None
    assert anisotropic_axis((0.7, 0.7, 5.0)) == 2
    assert anisotropic_axis((5.0, 0.7, 5.0)) is None     # two coarse axes: no separate pass
    # thick slices: the second pass along k is nearest, so slices are copied, not blended
    arr = np.zeros((8, 8, 4), np.float32)
    arr[..., 1] = 10
    vol = Volume(arr, (0.5, 0.5, 5.0))
    out = resample_to_spacing(vol, (0.5, 0.5, 2.5))
    assert set(np.unique(np.round(out.array, 4))) <= {0.0, 10.0}

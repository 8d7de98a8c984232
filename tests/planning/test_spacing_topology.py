"""Target spacing rule (median, 10th percentile for thick slices) and U-Net topology."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tumorseg.planning import NetworkConfig, determine_target_spacing, pool_and_conv_props


def test_isotropic_takes_the_median():
    spacings = [(1.0, 1.0, 1.0), (0.9, 0.9, 1.2), (1.1, 1.1, 1.5)]
    shapes = [(100, 100, 100)] * 3
    t = determine_target_spacing(spacings, shapes)
    assert t.spacing == (1.0, 1.0, 1.2) and t.anisotropic_axis is None


def test_thick_slices_take_the_10th_percentile():
    z = [2.5, 3.0, 5.0, 5.0, 5.0]
    spacings = [(0.8, 0.8, s) for s in z]
    shapes = [(256, 256, 20)] * 5  # 20 * 3 < 256: few slices
    t = determine_target_spacing(spacings, shapes)
    assert t.anisotropic_axis == 2
    assert t.spacing[:2] == (0.8, 0.8)
    assert t.spacing[2] == pytest.approx(np.percentile(z, 10))  # 2.7, not the median 5
    assert "10th percentile" in t.rule


def test_anisotropic_axis_can_be_any_axis():
    spacings = [(s, 0.7, 0.7) for s in (3.0, 6.0, 6.0)]
    shapes = [(12, 200, 200)] * 3
    t = determine_target_spacing(spacings, shapes)
    assert t.anisotropic_axis == 0 and t.spacing[0] == pytest.approx(np.percentile(
        [3.0, 6.0, 6.0], 10))


def test_thick_slices_with_many_voxels_keep_the_median():
    # spacing is anisotropic but the axis has many voxels: nnU-Net keeps the median
    spacings = [(0.8, 0.8, s) for s in (2.5, 3.0, 5.0)]
    shapes = [(256, 256, 200)] * 3
    t = determine_target_spacing(spacings, shapes)
    assert t.spacing[2] == 3.0 and t.anisotropic_axis is None


def test_10th_percentile_never_below_in_plane():
    spacings = [(1.0, 1.0, z) for z in (0.5, 0.5, 5.0, 5.0, 5.0)]
    shapes = [(200, 200, 20)] * 5
    t = determine_target_spacing(spacings, shapes)
    assert t.spacing[2] == pytest.approx(1.0 + 1e-5)


def test_topology_isotropic():
    topo = pool_and_conv_props((1.0, 1.0, 1.0), (128, 128, 128))
    assert topo.pools_per_axis == (5, 5, 5)
    assert topo.strides[0] == (1, 1, 1) and all(s == (2, 2, 2) for s in topo.strides[1:])
    assert all(k == (3, 3, 3) for k in topo.kernel_sizes)
    assert topo.patch_size == (128, 128, 128) and topo.divisor == (32, 32, 32)


def test_topology_anisotropic_and_padding():
    topo = pool_and_conv_props((0.8, 0.8, 2.5), (150, 150, 37))
    # the thick axis waits until the in-plane spacing has caught up (0.8 → 1.6 → 3.2)
    assert topo.strides[1] == (2, 2, 1) and topo.strides[2] == (2, 2, 2)
    assert topo.kernel_sizes[0] == (3, 3, 1) and topo.kernel_sizes[-1] == (3, 3, 3)
    assert topo.num_stages <= 6 and len(topo.kernel_sizes) == topo.num_stages
    for p, d, n in zip(topo.patch_size, topo.divisor, topo.pools_per_axis, strict=True):
        assert p % d == 0 and d == 2**n
    assert topo.patch_size[0] >= 150 and topo.patch_size[2] >= 37
    # bottleneck edge never below the minimum feature-map size
    for p, n in zip(topo.patch_size, topo.pools_per_axis, strict=True):
        assert p / 2**n >= 4 or n == 0


def test_max_pool_steps():
    topo = pool_and_conv_props((1.0, 1.0, 1.0), (512, 512, 512), max_pool_steps=5)
    assert topo.num_stages == 6


@pytest.mark.parametrize("spacing, patch", [((1.0, 1.0, 1.0), (32, 32, 32)),
                                            ((0.8, 0.8, 2.5), (48, 40, 12))])
def test_dynunet_from_topology_keeps_shape(spacing, patch):
    topo = pool_and_conv_props(spacing, patch)
    net = NetworkConfig(1, 3, topo.kernel_sizes, topo.strides,
                        tuple(min(4 * 2**s, 16) for s in range(topo.num_stages)),
                        deep_supervision=True, deep_supr_num=topo.num_stages - 2).build()
    net.eval()
    with torch.no_grad():
        out = net(torch.zeros(1, 1, *topo.patch_size))
    assert out.shape == (1, 3, *topo.patch_size)

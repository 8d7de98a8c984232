"""U-Net topology from spacing and patch size, after nnU-Net's ``get_pool_and_conv_props``.

Rules (axes in (i, j, k) order, spacing in mm, sizes in voxels):

* At each pooling step, an axis is pooled (stride 2) when its current feature-map size is at
  least ``2 * min_feature_map_size`` and its current spacing is less than twice the smallest
  current spacing among the axes still large enough. When only one axis qualifies it must be
  at least ``3 * min_feature_map_size``. Pooling stops when no axis qualifies or after
  ``max_pool_steps`` steps.
* Convolution kernels start at 1 along axes whose spacing is at least twice the finest (thick
  slices: in-plane convolutions only, as in nnU-Net) and become 3 once pooling has brought
  that axis within a factor 2; the bottleneck always uses 3.
* The patch size is then padded up to a multiple of ``2 ** pools`` per axis.

``strides`` and ``kernel_sizes`` are per stage (first stride ``[1, 1, 1]``) and feed
:class:`monai.networks.nets.DynUNet` directly (``upsample_kernel_size = strides[1:]``).

Unlike nnU-Net's code, which indexes the kernel rule with a list of only the poolable axes,
the kernel rule here looks at every axis's own spacing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Topology", "feature_map_elements", "parameter_count", "pool_and_conv_props"]


@dataclass(frozen=True)
class Topology:
    """The result of :func:`pool_and_conv_props`.

    Attributes:
        pools_per_axis: number of stride-2 poolings along i, j, k.
        strides: per stage, the stride of its first convolution (stage 0: ``[1, 1, 1]``).
        kernel_sizes: per stage, the convolution kernel size (1 or 3) along i, j, k.
        patch_size: the patch size padded to a multiple of ``divisor`` (voxels, i, j, k).
        divisor: ``2 ** pools_per_axis``: every input size must be a multiple of it.
    """

    pools_per_axis: tuple[int, int, int]
    strides: tuple[tuple[int, int, int], ...]
    kernel_sizes: tuple[tuple[int, int, int], ...]
    patch_size: tuple[int, int, int]
    divisor: tuple[int, int, int]

    @property
    def num_stages(self) -> int:
        """Resolution levels of the U-Net (pooling steps + 1)."""
        return len(self.strides)


def _pad_to_multiple(shape: Sequence[int], divisor: Sequence[int]) -> tuple[int, int, int]:
    return tuple(int(-(-s // d) * d) for s, d in zip(shape, divisor, strict=True))  # type: ignore[return-value]


def pool_and_conv_props(spacing: Sequence[float], patch_size: Sequence[int],
                        min_feature_map_size: int = 4, max_pool_steps: int = 5) -> Topology:
    """Pooling per axis and kernel sizes for ``patch_size`` at ``spacing`` (module rules)."""
    dim = len(spacing)
    current_spacing = [float(s) for s in spacing]
    current_size = [int(s) for s in patch_size]
    strides: list[tuple[int, ...]] = [(1,) * dim]
    kernels: list[tuple[int, ...]] = []
    pools = [0] * dim
    kernel = [1] * dim
    while len(strides) - 1 < max_pool_steps:
        valid = [a for a in range(dim) if current_size[a] >= 2 * min_feature_map_size]
        if not valid:
            break
        finest = min(current_spacing[a] for a in valid)
        valid = [a for a in valid if current_spacing[a] / finest < 2]
        if len(valid) == 1 and current_size[valid[0]] < 3 * min_feature_map_size:
            break
        if not valid:
            break
        finest_all = min(current_spacing)
        for a in range(dim):
            if kernel[a] != 3 and current_spacing[a] / finest_all < 2:
                kernel[a] = 3
        stride = [1] * dim
        for a in valid:
            stride[a] = 2
            pools[a] += 1
            current_spacing[a] *= 2
            current_size[a] = int(np.ceil(current_size[a] / 2))
        strides.append(tuple(stride))
        kernels.append(tuple(kernel))
    kernels.append((3,) * dim)
    divisor = tuple(2 ** p for p in pools)
    return Topology(
        pools_per_axis=tuple(pools),  # type: ignore[arg-type]
        strides=tuple(strides),  # type: ignore[arg-type]
        kernel_sizes=tuple(kernels),  # type: ignore[arg-type]
        patch_size=_pad_to_multiple(patch_size, divisor),
        divisor=divisor,  # type: ignore[arg-type]
    )


def _stage_sizes(patch_size: Sequence[int], strides: Sequence[Sequence[int]]) -> list[np.ndarray]:
    sizes = [np.asarray(patch_size, dtype=np.int64)]
    for stride in strides[1:]:
        sizes.append(-(-sizes[-1] // np.asarray(stride, dtype=np.int64)))
    return sizes


def feature_map_elements(patch_size: Sequence[int], strides: Sequence[Sequence[int]],
                         features: Sequence[int], num_classes: int,
                         deep_supervision: bool = True, deep_supr_num: int = 0) -> int:
    """Feature-map elements one sample produces in a DynUNet forward pass.

    Counted like nnU-Net's ``compute_conv_feature_map_size`` (output elements of every
    convolution: two per encoder stage; transposed convolution plus two convolutions per
    decoder stage; segmentation heads), plus the full-resolution deep-supervision outputs
    that DynUNet stacks (``1 + deep_supr_num`` maps of ``num_classes`` channels).
    """
    sizes = [int(np.prod(s)) for s in _stage_sizes(patch_size, strides)]
    n = len(sizes)
    total = sum(2 * f * v for f, v in zip(features[:n], sizes, strict=True))
    for s in range(n - 1):
        total += 3 * features[s] * sizes[s]
        if s == 0 or (deep_supervision and s <= deep_supr_num):
            total += num_classes * sizes[s]
    if deep_supervision:
        total += (1 + deep_supr_num) * num_classes * sizes[0]
    return int(total)


def parameter_count(in_channels: int, num_classes: int, kernel_sizes: Sequence[Sequence[int]],
                    strides: Sequence[Sequence[int]], features: Sequence[int]) -> int:
    """Approximate number of weights of the DynUNet (convolutions and heads; norms ignored)."""
    n = len(strides)
    k = [int(np.prod(ks)) for ks in kernel_sizes]
    total = k[0] * (in_channels * features[0] + features[0] ** 2)
    for s in range(1, n):
        total += k[s] * (features[s - 1] * features[s] + features[s] ** 2)
    for s in range(n - 1):
        up = int(np.prod(strides[s + 1]))
        total += up * features[s + 1] * features[s] + k[s + 1] * 3 * features[s] ** 2
        total += features[s] * num_classes
    return int(total)

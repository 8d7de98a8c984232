"""Sliding window, mirroring TTA, fold ensemble and uncertainty on hand-made networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tumorseg.inference import (
    EnsembleWindow,
    case_uncertainty,
    entropy_map,
    mirror_combinations,
    sliding_window_probabilities,
)


class ConstantNet(torch.nn.Module):
    """Logits +50 for class ``cls`` everywhere: a one-hot softmax, whatever the input."""

    def __init__(self, cls: int, n_classes: int = 2) -> None:
        super().__init__()
        self.cls, self.out_channels = cls, n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((x.shape[0], self.out_channels, *x.shape[2:]), dtype=x.dtype)
        out[:, self.cls] = 50.0
        return out


def conv_net(seed: int, n_classes: int = 3) -> torch.nn.Module:
    """A random, not flip-equivariant network (asymmetric kernels, position-free)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.Tanh(),
                              torch.nn.Conv3d(4, n_classes, 3, padding=1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(4.0)
    return net.eval()


def _image(shape=(12, 16, 8), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(1, *shape)).astype(np.float32)


def test_mirror_combinations():
    combos = mirror_combinations((0, 1, 2))
    assert len(combos) == 8 and combos[0] == () and (0, 1, 2) in combos
    assert mirror_combinations(()) == ((),)
    with pytest.raises(ValueError):
        mirror_combinations((3,))


def test_window_output_is_a_mean_softmax():
    net = conv_net(0)
    x = torch.from_numpy(_image((8, 8, 4)))[None]
    window = EnsembleWindow([net], (0, 1, 2))
    assert window.n_members == 8
    with torch.inference_mode():
        p = window(x)
    assert p.shape == (1, 3, 8, 8, 4)
    torch.testing.assert_close(p.sum(1), torch.ones(1, 8, 8, 4))


def test_tta_equals_manual_flip_average():
    """Window starts (0, 4 | 0, 4, 8 | 0, 2, 4) are symmetric, so flipping the whole image
    visits the same windows mirrored: the TTA result must equal the average of 8 predictions
    without TTA on flipped images, each flipped back."""
    net = conv_net(1)
    image = _image()
    patch = (8, 8, 4)
    tta = sliding_window_probabilities([net], image, patch, mirror_axes=(0, 1, 2))
    manual = np.zeros_like(tta)
    for flip in mirror_combinations((0, 1, 2)):
        axes = tuple(a + 1 for a in flip)
        flipped = np.ascontiguousarray(np.flip(image, axes)) if axes else image
        p = sliding_window_probabilities([net], flipped, patch, mirror_axes=())
        manual += np.flip(p, axes) if axes else p
    manual /= 8
    np.testing.assert_allclose(tta, manual, atol=2e-6)
    plain = sliding_window_probabilities([net], image, patch, mirror_axes=())
    assert np.abs(plain - tta).max() > 1e-3  # the network is not flip-equivariant


def test_ensemble_is_mean_of_members():
    nets = [conv_net(2), conv_net(3)]
    image = _image((20, 13, 9), seed=4)
    patch = (8, 8, 4)
    both = sliding_window_probabilities(nets, image, patch, mirror_axes=(2,))
    each = [sliding_window_probabilities([n], image, patch, mirror_axes=(2,)) for n in nets]
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2, atol=2e-6)
    np.testing.assert_allclose(both.sum(0), 1.0, atol=1e-5)


def test_image_smaller_than_patch_and_half_output():
    net = conv_net(5)
    image = _image((5, 7, 3))
    full = sliding_window_probabilities([net], image, (8, 8, 4), mirror_axes=())
    half = sliding_window_probabilities([net], image, (8, 8, 4), mirror_axes=(),
                                        half_precision_output=True)
    assert full.shape == (3, 5, 7, 3) and full.dtype == np.float32
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.astype(np.float32), full, atol=5e-3)


def test_uncertainty_zero_when_members_agree_and_one_when_they_split():
    image = _image((10, 10, 6))
    agree = sliding_window_probabilities([ConstantNet(1), ConstantNet(1)], image, (8, 8, 4))
    split = sliding_window_probabilities([ConstantNet(0), ConstantNet(1)], image, (8, 8, 4))
    np.testing.assert_allclose(entropy_map(agree), 0.0, atol=1e-6)
    np.testing.assert_allclose(entropy_map(split), 1.0, atol=1e-6)
    three = np.full((3, 2, 2, 2), 1 / 3, np.float32)
    np.testing.assert_allclose(entropy_map(three), 1.0, atol=1e-6)
    np.testing.assert_allclose(entropy_map(three, normalize=False), np.log(3), atol=1e-6)


def test_case_scores():
    probs = np.zeros((2, 4, 4, 4), np.float32)
    probs[0] = 1.0
    probs[:, :2] = [[[[0.1]]], [[[0.9]]]]
    labels = np.argmax(probs, 0).astype(np.uint8)
    s = case_uncertainty(probs, labels)
    assert s.foreground_voxels == 32
    assert s.self_consistency_dice == pytest.approx(2 * 0.9 * 32 / (0.9 * 32 + 32))
    h = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9)) / np.log(2)
    assert s.mean_entropy_foreground == pytest.approx(h, rel=1e-5)
    empty = case_uncertainty(np.stack([np.ones((3, 3, 3)), np.zeros((3, 3, 3))]),
                             np.zeros((3, 3, 3), np.uint8))
    assert empty.mean_entropy_foreground is None and empty.self_consistency_dice == 1.0


class CountingNet(ConstantNet):
    """A :class:`ConstantNet` that records how many windows each call received."""

    def __init__(self) -> None:
        super().__init__(1)
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(int(x.shape[0]))
        return super().forward(x)


@pytest.mark.parametrize("shape, patch, overlap", [
    ((40, 33, 17), (16, 16, 16), 0.5),   # three axes scanned, one only just longer
    ((10, 10, 10), (16, 16, 16), 0.5),   # smaller than the window: padded, one window
    ((64, 64, 30), (32, 32, 16), 0.25),
    ((50, 16, 17), (16, 16, 16), 0.5),   # one axis exactly the window
    ((31, 20, 9), (8, 8, 4), 0.0),
])
def test_window_count_and_progress_match_monai(shape, patch, overlap):
    """count_windows agrees with the windows MONAI really runs, and progress goes from 0 to
    the total, never beyond."""
    from tumorseg.inference.sliding import count_windows

    net = CountingNet()
    calls: list[tuple[int, int]] = []
    sliding_window_probabilities([net], np.zeros((1, *shape), np.float32), patch,
                                 overlap=overlap, mirror_axes=(0,), sw_batch_size=3,
                                 progress=lambda done, total: calls.append((done, total)))
    total = count_windows(shape, patch, overlap)
    assert sum(net.batches) == 2 * total  # two mirrored copies per window
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) == 1 + len(net.batches) // 2

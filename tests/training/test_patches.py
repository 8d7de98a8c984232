"""Patch placement, padding and foreground oversampling."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.training import AugmentationConfig, CachedCase, PatchDataset
from tumorseg.training.data import is_foreground_sample
from tumorseg.training.patches import choose_patch, crop_with_padding, region_size

PATCH = np.array((16, 16, 8))


def test_crop_with_padding_inside_and_outside():
    a = np.arange(4 * 5 * 6, dtype=np.float32).reshape(1, 4, 5, 6)
    inside = crop_with_padding(a, (1, 1, 1), (2, 3, 4))
    assert np.array_equal(inside, a[:, 1:3, 1:4, 1:5])
    out = crop_with_padding(a, (-2, 3, 4), (8, 4, 4), pad_value=-1)
    assert out.shape == (1, 8, 4, 4)
    assert np.array_equal(out[:, 2:6, :2, :2], a[:, :, 3:, 4:])
    assert (out[:, :2] == -1).all() and (out[:, 6:] == -1).all() and (out[:, 2:6, 2:] == -1).all()
    assert (crop_with_padding(a, (10, 0, 0), (2, 2, 2)) == 0).all()  # entirely outside


def test_small_volume_is_centred_and_padded():
    rng = np.random.default_rng(0)
    lower = choose_patch((10, 12, 8), (16, 16, 16), rng)
    assert lower.tolist() == [-3, -2, -4]
    vol = np.ones((10, 12, 8), dtype=np.uint8)
    patch = crop_with_padding(vol, lower, (16, 16, 16))
    assert patch.shape == (16, 16, 16) and patch.sum() == vol.sum()


def test_random_patches_stay_inside_a_big_volume():
    rng = np.random.default_rng(1)
    for _ in range(200):
        lower = choose_patch((40, 30, 20), (16, 16, 8), rng)
        assert (lower >= 0).all() and (lower + PATCH <= (40, 30, 20)).all()


def test_foreground_patch_contains_the_voxel():
    rng = np.random.default_rng(2)
    fg = {1: np.array([[0, 0, 0], [39, 29, 19], [20, 3, 10]]), 2: np.zeros((0, 3), int)}
    for _ in range(100):
        lower = choose_patch((40, 30, 20), (16, 16, 8), rng, fg)
        inside = [(v >= lower).all() and (v < lower + PATCH).all() for v in fg[1]]
        assert any(inside)
        assert (lower >= 0).all() and (lower + PATCH <= (40, 30, 20)).all()


def test_foreground_schedule_is_exact():
    flags = [is_foreground_sample(n, 1 / 3) for n in range(300)]
    assert sum(flags) == 100 and flags[:6] == [False, False, True, False, False, True]
    assert not any(is_foreground_sample(n, 0.0) for n in range(50))
    assert all(is_foreground_sample(n, 1.0) for n in range(50))


def test_region_size_is_even_margin_and_covers_rotation():
    assert region_size((24, 24, 16)) == (24, 24, 16)
    r = region_size((64, 64, 16), (0, 0, 30), 0.0)  # in-plane rotation only
    assert r[2] == 16 and r[0] >= 64 * (np.cos(np.pi / 6) + np.sin(np.pi / 6)) - 1
    r = region_size((33, 32, 31), (30, 30, 30), 0.3)
    assert all((a - b) % 2 == 0 and a >= b for a, b in zip(r, (33, 32, 31), strict=True))


@pytest.fixture
def sparse_case(tmp_path):
    """A 64×64×48 volume whose only foreground is a 2×2×2 cube near a corner."""
    shape = (64, 64, 48)
    image = np.random.default_rng(0).normal(size=(1, *shape)).astype(np.float32)
    label = np.zeros(shape, dtype=np.uint8)
    label[5:7, 50:52, 40:42] = 1
    np.save(tmp_path / "c.npy", image)
    np.save(tmp_path / "c_seg.npy", label)
    ijk = np.argwhere(label == 1)
    np.save(tmp_path / "c_fg.npy", np.concatenate([np.ones((len(ijk), 1), int), ijk], 1)
            .astype(np.int32))
    return CachedCase("c", tmp_path, shape, 1)


@pytest.mark.parametrize(("fraction", "low", "high"), [(1 / 3, 0.33, 1.0), (0.0, 0.0, 0.15)])
def test_oversampling_puts_foreground_in_a_third(sparse_case, fraction, low, high):
    ds = PatchDataset([sparse_case], (16, 16, 16), AugmentationConfig.off(), fraction, seed=3)
    stream = iter(ds)
    samples = [next(stream) for _ in range(90)]
    assert all(s["image"].shape == (1, 16, 16, 16) and s["label"].shape == (1, 16, 16, 16)
               for s in samples)
    with_fg = np.mean([bool(s["label"].any()) for s in samples])
    assert low <= with_fg <= high


def test_streams_are_seeded(sparse_case):
    def first(seed, epoch=0, rank=0):
        ds = PatchDataset([sparse_case], (16, 16, 16), AugmentationConfig(), 1 / 3, seed, rank)
        ds.set_epoch(epoch)
        stream = iter(ds)
        return [next(stream)["image"] for _ in range(3)]

    a, b = first(5), first(5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    for other in (first(6), first(5, epoch=1), first(5, rank=1)):
        assert not all(np.array_equal(x, y) for x, y in zip(a, other, strict=True))


def test_loader_with_worker_processes_is_reproducible(sparse_case):
    from tumorseg.training import make_loader

    def batches(workers):
        ds = PatchDataset([sparse_case], (16, 16, 16), AugmentationConfig(), 1 / 3, seed=4)
        ds.set_epoch(2)
        it = iter(make_loader(ds, batch_size=2, num_workers=workers))
        return [next(it) for _ in range(3)]

    a, b = batches(2), batches(2)
    assert a[0]["image"].shape == (2, 1, 16, 16, 16) and a[0]["label"].shape == (2, 1, 16, 16, 16)
    assert all(np.array_equal(x["image"], y["image"]) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0]["image"], a[1]["image"])  # the two workers differ

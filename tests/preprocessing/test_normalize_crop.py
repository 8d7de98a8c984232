"""Normalisation by hand, and crop / paste back."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import oblique_direction
from tumorseg.io import Volume
from tumorseg.preprocessing import (
    ChannelNormalization,
    CropBox,
    crop_to_nonzero,
    ct_normalize,
    nonzero_mask,
    normalize,
    paste,
    zscore_normalize,
)


def test_ct_normalisation_by_hand():
    hu = np.array([[[-1000, -50, 0], [40, 100, 2000]]], dtype=np.int16)
    out = ct_normalize(hu, clip_low=-50.0, clip_high=150.0, mean=40.0, std=20.0)
    expected = (np.array([[[-50, -50, 0], [40, 100, 150]]], dtype=float) - 40.0) / 20.0
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32
    assert hu[0, 0, 0] == -1000  # the input is untouched
    norm = ChannelNormalization("CT", "ct", clip_low=-50.0, clip_high=150.0, mean=40.0, std=20.0)
    np.testing.assert_allclose(normalize(hu[None], [norm])[0], expected, rtol=1e-6)


def test_zscore_whole_volume_and_masked():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(6, 5, 4)).astype(np.float32)
    z = zscore_normalize(x)
    assert z.mean() == pytest.approx(0, abs=1e-5) and z.std() == pytest.approx(1, abs=1e-4)
    mask = np.zeros(x.shape, bool)
    mask[1:4, 1:4, 1:3] = True
    zm = zscore_normalize(x, mask)
    inside = x[mask].astype(float)
    np.testing.assert_allclose(zm[mask], (inside - inside.mean()) / inside.std(), rtol=1e-5)
    assert np.all(zm[~mask] == 0)


def test_suv_and_none_keep_values_and_channel_count_checked():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2)
    out = normalize(x, [ChannelNormalization("PET", "suv"), ChannelNormalization("X", "none")])
    np.testing.assert_array_equal(out, x.astype(np.float32))
    with pytest.raises(ValueError, match="1 normalisations for 2 channels"):
        normalize(x, [ChannelNormalization("PET", "suv")])
    with pytest.raises(ValueError, match="needs clip_low"):
        ChannelNormalization("CT", "ct")


def test_crop_to_nonzero_and_paste_back():
    arr = np.zeros((2, 10, 9, 8), np.float32)
    arr[0, 2:7, 3:6, 1:5] = 1.0
    arr[1, 4, 4, 6] = 2.0          # the second channel widens the box
    arr[0, 4, 4, 2] = 0.0          # a hole inside: filled in the mask
    vol = Volume(arr, (0.7, 0.9, 2.0), (10.0, -5.0, 3.0), oblique_direction(3))
    cropped, box, mask = crop_to_nonzero(vol)
    assert box == CropBox((2, 3, 1), (7, 6, 7), (10, 9, 8))
    assert cropped.shape == box.shape == mask.shape and mask[2, 1, 1]
    np.testing.assert_allclose(cropped.index_to_world([0, 0, 0]),
                               vol.index_to_world([2, 3, 1]), atol=1e-9)
    np.testing.assert_array_equal(cropped.direction, vol.direction)
    back = paste(cropped.array, box)
    np.testing.assert_array_equal(back, arr)
    probs = paste(np.full((3, *box.shape), 0.5, np.float32), box, fill=[1, 0, 0])
    assert probs[:, 0, 0, 0].tolist() == [1, 0, 0]
    assert CropBox.from_dict(box.to_dict()) == box


def test_empty_volume_keeps_the_whole_grid():
    vol = Volume(np.zeros((4, 4, 4)), (1, 1, 1))
    _, box, _ = crop_to_nonzero(vol)
    assert box.is_full
    assert not nonzero_mask(vol.array).any()

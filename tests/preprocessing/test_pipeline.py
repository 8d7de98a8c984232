"""preprocess_case → restore_to_original: target spacing, normalisation, exact original grid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.planning.synthetic import dice
from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume
from tumorseg.planning import load_case
from tumorseg.preprocessing import (
    compute_new_shape,
    ct_normalize,
    preprocess_case,
    restore_to_original,
)


def _same_grid(a: Volume, b: Volume) -> None:
    assert a.shape == b.shape and a.spacing == b.spacing and a.origin == b.origin
    assert np.array_equal(a.direction, b.direction)


def test_ct_case_at_target_spacing_is_only_normalised(ct_planned):
    info, plan = ct_planned
    image, label = load_case(info.cases[0], info)  # already at the target spacing
    assert np.allclose(image.spacing, plan.target_spacing)
    pp = preprocess_case(image, plan, label)
    assert pp.crop.is_full  # CT air is -1000, not 0: nothing to crop
    (n,) = plan.normalization
    expected = ct_normalize(image.array[0], n.clip_low, n.clip_high, n.mean, n.std)
    np.testing.assert_array_equal(pp.array[0], expected)
    np.testing.assert_array_equal(pp.label, label.array)
    assert pp.array.dtype == np.float32 and pp.label.dtype == np.uint8


def test_ct_case_resampled_and_restored(ct_planned):
    info, plan = ct_planned
    image, label = load_case(info.cases[1], info)  # 1.0 x 1.0 x 3.0 mm
    pp = preprocess_case(image, plan, label)
    assert pp.spacing == plan.target_spacing
    assert pp.array.shape == (1, *compute_new_shape(image.shape, image.spacing,
                                                    plan.target_spacing))
    assert pp.label.shape == pp.array.shape[1:]
    assert pp.grid.origin == pp.cropped.origin
    restored = restore_to_original(pp.label, pp)
    _same_grid(restored, image)
    assert restored.array.dtype == np.uint8
    assert dice(restored.array, label.array) > 0.95
    # probabilities: two channels, background first
    probs = np.stack([pp.label == 0, pp.label == 1]).astype(np.float32)
    back = restore_to_original(probs, pp)
    _same_grid(back, image)
    assert back.array.shape == (2, *image.shape) and back.array.dtype == np.float32
    np.testing.assert_allclose(back.array.sum(axis=0), 1.0, atol=1e-5)
    assert dice(back.array.argmax(axis=0), label.array) > 0.95
    json.dumps(pp.properties())


def test_mr_case_cropped_normalised_and_pasted_back(mr_planned):
    info, plan = mr_planned
    assert all(n.use_nonzero_mask for n in plan.normalization)
    for case in info.cases:
        image, label = load_case(case, info)
        pp = preprocess_case(image, plan, label)
        assert not pp.crop.is_full and pp.array.shape[0] == 2
        assert pp.spacing == plan.target_spacing
        restored = restore_to_original(pp.label.astype(bool), pp)
        _same_grid(restored, image)
        assert dice(restored.array, label.array) > 0.95
        assert not restored.array[: pp.crop.start[0]].any()  # outside the crop: background
        probs = restore_to_original(pp.array[:1], pp)  # any float map, one channel
        assert probs.array.shape == (1, *image.shape)
        assert np.all(probs.array[0, : pp.crop.start[0]] == 0)


def test_bad_inputs(ct_planned):
    info, plan = ct_planned
    image, label = load_case(info.cases[0], info)
    two = image.with_array(np.concatenate([image.array, image.array]), channel_names=None)
    with pytest.raises(InputError, match=r"2 channel.*expects 1"):
        preprocess_case(two, plan)
    moved = Volume(label.array, label.spacing, (0.0, 0.0, 99.0), source="lab.nii.gz")
    with pytest.raises(GeometryMismatchError, match=r"lab\.nii\.gz"):
        preprocess_case(image, plan, moved)
    pp = preprocess_case(image, plan)
    assert pp.label is None
    with pytest.raises(ValueError, match="not on the preprocessed grid"):
        restore_to_original(np.zeros((3, 3, 3), np.uint8), pp)

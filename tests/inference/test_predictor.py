"""Predictor: exact output grid, fold ensemble, fast mode, channel checks, bad model folders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tumorseg.errors import InputError
from tumorseg.inference import Predictor, PredictorConfig, parse_folds
from tumorseg.io import Volume


def _assert_same_grid_exactly(a: Volume, b: Volume) -> None:
    assert a.shape == b.shape
    assert a.spacing == b.spacing
    assert a.origin == b.origin
    assert np.array_equal(a.direction, b.direction)


@pytest.fixture(scope="module")
def fast_predictor(model_dir) -> Predictor:
    return Predictor.from_model_dir(model_dir, device="cpu", fast=True)


def test_outputs_on_the_exact_input_grid(fast_predictor, oblique_ct):
    pred = fast_predictor.predict_volume(oblique_ct)
    for vol in (pred.labels, pred.probabilities, pred.uncertainty):
        _assert_same_grid_exactly(vol, oblique_ct)
    assert pred.labels.array.dtype == np.uint8
    assert pred.probabilities.array.shape == (2, *oblique_ct.shape)
    np.testing.assert_allclose(pred.probabilities.array.sum(0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pred.labels.array, pred.probabilities.array.argmax(0))
    assert 0.0 <= pred.uncertainty.array.min() and pred.uncertainty.array.max() <= 1.0
    assert set(pred.seconds) == {"preprocess", "network", "restore"}
    assert oblique_ct.array.dtype == np.int16  # input untouched


def test_reoriented_input_gives_the_same_labels(fast_predictor, oblique_ct):
    """The same voxels stored with flipped and permuted axes predict the same labels."""
    from tumorseg.io import reorient

    d = oblique_ct.direction
    flipped = reorient(oblique_ct, np.stack([-d[:, 1], d[:, 0], -d[:, 2]], axis=1))
    a = fast_predictor.predict_volume(oblique_ct)
    b = fast_predictor.predict_volume(flipped)
    _assert_same_grid_exactly(b.labels, flipped)
    back = reorient(b.probabilities, oblique_ct.direction)
    np.testing.assert_allclose(back.array, a.probabilities.array, atol=1e-5)


def test_fold_ensemble_is_the_mean_of_the_folds(model_dir, oblique_ct):
    both = Predictor.from_model_dir(model_dir, device="cpu", fast=True)
    assert both.folds == ("0", "1")
    singles = [Predictor.from_model_dir(model_dir, folds=f, device="cpu", fast=True)
               for f in (0, 1)]
    p = both.predict_volume(oblique_ct).probabilities.array
    each = [s.predict_volume(oblique_ct).probabilities.array for s in singles]
    np.testing.assert_allclose(p, (each[0] + each[1]) / 2, atol=1e-5)
    assert np.abs(each[0] - each[1]).max() > 1e-3  # the folds really differ


def test_default_is_eight_mirrors_and_fast_is_one(model_dir, fast_predictor):
    default = Predictor.from_model_dir(model_dir, folds="0", device="cpu")
    assert default.config.n_mirrors == 8 and fast_predictor.config.n_mirrors == 1
    info = default.describe()
    assert info["folds"] == ["0"] and info["test_time_mirroring"] is True
    assert len(info["weights_sha256"]["0"]) == 64
    assert info["ensemble_members_per_window"] == 8


def test_parse_folds():
    assert parse_folds(None, ["0", "1", "all"]) == ["0", "1"]
    assert parse_folds(None, ["all"]) == ["all"]
    assert parse_folds("all available", ["0", "all"]) == ["0", "all"]
    assert parse_folds("1, 0", ["0", "1"]) == ["1", "0"]
    with pytest.raises(InputError, match="fold 3"):
        parse_folds("3", ["0", "1"])
    with pytest.raises(InputError, match="no fold"):
        parse_folds(None, [])


def test_wrong_number_of_channels(fast_predictor, oblique_ct):
    two = oblique_ct.with_array(np.stack([oblique_ct.array] * 2), source="pet_ct.nii.gz")
    with pytest.raises(InputError, match=r"pet_ct\.nii\.gz: 2 channel\(s\), the model expects 1"):
        fast_predictor.predict_volume(two)


def test_bad_model_folders(tmp_path, model_dir):
    with pytest.raises(InputError, match="no such model folder"):
        Predictor.from_model_dir(tmp_path / "missing")
    broken = shutil.copytree(model_dir, tmp_path / "broken")
    (broken / "fold_0" / "weights.pt").write_bytes(b"not weights")
    with pytest.raises(InputError, match="SHA-256"):
        Predictor.from_model_dir(broken, folds="0")
    with pytest.raises(InputError, match="overlap"):
        PredictorConfig(overlap=1.0)

"""Per-case evaluation of label maps, and the config's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.metrics.shapes import SPACING, blob_pair
from tumorseg.errors import InputError
from tumorseg.metrics import (
    MetricsConfig,
    evaluate_binary,
    evaluate_labels,
    labels_present,
    surface_metrics,
)


def label_maps():
    """Reference with labels 1 and 2; prediction with 1, 2 and a spurious 3."""
    pred_mask, ref_mask = blob_pair(3)
    ref = ref_mask.astype(np.uint8)
    pred = pred_mask.astype(np.uint8)
    ref[:, :, 12:] *= 2
    pred[:, :, 11:] *= 2
    pred[0:2, 0:2, 0:2] = 3
    return pred, ref


def test_every_label_present_in_either_map_is_evaluated():
    pred, ref = label_maps()
    assert labels_present(pred, ref) == [1, 2, 3]
    results = evaluate_labels(pred, ref, SPACING)
    assert [m.label for m in results] == [1, 2, 3]
    for m in results[:2]:
        binary = evaluate_binary(pred == m.label, ref == m.label, SPACING, label=m.label)
        assert m == binary
    spurious = results[2]
    assert (spurious.overlap.dice, spurious.surface.hd95_mm, spurious.lesions.fp) == (
        0.0, math.inf, 1)


def test_fixed_labels_include_absent_ones_with_both_empty_values():
    pred, ref = label_maps()
    results = evaluate_labels(pred, ref, SPACING, MetricsConfig(labels=(2, 7)))
    assert [m.label for m in results] == [2, 7]
    absent = results[1]
    assert (absent.overlap.dice, absent.surface.hd95_mm, absent.surface.nsd) == (1.0, 0.0, 1.0)
    assert (absent.lesions.lesionwise_dice, absent.lesions.n_ref_lesions) == (1.0, 0)


def test_bool_masks_are_label_one_and_row_is_flat():
    pred, ref = blob_pair(1)
    (m,) = evaluate_labels(pred, ref, SPACING)
    assert m.label == 1
    row = m.as_row()
    assert row["label"] == 1 and row["dice"] == m.overlap.dice
    assert row["hd95_mm"] == surface_metrics(pred, ref, SPACING).hd95_mm
    assert row["lesionwise_dice"] == m.lesions.lesionwise_dice


def test_lesionwise_can_be_turned_off():
    pred, ref = blob_pair(1)
    m = evaluate_binary(pred, ref, SPACING, MetricsConfig(lesionwise=False))
    assert m.lesions is None and "lesion_tp" not in m.as_row()


def test_float_label_maps_must_hold_integers():
    pred, ref = label_maps()
    assert labels_present(pred.astype(np.float32), ref) == [1, 2, 3]
    with pytest.raises(ValueError, match="non-integer"):
        labels_present(pred * 0.5, ref)


@pytest.mark.parametrize("bad", [
    {"nsd_tolerance_mm": -1}, {"connectivity": 8}, {"size_bins_mm": (10, 5)},
    {"labels": (0,)}, {"min_lesion_size": -2}, {"match_dilation_iterations": -1},
    {"min_lesion_size_unit": "ml"}, {"match_dilation_connectivity": 4},
])
def test_config_rejects_bad_values(bad):
    with pytest.raises(InputError, match="invalid metrics settings"):
        MetricsConfig(**bad)


def test_config_to_dict_and_min_size_in_mm3():
    cfg = MetricsConfig(min_lesion_size=22.0, min_lesion_size_unit="mm3", labels=[1, 2])
    assert cfg.labels == (1, 2)
    assert cfg.min_lesion_voxels(SPACING) == pytest.approx(10.0)
    d = cfg.to_dict()
    assert d["labels"] == [1, 2] and d["size_bins_mm"][-1] == math.inf

"""Overlap metrics: hand-computed cases, edge conventions, and MONAI's Dice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from monai.metrics import compute_dice, compute_iou

from tests.metrics.shapes import SPACING, blob_pair, ellipsoid_pair, onehot
from tumorseg.metrics import dice, iou, overlap_metrics


def test_two_cubes_with_known_offset():
    ref = np.zeros((30, 30, 20), bool)
    ref[10:20, 10:20, 5:10] = True
    pred = np.roll(ref, 2, axis=0)  # 8 of 10 slabs overlap
    m = overlap_metrics(pred, ref, SPACING)
    voxel_ml = 0.8 * 1.1 * 2.5 / 1000
    assert (m.tp_voxels, m.fp_voxels, m.fn_voxels) == (400, 100, 100)
    assert m.dice == pytest.approx(0.8)
    assert m.iou == pytest.approx(400 / 600)
    assert m.precision == m.sensitivity == pytest.approx(0.8)
    assert m.fnr == m.fp_rate == pytest.approx(0.2)
    assert m.volume_ref_ml == m.volume_pred_ml == pytest.approx(500 * voxel_ml)
    assert m.abs_volume_diff_ml == 0 and m.rel_volume_diff == 0


def test_volume_difference_is_signed_and_in_ml():
    ref = np.zeros((10, 10, 10), bool)
    ref[2:6, 2:6, 2:6] = True  # 64 voxels
    pred = ref.copy()
    pred[2:6, 2:6, 6:8] = True  # 96 voxels
    m = overlap_metrics(pred, ref, (1.0, 1.0, 2.0))
    assert m.volume_pred_ml == pytest.approx(0.192) and m.volume_ref_ml == pytest.approx(0.128)
    assert m.abs_volume_diff_ml == pytest.approx(0.064)
    assert m.rel_volume_diff == pytest.approx(0.5)
    assert overlap_metrics(ref, pred, (1.0, 1.0, 2.0)).rel_volume_diff == pytest.approx(-1 / 3)


def test_both_empty():
    z = np.zeros((5, 5, 5), bool)
    m = overlap_metrics(z, z, SPACING)
    assert (m.dice, m.iou, m.precision, m.sensitivity) == (1.0, 1.0, 1.0, 1.0)
    assert (m.fnr, m.fp_rate, m.rel_volume_diff, m.volume_ref_ml) == (0.0, 0.0, 0.0, 0.0)
    assert dice(z, z) == 1.0 and iou(z, z) == 1.0


def test_reference_empty():
    z = np.zeros((5, 5, 5), bool)
    p = z.copy()
    p[1:3, 1:3, 1:3] = True
    m = overlap_metrics(p, z, SPACING)
    assert (m.dice, m.iou, m.precision, m.fp_rate) == (0.0, 0.0, 0.0, 1.0)
    assert math.isnan(m.sensitivity) and math.isnan(m.fnr)
    assert m.rel_volume_diff == math.inf


def test_prediction_empty():
    z = np.zeros((5, 5, 5), bool)
    r = z.copy()
    r[1:3, 1:3, 1:3] = True
    m = overlap_metrics(z, r, SPACING)
    assert (m.dice, m.iou, m.sensitivity, m.fnr, m.rel_volume_diff) == (0.0, 0.0, 0.0, 1.0, -1.0)
    assert math.isnan(m.precision) and math.isnan(m.fp_rate)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("make", [blob_pair, ellipsoid_pair])
def test_dice_and_iou_equal_monai(seed, make):
    pred, ref = make(seed)
    m = overlap_metrics(pred, ref, SPACING)
    p, r = onehot(pred), onehot(ref)
    assert m.dice == pytest.approx(compute_dice(p, r, include_background=False).item(), abs=1e-6)
    assert m.iou == pytest.approx(compute_iou(p, r, include_background=False).item(), abs=1e-6)
    assert dice(pred, ref) == m.dice


def test_label_values_count_as_foreground_and_shapes_must_match():
    a = np.zeros((4, 4, 4), np.uint8)
    a[1, 1, 1] = 3
    assert dice(a, a > 0) == 1.0
    with pytest.raises(ValueError, match="shape"):
        dice(a, a[:3])
    with pytest.raises(ValueError, match="spacing"):
        overlap_metrics(a, a, (1.0, -1.0, 1.0))

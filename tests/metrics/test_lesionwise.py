"""Lesion-wise metrics: hand-built spheres, matching rules, and an independent BraTS-style loop."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from monai.metrics import compute_hausdorff_distance
from scipy import ndimage as ndi

from tests.metrics.shapes import SPACING, onehot, sphere
from tumorseg.metrics import (
    MetricsConfig,
    equivalent_diameter_mm,
    hausdorff_distance,
    lesion_metrics,
    overlap_metrics,
)

SHAPE = (64, 64, 32)


def three_spheres():
    """Reference: spheres A, B, C. Prediction: A exact, B missed, C shifted, one FP sphere."""
    a = sphere(SHAPE, (14, 14, 10), 5)
    b = sphere(SHAPE, (48, 14, 10), 4)
    c = sphere(SHAPE, (30, 46, 18), 6)
    fp = sphere(SHAPE, (50, 50, 6), 3)
    c_pred = np.roll(c, 2, axis=0)
    return a | c_pred | fp, a | b | c, (a, b, c, c_pred, fp)


def test_three_spheres_one_missed_one_false_positive():
    pred, ref, (a, b, c, c_pred, fp) = three_spheres()
    m = lesion_metrics(pred, ref, SPACING)
    assert (m.n_ref_lesions, m.tp, m.fn, m.fp, m.tp_pred, m.n_pred_lesions) == (3, 2, 1, 1, 2, 3)
    assert m.sensitivity == pytest.approx(2 / 3) and m.precision == pytest.approx(2 / 3)
    dice_c = overlap_metrics(c_pred, c, SPACING).dice
    hd_c = hausdorff_distance(c_pred, c, SPACING)
    assert m.lesionwise_dice == pytest.approx((1.0 + 0.0 + dice_c) / 4)
    assert m.lesionwise_hd95_mm == pytest.approx((0.0 + 374 + hd_c + 374) / 4)

    refs = [r for r in m.lesions if r.kind == "reference"]
    fps = [r for r in m.lesions if r.kind == "false_positive"]
    by_size = {r.voxels: r for r in refs}
    ra, rb, rc = by_size[a.sum()], by_size[b.sum()], by_size[c.sum()]
    assert (ra.detected, ra.dice, ra.hd95_mm, ra.n_matched) == (True, 1.0, 0.0, 1)
    assert (rb.detected, rb.dice, rb.hd95_mm, rb.n_matched) == (False, 0.0, 374.0, 0)
    assert rc.dice == pytest.approx(dice_c) and rc.hd95_mm == pytest.approx(hd_c)
    voxel_mm3 = math.prod(SPACING)
    assert ra.volume_ml == pytest.approx(a.sum() * voxel_mm3 / 1000)
    assert ra.diameter_mm == pytest.approx((6 * a.sum() * voxel_mm3 / math.pi) ** (1 / 3))
    assert ra.centroid_ijk == pytest.approx((14, 14, 10))
    assert [r.lesion_id for r in refs] == [1, 2, 3]
    assert len(fps) == 1 and fps[0].voxels == fp.sum() and not fps[0].detected
    assert fps[0].centroid_ijk == pytest.approx((50, 50, 6))


def test_size_bins_report_sensitivity_per_diameter():
    pred, ref, _ = three_spheres()
    m = lesion_metrics(pred, ref, SPACING, MetricsConfig(size_bins_mm=(0, 15, 22, math.inf)))
    refs = {r.voxels: r for r in m.lesions if r.kind == "reference"}
    for r in refs.values():
        lo, hi = {"0-15mm": (0, 15), "15-22mm": (15, 22), "22-infmm": (22, math.inf)}[r.size_bin]
        assert lo <= r.diameter_mm < hi
    bins = {b.name: b for b in m.size_bins}
    assert sum(b.n_lesions for b in bins.values()) == 3
    for b in bins.values():
        in_bin = [r for r in refs.values() if r.size_bin == b.name]
        assert b.n_detected == sum(r.detected for r in in_bin)
        expected = b.n_detected / b.n_lesions if b.n_lesions else math.nan
        assert b.sensitivity == pytest.approx(expected, nan_ok=True)


def test_minimum_size_drops_small_reference_lesions_and_small_false_positives():
    pred, ref, (a, b, c, _, fp) = three_spheres()
    assert fp.sum() < b.sum() < a.sum() < c.sum()
    cfg = MetricsConfig(min_lesion_size=b.sum() + 1)  # B (missed) and the FP are too small
    m = lesion_metrics(pred, ref, SPACING, cfg)
    assert (m.n_ref_lesions, m.tp, m.fn, m.fp) == (2, 2, 0, 0)
    kept_fp = lesion_metrics(pred, ref, SPACING,
                             MetricsConfig(min_lesion_size=b.sum() + 1,
                                           ignore_small_predictions=False))
    assert (kept_fp.n_ref_lesions, kept_fp.fp) == (2, 1)
    in_mm3 = MetricsConfig(min_lesion_size=(b.sum() + 1) * math.prod(SPACING),
                           min_lesion_size_unit="mm3")
    assert lesion_metrics(pred, ref, SPACING, in_mm3) == m


def test_no_lesions_anywhere_is_perfect_and_only_false_positives_is_not():
    z = np.zeros((10, 10, 10), bool)
    m = lesion_metrics(z, z, SPACING)
    assert (m.n_ref_lesions, m.fp, m.sensitivity, m.precision) == (0, 0, 1.0, 1.0)
    assert (m.lesionwise_dice, m.lesionwise_hd95_mm) == (1.0, 0.0)
    p = z.copy()
    p[2:4, 2:4, 2:4] = True
    m = lesion_metrics(p, z, SPACING)
    assert (m.fp, m.precision, m.lesionwise_dice, m.lesionwise_hd95_mm) == (1, 0.0, 0.0, 374.0)
    assert math.isnan(m.sensitivity)
    m = lesion_metrics(z, p, SPACING)
    assert (m.fn, m.sensitivity, m.lesionwise_dice, m.lesionwise_hd95_mm) == (1, 0.0, 0.0, 374.0)
    assert math.isnan(m.precision)


def test_reference_components_merge_when_their_dilations_touch():
    ref = np.zeros((20, 10, 10), bool)
    ref[2:5, 3:6, 3:6] = True
    ref[7:10, 3:6, 3:6] = True  # two empty slices between: dilations touch → one lesion
    ref[14:17, 3:6, 3:6] = True  # four empty slices further: a lesion of its own
    m = lesion_metrics(ref, ref, SPACING)
    assert m.n_ref_lesions == 2 and sorted(r.voxels for r in m.lesions) == [27, 54]
    none = lesion_metrics(ref, ref, SPACING, MetricsConfig(match_dilation_iterations=0))
    assert none.n_ref_lesions == 3


def test_prediction_touching_only_the_dilation_detects_with_dice_zero():
    ref = np.zeros((12, 12, 12), bool)
    ref[4:7, 4:7, 4:7] = True
    pred = np.zeros_like(ref)
    pred[7:9, 4:7, 4:7] = True  # adjacent, no overlap
    m = lesion_metrics(pred, ref, SPACING)
    assert (m.tp, m.fp) == (1, 0) and m.lesions[0].dice == 0.0
    assert m.lesions[0].hd95_mm == pytest.approx(hausdorff_distance(pred, ref, SPACING))


def test_one_prediction_spanning_two_lesions_matches_both():
    ref = np.zeros((20, 8, 8), bool)
    ref[2:5, 2:5, 2:5] = True
    ref[12:15, 2:5, 2:5] = True
    pred = np.zeros_like(ref)
    pred[2:15, 2:5, 2:5] = True
    m = lesion_metrics(pred, ref, SPACING)
    assert (m.n_ref_lesions, m.tp, m.fp, m.tp_pred, m.precision) == (2, 2, 0, 1, 1.0)
    assert all(r.dice == pytest.approx(2 * 27 / (27 + 117)) for r in m.lesions)


@pytest.mark.parametrize(("connectivity", "n"), [(6, 3), (18, 2), (26, 1)])
def test_connectivity_decides_what_is_one_lesion(connectivity, n):
    pred = np.zeros((8, 8, 8), bool)
    pred[2, 2, 2] = pred[3, 3, 2] = True  # edge neighbours
    pred[4, 4, 3] = True  # corner neighbour of (3, 3, 2)
    ref = np.zeros_like(pred)
    m = lesion_metrics(pred, ref, SPACING, MetricsConfig(connectivity=connectivity))
    assert m.fp == n


def test_equivalent_diameter():
    assert equivalent_diameter_mm(4 / 3 * math.pi * 5**3) == pytest.approx(10.0)


# --------------------------------------------------------------- independent reference


def _brats_style(pred, ref, spacing, dil_struct, iterations, penalty=374.0):
    """A direct, unoptimised transcription of the BraTS 2023 loop (whole arrays, scipy)."""
    full = ndi.generate_binary_structure(3, 3)
    pred_cc, n_pred = ndi.label(pred, full)
    dilated = ndi.binary_dilation(ref, structure=dil_struct, iterations=iterations)
    dil_cc, n_dil = ndi.label(dilated, full)
    combined = np.where(ref, dil_cc, 0)
    tp_comps, dices, hds, detected = set(), [], [], 0
    for g in range(1, n_dil + 1):
        lesion = combined == g
        region = ndi.binary_dilation(lesion, structure=dil_struct, iterations=iterations)
        hits = set(np.unique(pred_cc[region]).tolist()) - {0}
        tp_comps |= hits
        found = np.isin(pred_cc, list(hits))
        dices.append(2 * np.sum(found & lesion) / (found.sum() + lesion.sum()))
        if hits:
            detected += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hds.append(compute_hausdorff_distance(onehot(found), onehot(lesion),
                                                      percentile=95, spacing=spacing).item())
        else:
            hds.append(penalty)
    n_fp = n_pred - len(tp_comps)
    denom = n_dil + n_fp
    return {
        "n_ref": n_dil, "tp": detected, "fp": n_fp,
        "dice": sum(dices) / denom if denom else 1.0,
        "hd95": (sum(hds) + n_fp * penalty) / denom if denom else 0.0,
    }


def _many_lesions(seed):
    rng = np.random.default_rng(seed)
    shape = (56, 48, 28)
    ref = ndi.gaussian_filter(rng.normal(size=shape), 1.6) > 0.17
    pred = ref.copy()
    labels, n = ndi.label(ref, np.ones((3, 3, 3)))
    for lab in range(1, n + 1):  # perturb each lesion differently
        action = rng.integers(0, 4)
        lesion = labels == lab
        if action == 0:
            pred[lesion] = False  # missed
        elif action == 1:
            pred |= ndi.binary_dilation(lesion)
        elif action == 2:
            pred[lesion & ~ndi.binary_erosion(lesion)] = False
    pred |= ndi.gaussian_filter(rng.normal(size=shape), 1.2) > 0.40  # false positives
    return pred, ref


@pytest.mark.parametrize(("seed", "conn", "iters"), [
    (0, 26, 1), (1, 26, 1), (2, 26, 1), (0, 18, 1), (1, 18, 3), (2, 6, 2)])
def test_equals_an_independent_brats_style_implementation(seed, conn, iters):
    pred, ref = _many_lesions(seed)
    struct = ndi.generate_binary_structure(3, {26: 3, 18: 2, 6: 1}[conn])
    expected = _brats_style(pred, ref, SPACING, struct, iters)
    cfg = MetricsConfig(match_dilation_connectivity=conn, match_dilation_iterations=iters)
    m = lesion_metrics(pred, ref, SPACING, cfg)
    assert expected["n_ref"] > 3 and expected["fp"] > 0
    assert (m.n_ref_lesions, m.tp, m.fp) == (expected["n_ref"], expected["tp"], expected["fp"])
    assert m.lesionwise_dice == pytest.approx(expected["dice"], abs=1e-9)
    assert m.lesionwise_hd95_mm == pytest.approx(expected["hd95"], abs=1e-4)


def test_centroids_index_the_whole_image_after_cropping():
    """evaluate_labels and evaluate_binary crop to the foreground; the lesion centroids they
    report are still indices of the whole array (checked against scipy)."""
    from scipy import ndimage as ndi

    from tumorseg.metrics import evaluate_labels

    ref = np.zeros((60, 50, 40), np.uint8)
    ref[40:46, 30:35, 20:24] = 1
    ref[10:13, 5:9, 30:33] = 1
    pred = ref.copy()
    pred[50:53, 40:43, 5:8] = 1  # a false positive
    (m,) = evaluate_labels(pred, ref, (1.0, 1.0, 2.0))
    labels, n = ndi.label(pred > 0)
    truth = sorted(tuple(round(v, 6) for v in ndi.center_of_mass(labels == i))
                   for i in range(1, n + 1))
    got = sorted(tuple(round(v, 6) for v in r.centroid_ijk) for r in m.lesions.lesions)
    assert got == truth


def test_both_empty_case_is_a_true_negative_not_dropped():
    from tumorseg.metrics import evaluate_labels

    empty = np.zeros((8, 8, 8), np.uint8)
    (m,) = evaluate_labels(empty, empty, (1.0, 1.0, 1.0))
    assert m.label == 1 and m.overlap.dice == 1.0 and m.surface.hd95_mm == 0.0

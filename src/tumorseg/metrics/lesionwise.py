"""Lesion-wise detection and segmentation metrics, after the BraTS 2023 lesion-wise evaluation.

Procedure (one binary prediction against one binary reference):

1. **Reference lesions.** The reference is dilated by ``match_dilation_iterations`` voxels
   (structuring element ``match_dilation_connectivity``; default one voxel with the 3×3×3
   cube). Each connected component of the dilated reference (``connectivity``) is one
   reference lesion: the reference voxels inside it. So reference components closer than
   about two dilation radii merge into one lesion, as in BraTS 2023.
2. **Predicted lesions** are the connected components of the prediction (``connectivity``).
3. **Matching by overlap.** A predicted component matches every reference lesion whose
   *dilated* region it touches (one component may match several lesions). A reference lesion
   is detected (TP) when at least one component matches it, else missed (FN). A component
   that matches no reference lesion is a false positive (FP).
4. **Per reference lesion**: Dice and HD95 (mm, :mod:`.surface` definition) of the lesion
   against the union of its matched components; a missed lesion gets Dice 0 and
   HD95 = ``missed_lesion_hd95_mm`` (374 mm, as BraTS).
5. **Lesion-wise Dice** = Σ lesion Dice / (n_ref + n_fp); **lesion-wise HD95** =
   (Σ lesion HD95 + n_fp · penalty) / (n_ref + n_fp). With no reference lesion and no FP
   they are 1 and 0 (BraTS' convention).
6. **Small lesions.** Reference lesions with fewer than ``min_lesion_size`` voxels (or mm³)
   are dropped: not counted, no Dice entry; components matching only dropped lesions are
   neither TP nor FP (as BraTS, which drops reference lesions of ≤ 50 voxels). With
   ``ignore_small_predictions`` (default) an unmatched component below the minimum is not an
   FP either; BraTS counts it (set ``ignore_small_predictions=False`` to do the same).

Counts and rates: ``sensitivity`` = TP / n_ref (1 when there is nothing to find and nothing
was predicted, NaN when nothing was to be found but there are FPs); ``precision`` =
matched components / (matched components + FP) (1 when nothing was predicted and nothing was
to be found, NaN when lesions were missed with no prediction at all); false positives per
case = ``fp``.

Differences from the BraTS 2023 code: BraTS dilates with the 18-neighbour element
(``generate_binary_structure(3, 2)``; set ``match_dilation_connectivity=18``), uses 1
(MEN, MET) or 3 (GLI, SSA, PED) iterations, drops lesions of *at most* (not below) the
threshold, and computes HD95 on DeepMind surfels instead of border voxels.

Size bins: each reference lesion's equivalent-sphere diameter (6V/π)^(1/3) in mm falls into
a half-open bin of ``size_bins_mm``; per bin the function reports the lesion sensitivity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage as ndi

from tumorseg.metrics.config import MetricsConfig
from tumorseg.metrics.masks import Box, check_pair, check_spacing, dilate, union_box
from tumorseg.metrics.sizes import equivalent_diameter_mm, size_bin_index, size_bin_labels
from tumorseg.metrics.surface import surface_distances

__all__ = ["LesionRecord", "LesionwiseMetrics", "SizeBinSensitivity", "lesion_metrics"]


@dataclass(frozen=True)
class LesionRecord:
    """One reference lesion, or one false-positive predicted component.

    Attributes:
        kind: ``"reference"`` or ``"false_positive"``.
        lesion_id: 1, 2, … within its kind, in connected-component labelling order.
        voxels: size in voxels.
        volume_ml: volume in mL.
        diameter_mm: equivalent-sphere diameter in mm.
        size_bin: name of its size bin (``""`` when outside every bin).
        detected: a reference lesion matched by a predicted component (False for an FP).
        dice: Dice against the matched components (0 when missed; 0 for an FP).
        hd95_mm: HD95 in mm against the matched components (the penalty when missed or FP).
        n_matched: number of predicted components matched to it (0 for an FP).
        centroid_ijk: centre of mass in voxel indices (i, j, k) of the whole array.
    """

    kind: str
    lesion_id: int
    voxels: int
    volume_ml: float
    diameter_mm: float
    size_bin: str
    detected: bool
    dice: float
    hd95_mm: float
    n_matched: int
    centroid_ijk: tuple[float, float, float]


@dataclass(frozen=True)
class SizeBinSensitivity:
    """Lesion detection in one size bin ``[lower_mm, upper_mm)`` of equivalent diameter."""

    name: str
    lower_mm: float
    upper_mm: float
    n_lesions: int
    n_detected: int
    sensitivity: float  # NaN when the bin holds no lesion


@dataclass(frozen=True)
class LesionwiseMetrics:
    """Lesion-wise result of one case and label (see the module docstring).

    Attributes:
        n_ref_lesions: reference lesions kept (after the size filter).
        n_pred_lesions: predicted components counted (matched + false positive).
        tp: detected reference lesions.
        fn: missed reference lesions.
        fp: false-positive components (the false positives per case).
        tp_pred: predicted components matched to a kept reference lesion.
        sensitivity: tp / n_ref_lesions.
        precision: tp_pred / (tp_pred + fp).
        lesionwise_dice: BraTS lesion-wise Dice (unitless).
        lesionwise_hd95_mm: BraTS lesion-wise HD95 in mm.
        lesions: one record per reference lesion, then one per false positive.
        size_bins: lesion sensitivity per size bin.
    """

    n_ref_lesions: int
    n_pred_lesions: int
    tp: int
    fn: int
    fp: int
    tp_pred: int
    sensitivity: float
    precision: float
    lesionwise_dice: float
    lesionwise_hd95_mm: float
    lesions: tuple[LesionRecord, ...]
    size_bins: tuple[SizeBinSensitivity, ...]


def _grow(boxes: Sequence[Box], margin: int, shape: tuple[int, ...]) -> Box:
    return tuple(
        slice(max(min(b[a].start for b in boxes) - margin, 0),
              min(max(b[a].stop for b in boxes) + margin, shape[a]))
        for a in range(len(shape))
    )


def _centroid(mask: np.ndarray, origin: np.ndarray) -> tuple[float, float, float]:
    c = np.argwhere(mask).mean(axis=0) + origin
    return (float(c[0]), float(c[1]), float(c[2]))


def _size_fields(voxels: int, voxel_mm3: float, edges: Sequence[float]) -> tuple[float, float, str]:
    names = size_bin_labels(edges)
    diameter = equivalent_diameter_mm(voxels * voxel_mm3)
    n = size_bin_index(diameter, edges)
    return voxels * voxel_mm3 / 1000.0, diameter, "" if n is None else names[n]


def _bins(
    records: Sequence[LesionRecord], edges: Sequence[float]
) -> tuple[SizeBinSensitivity, ...]:
    out = []
    for n, name in enumerate(size_bin_labels(edges)):
        in_bin = [r for r in records if r.size_bin == name]
        hits = sum(r.detected for r in in_bin)
        out.append(SizeBinSensitivity(name, edges[n], edges[n + 1], len(in_bin), hits,
                                      hits / len(in_bin) if in_bin else math.nan))
    return tuple(out)


def _summarise(refs: list[LesionRecord], fps: list[LesionRecord], tp_pred: int,
               config: MetricsConfig) -> LesionwiseMetrics:
    n_ref, n_fp = len(refs), len(fps)
    tp = sum(r.detected for r in refs)
    denom = n_ref + n_fp
    if n_ref:
        sensitivity = tp / n_ref
    else:
        sensitivity = 1.0 if n_fp == 0 else math.nan
    if tp_pred + n_fp:
        precision = tp_pred / (tp_pred + n_fp)
    else:
        precision = 1.0 if n_ref == 0 else math.nan
    hd_sum = sum(r.hd95_mm for r in refs) + n_fp * config.missed_lesion_hd95_mm
    return LesionwiseMetrics(
        n_ref_lesions=n_ref,
        n_pred_lesions=tp_pred + n_fp,
        tp=tp,
        fn=n_ref - tp,
        fp=n_fp,
        tp_pred=tp_pred,
        sensitivity=sensitivity,
        precision=precision,
        lesionwise_dice=sum(r.dice for r in refs) / denom if denom else 1.0,
        lesionwise_hd95_mm=hd_sum / denom if denom else 0.0,
        lesions=tuple(refs + fps),
        size_bins=_bins(refs, config.size_bins_mm),
    )


def lesion_metrics(
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float],
    config: MetricsConfig | None = None,
    index_offset: Sequence[int] = (0, 0, 0),
) -> LesionwiseMetrics:
    """Lesion-wise counts, sensitivity, precision, Dice and HD95 of ``pred`` vs ``ref``.

    Args:
        pred: predicted 3D mask ``[i, j, k]`` (non-zero = foreground).
        ref: reference mask of the same shape.
        spacing: voxel size in mm along i, j, k.
        config: connectivity, matching dilation, minimum size, size bins and HD95 penalty
            (defaults of :class:`MetricsConfig` when ``None``).
        index_offset: where ``pred[0, 0, 0]`` lies in the whole image, when the masks are a
            crop of it (added to every centroid, so centroids index the whole image).

    Returns:
        A :class:`LesionwiseMetrics` with a :class:`LesionRecord` per lesion.
    """
    pred, ref = check_pair(pred, ref)
    spacing = check_spacing(spacing)
    config = config or MetricsConfig()
    iters = config.match_dilation_iterations
    box = union_box([pred, ref], margin=iters + 1)
    if box is None:
        return _summarise([], [], 0, config)
    origin = np.array([s.start for s in box]) + np.asarray(index_offset, dtype=int)
    p = np.ascontiguousarray(pred[box])
    r = np.ascontiguousarray(ref[box])
    conn = config.connectivity
    dilated = dilate(r, config.match_dilation_connectivity, iters)
    groups, n_groups = cc3d.connected_components(dilated, connectivity=conn, return_N=True,
                                                 binary_image=True)
    comps, n_comps = cc3d.connected_components(p, connectivity=conn, return_N=True,
                                               binary_image=True)
    ref_size = np.bincount(groups[r], minlength=n_groups + 1)
    pred_size = np.bincount(comps[p], minlength=n_comps + 1)
    touch = dilated & p
    del dilated
    keys = np.unique(groups[touch].astype(np.int64) * (n_comps + 1) + comps[touch])
    pairs = list(zip((keys // (n_comps + 1)).tolist(), (keys % (n_comps + 1)).tolist(),
                     strict=True))

    min_vox = config.min_lesion_voxels(spacing)
    kept = [g for g in range(1, n_groups + 1) if ref_size[g] >= min_vox]
    kept_set = set(kept)
    matched: dict[int, list[int]] = {g: [] for g in kept}
    touching_any: set[int] = set()
    for g, c in pairs:
        touching_any.add(c)
        if g in kept_set:
            matched[g].append(c)
    tp_comps = {c for cs in matched.values() for c in cs}

    voxel_mm3 = math.prod(spacing)
    edges = config.size_bins_mm
    group_boxes = ndi.find_objects(groups)
    comp_boxes = ndi.find_objects(comps)
    refs: list[LesionRecord] = []
    for lesion_id, g in enumerate(kept, start=1):
        cs = matched[g]
        lb = _grow([group_boxes[g - 1], *(comp_boxes[c - 1] for c in cs)], 1, r.shape)
        lesion = (groups[lb] == g) & r[lb]
        volume_ml, diameter, bin_name = _size_fields(int(ref_size[g]), voxel_mm3, edges)
        if cs:
            found = np.isin(comps[lb], cs)
            inter = int(np.count_nonzero(lesion & found))
            dice = 2.0 * inter / (int(ref_size[g]) + int(np.count_nonzero(found)))
            hd95 = surface_distances(found, lesion, spacing).hausdorff(95.0)
        else:
            dice, hd95 = 0.0, config.missed_lesion_hd95_mm
        refs.append(LesionRecord(
            "reference", lesion_id, int(ref_size[g]), volume_ml, diameter, bin_name,
            bool(cs), dice, hd95, len(cs), _centroid(lesion, origin + [s.start for s in lb])))

    fps: list[LesionRecord] = []
    for c in range(1, n_comps + 1):
        if c in touching_any or (config.ignore_small_predictions and pred_size[c] < min_vox):
            continue
        cb = comp_boxes[c - 1]
        volume_ml, diameter, bin_name = _size_fields(int(pred_size[c]), voxel_mm3, edges)
        fps.append(LesionRecord(
            "false_positive", len(fps) + 1, int(pred_size[c]), volume_ml, diameter, bin_name,
            False, 0.0, config.missed_lesion_hd95_mm, 0,
            _centroid(comps[cb] == c, origin + [s.start for s in cb])))
    return _summarise(refs, fps, len(tp_comps), config)

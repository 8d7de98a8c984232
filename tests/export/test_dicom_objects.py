"""SEG and RTSTRUCT on a synthetic series: read back by independent readers, references,
names, colours, algorithm; dciodvfy clean; holes as even-odd contours."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from skimage.draw import polygon2mask

from tests.export.conftest import lesion_mask
from tests.export.readers import dciodvfy_errors, dice, rtutils_masks, seg_labels
from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.export import (
    load_reference,
    mask_segments,
    slice_contours,
    write_dicom_seg,
    write_rtstruct,
)


@pytest.fixture(scope="module")
def exported(ct_series, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported")
    ref = load_reference(ct_series)
    segments = mask_segments(lesion_mask(ref.volume.shape))
    seg = write_dicom_seg(ref, segments, out / "seg.dcm")
    rt = write_rtstruct(ref, segments, out / "rt.dcm")
    return ref, segments, seg, rt


def test_two_lesions_one_with_a_hole(exported):
    ref, segments, _, _ = exported
    assert [s.label for s in segments] == ["Lesion 1", "Lesion 2"]
    mask = lesion_mask(ref.volume.shape)
    assert sum(int(s.mask.sum()) for s in segments) == int(mask.sum())


def test_seg_reads_back_identical(exported):
    ref, segments, seg_path, _ = exported
    expected = np.zeros(ref.volume.shape, dtype=np.uint16)
    for s in segments:
        expected[s.mask] = s.number
    np.testing.assert_array_equal(seg_labels(seg_path, ref), expected)


def test_seg_references_names_colours_algorithm(exported):
    ref, segments, seg_path, _ = exported
    ds = pydicom.dcmread(seg_path)
    src = ref.first
    assert ds.Modality == "SEG" and ds.SegmentationType == "BINARY"
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    assert ds.FrameOfReferenceUID == src.FrameOfReferenceUID
    assert ds.PatientID == src.PatientID
    series = ds.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == src.SeriesInstanceUID
    assert {i.ReferencedSOPInstanceUID for i in series.ReferencedInstanceSequence} <= {
        d.SOPInstanceUID for d in ref.datasets}
    for item, s in zip(ds.SegmentSequence, segments, strict=True):
        assert item.SegmentLabel == s.label
        assert item.SegmentAlgorithmType == "AUTOMATIC"
        algo = item.SegmentationAlgorithmIdentificationSequence[0]
        assert algo.AlgorithmName == "tumorseg" and algo.AlgorithmVersion == __version__
        assert len(item.RecommendedDisplayCIELabValue) == 3
    frame_sources = {
        f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        for f in ds.PerFrameFunctionalGroupsSequence}
    touched = {ref.datasets[k].SOPInstanceUID
               for k in np.flatnonzero(lesion_mask(ref.volume.shape).any(axis=(0, 1)))}
    assert frame_sources == touched


def test_rtstruct_rasterised_by_rtutils(exported, ct_series):
    _, segments, _, rt_path = exported
    masks = rtutils_masks(rt_path, ct_series)
    assert sorted(masks) == sorted(s.label for s in segments)
    for s in segments:
        assert dice(masks[s.label], s.mask) >= 0.98
        np.testing.assert_array_equal(masks[s.label], s.mask)  # in fact voxel for voxel


def test_rtstruct_references_and_rois(exported):
    ref, segments, _, rt_path = exported
    ds = pydicom.dcmread(rt_path)
    src = ref.first
    assert ds.Modality == "RTSTRUCT" and ds.StudyInstanceUID == src.StudyInstanceUID
    for_item = ds.ReferencedFrameOfReferenceSequence[0]
    assert for_item.FrameOfReferenceUID == src.FrameOfReferenceUID
    series = for_item.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == src.SeriesInstanceUID
    assert [i.ReferencedSOPInstanceUID for i in series.ContourImageSequence] == [
        d.SOPInstanceUID for d in ref.datasets]
    for roi, contour, s in zip(ds.StructureSetROISequence, ds.ROIContourSequence, segments,
                               strict=True):
        assert roi.ROIName == s.label and roi.ROIGenerationAlgorithm == "AUTOMATIC"
        assert list(contour.ROIDisplayColor) == list(s.color)
        for c in contour.ContourSequence:
            assert c.ContourGeometricType == "CLOSED_PLANAR"
            pts = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
            k = [d.SOPInstanceUID for d in ref.datasets].index(
                c.ContourImageSequence[0].ReferencedSOPInstanceUID)
            # every point lies in the plane of the slice it references
            np.testing.assert_allclose(pts[:, 2], ref.volume.index_to_world([0, 0, k])[2],
                                       atol=1e-3)


@pytest.mark.parametrize("which", ["seg", "rt"])
def test_dciodvfy_no_errors(exported, which):
    _, _, seg_path, rt_path = exported
    assert dciodvfy_errors(seg_path if which == "seg" else rt_path) == []


def test_hole_is_a_separate_contour_even_odd():
    ring = np.zeros((12, 12), dtype=bool)
    ring[2:10, 2:10] = True
    ring[4:8, 4:8] = False
    ring[5, 5] = True  # an island inside the hole
    contours = slice_contours(ring)
    assert len(contours) == 3
    filled = np.zeros_like(ring)
    for c in contours:  # even-odd: XOR of the polygons, tested at voxel centres
        filled ^= polygon2mask(ring.shape, c)
    np.testing.assert_array_equal(filled, ring)


def test_tumor_mode_one_segment(ct_series, tmp_path):
    ref = load_reference(ct_series)
    segments = mask_segments(lesion_mask(ref.volume.shape), "tumor")
    assert [s.label for s in segments] == ["Tumor"]
    labels = mask_segments(lesion_mask(ref.volume.shape) * 3 - 0, "lesions")
    assert len(labels) == 2  # a single label value: still split into lesions
    instances = np.zeros(ref.volume.shape, np.uint16)
    instances[2:4, 2:4, 1:3], instances[8:10, 8:10, 1:3] = 2, 5  # lesions 2 and 5 of a map
    named = mask_segments(instances, "lesions")
    assert [(s.number, s.label) for s in named] == [(1, "Lesion 2"), (2, "Lesion 5")]
    semantic = mask_segments(instances, "labels")
    assert [(s.number, s.label) for s in semantic] == [(1, "Label 2"), (2, "Label 5")]
    assert (semantic[1].mask == (instances == 5)).all()


def test_empty_segments_refused(ct_series, tmp_path):
    ref = load_reference(ct_series)
    with pytest.raises(InputError, match="empty"):
        write_rtstruct(ref, [], tmp_path / "rt.dcm")
    assert not (tmp_path / "rt.dcm").exists()

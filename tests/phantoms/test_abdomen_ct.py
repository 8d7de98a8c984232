"""Synthetic abdominal CT phantom: determinism, labels, lesions, HU ranges, geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tumorseg.phantoms.abdomen_ct import (
    ABDOMEN_Z_CENTER,
    ORGAN_LABELS,
    SIZES,
    abdomen_ct_size,
    build_frame,
    make_abdomen_ct,
)
from tumorseg.phantoms.anatomy_abdomen import build_torso
from tumorseg.phantoms.anatomy_tissues import Tissue
from tumorseg.phantoms.dataset import PhantomCase

TINY = SIZES["tiny"]  # 96 × 96 × 48 at 4 × 4 × 5 mm


@pytest.fixture(scope="module")
def case1() -> PhantomCase:
    return make_abdomen_ct(1, shape=TINY[0], spacing=TINY[1], n_lesions=4,
                           phase="portal-venous")


@pytest.fixture(scope="module")
def case2() -> PhantomCase:
    return make_abdomen_ct(2, shape=TINY[0], spacing=TINY[1], n_lesions=5,
                           phase="non-contrast")


def _arrays(case: PhantomCase) -> list[np.ndarray]:
    return [case.channels[0].array, case.label.array, case.extras["organs"].array]


def test_same_seed_gives_identical_arrays(case1: PhantomCase) -> None:
    again = make_abdomen_ct(1, shape=TINY[0], spacing=TINY[1], n_lesions=4,
                            phase="portal-venous")
    for a, b in zip(_arrays(case1), _arrays(again), strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    assert again.info == case1.info


def test_different_seeds_differ(case1: PhantomCase, case2: PhantomCase) -> None:
    assert not np.array_equal(case1.channels[0].array, case2.channels[0].array)
    assert not np.array_equal(case1.extras["organs"].array, case2.extras["organs"].array)


def test_types_labels_and_geometry(case1: PhantomCase) -> None:
    ct, label, organs = case1.channels[0], case1.label, case1.extras["organs"]
    assert len(case1.channels) == 1
    assert ct.array.dtype == np.int16 and ct.modality == "CT"
    assert ct.array.min() >= -1024 and ct.array.max() <= 3071
    assert label.array.dtype == np.uint8 and label.modality == "SEG"
    assert set(np.unique(label.array)) <= {0, 1}
    assert set(np.unique(organs.array)) <= {0, *ORGAN_LABELS.values()}
    for v in (label, organs):
        assert v.shape == ct.shape == TINY[0]
        assert v.spacing == ct.spacing == TINY[1]
        assert v.origin == ct.origin
        assert np.array_equal(v.direction, ct.direction)
    assert np.array_equal(ct.direction, np.eye(3))
    centre = ct.index_to_world((np.array(ct.shape) - 1) / 2)
    assert np.allclose(centre, [0.0, 0.0, ABDOMEN_Z_CENTER - 300.0])


def test_anatomy_is_oriented_in_lps(case1: PhantomCase) -> None:
    organs = case1.extras["organs"].array
    ct = case1.channels[0]

    def centroid(value: int) -> np.ndarray:
        return ct.index_to_world(np.argwhere(organs == value).mean(0))

    liver, spleen = centroid(ORGAN_LABELS["liver"]), centroid(ORGAN_LABELS["spleen"])
    bone = centroid(ORGAN_LABELS["bone"])
    kid_r, kid_l = centroid(ORGAN_LABELS["kidney_right"]), centroid(ORGAN_LABELS["kidney_left"])
    pancreas = centroid(ORGAN_LABELS["pancreas"])
    assert liver[0] < 0 < spleen[0]  # liver on the patient's right (−x), spleen left
    assert kid_r[0] < 0 < kid_l[0]
    assert pancreas[1] < bone[1] and liver[1] < bone[1]  # spine posterior (+y)


def test_lesion_count_matches_info(case1: PhantomCase, case2: PhantomCase) -> None:
    for case, asked in ((case1, 4), (case2, 5)):
        lesions = case.info["lesions"]
        assert 1 <= len(lesions) <= asked
        _, n = ndimage.label(case.label.array)
        assert n == len(lesions)
        assert sum(les["voxels"] for les in lesions) == int(case.label.array.sum())
        comps, _ = ndimage.label(case.label.array)
        centres = [case.label.index_to_world(np.argwhere(comps == c).mean(0))
                   for c in range(1, n + 1)]
        for les in lesions:
            assert les["kind"] in ("hypo", "hyper", "cyst", "necrotic")
            assert 5.0 <= les["diameter_mm"] <= 60.0
            gap = min(np.linalg.norm(np.asarray(les["center_mm"]) - c) for c in centres)
            assert gap < 0.5  # centre_mm is the lesion's centroid (LPS mm)


def test_lesions_lie_in_their_organs(case1: PhantomCase, case2: PhantomCase) -> None:
    for case in (case1, case2):
        organs = case.extras["organs"].array
        comps, _ = ndimage.label(case.label.array)
        for les in case.info["lesions"]:
            assert les["organ"] in ("liver", "kidney_right", "kidney_left", "pancreas")
            if les["organ"] == "liver":
                assert les["inside_fraction"] >= 0.8
            else:
                assert les["inside_fraction"] >= 0.3
        for c in range(1, comps.max() + 1):
            values = np.unique(organs[comps == c])
            assert len(values) == 1 and values[0] != 0  # the organ label covers its lesion


def test_hu_ranges_are_plausible(case1: PhantomCase, case2: PhantomCase) -> None:
    for case in (case1, case2):
        ct = case.channels[0].array.astype(float)
        organs = case.extras["organs"].array
        lesion = case.label.array > 0
        liver = (organs == ORGAN_LABELS["liver"]) & ~lesion
        assert 40 <= np.median(ct[liver]) <= 120
        bone = organs == ORGAN_LABELS["bone"]
        assert np.percentile(ct[bone], 75) > 300
        assert np.median(ct[:4, :4, :]) < -900  # air in the corner of the field of view
        frame = build_frame(case.info["seed"], TINY[0], TINY[1], ABDOMEN_Z_CENTER)
        tissue = build_torso(frame, case.info["seed"]).tissue
        fat = tissue == Tissue.SUBCUT_FAT
        assert -150 <= np.median(ct[fat]) <= -50


def test_lesions_differ_from_their_organ(case1: PhantomCase, case2: PhantomCase) -> None:
    for case in (case1, case2):
        ct = case.channels[0].array.astype(float)
        organs = case.extras["organs"].array
        lesion = case.label.array > 0
        comps, n = ndimage.label(lesion)
        for c in range(1, n + 1):
            m = comps == c
            host = int(np.bincount(organs[m]).argmax())
            parenchyma = (organs == host) & ~lesion
            assert abs(ct[m].mean() - np.median(ct[parenchyma])) >= 15


def test_zero_lesions_and_bad_arguments() -> None:
    case = make_abdomen_ct(4, shape=(48, 48, 24), spacing=(8.0, 8.0, 10.0), n_lesions=0)
    assert not case.label.array.any()
    assert case.info["lesions"] == []
    with pytest.raises(ValueError, match="n_lesions"):
        make_abdomen_ct(4, shape=(48, 48, 24), spacing=(8.0, 8.0, 10.0), n_lesions=6)
    with pytest.raises(ValueError, match="size"):
        abdomen_ct_size("huge")


def test_small_field_of_view_shrinks_the_patient() -> None:
    case = make_abdomen_ct(5, shape=(40, 40, 16), n_lesions=1)  # 32 × 32 × 40 mm at 0.8 mm
    assert case.info["scale"] < 0.3
    ct = case.channels[0].array
    assert ct[0, 0, :].max() < -900  # the body fits inside the field of view
    assert (case.extras["organs"].array == ORGAN_LABELS["bone"]).any()

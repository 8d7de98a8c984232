"""Synthetic PET/CT phantom: determinism, channels on one grid, physiological SUV, lesions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tumorseg.phantoms.abdomen_ct import ORGAN_LABELS
from tumorseg.phantoms.dataset import PhantomCase
from tumorseg.phantoms.pet_ct import PET_SIZES, make_pet_ct

SMALL = PET_SIZES["small"]  # 96 × 96 × 80 at 4 × 4 × 6 mm


@pytest.fixture(scope="module")
def case1() -> PhantomCase:
    return make_pet_ct(1, shape=SMALL[0], spacing=SMALL[1], n_lesions=4)


def test_same_seed_identical_different_seed_differs(case1: PhantomCase) -> None:
    again = make_pet_ct(1, shape=SMALL[0], spacing=SMALL[1], n_lesions=4)
    for a, b in zip((*case1.channels, case1.label), (*again.channels, again.label),
                    strict=True):
        assert a.array.tobytes() == b.array.tobytes()
    other = make_pet_ct(2, shape=SMALL[0], spacing=SMALL[1], n_lesions=4)
    assert not np.array_equal(other.channels[1].array, case1.channels[1].array)


def test_channels_share_one_grid(case1: PhantomCase) -> None:
    ct, pet = case1.channels
    assert ct.modality == "CT" and ct.array.dtype == np.int16
    assert pet.modality == "PT" and pet.array.dtype == np.float32
    assert case1.info["channel_names"] == {"0": "CT", "1": "PET"}
    for v in (pet, case1.label, case1.extras["organs"]):
        assert v.same_grid(ct)
        assert v.shape == ct.shape == SMALL[0]


def test_physiological_uptake(case1: PhantomCase) -> None:
    ct, pet = (c.array for c in case1.channels)
    organs = case1.extras["organs"].array
    lesion = case1.label.array > 0
    assert pet.min() >= 0.0

    def mean(name: str) -> float:
        return float(pet[(organs == ORGAN_LABELS[name]) & ~lesion].mean())

    body = (ct > -500) & (organs == 0) & ~lesion
    background = float(np.median(pet[body]))
    liver = mean("liver")
    assert 0.2 < background < 1.2
    assert 1.6 < liver < 3.0
    assert mean("bladder") > liver > background
    assert mean("kidney_right") > liver and mean("kidney_left") > liver


def test_lesions_are_avid_and_counted(case1: PhantomCase) -> None:
    pet = case1.channels[1].array
    organs = case1.extras["organs"].array
    lesions = case1.info["lesions"]
    assert 1 <= len(lesions) <= 4
    comps, n = ndimage.label(case1.label.array)
    assert n == len(lesions)
    liver = float(pet[(organs == ORGAN_LABELS["liver"]) & (case1.label.array == 0)].mean())
    for c in range(1, n + 1):
        assert pet[comps == c].max() > liver
    for les in lesions:
        assert les["organ"] in ("liver", "lymph_node", "lung", "bone")
        assert 4.0 <= les["suv_max"] <= 20.0

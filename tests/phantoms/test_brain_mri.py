"""The synthetic brain MRI: sequence contrasts, BraTS labels, edema around the core, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tumorseg.phantoms.brain_mri import (
    CHANNELS,
    LABELS,
    TISSUE_LABELS,
    brain_tissue_map,
    make_brain_mri,
)
from tumorseg.phantoms.dataset import PhantomCase

SHAPE = (64, 80, 60)
SPACING = (2.5, 2.5, 2.5)
SEEDS = (0, 3)


@pytest.fixture(scope="module", params=SEEDS)
def case(request) -> PhantomCase:
    return make_brain_mri(request.param, shape=SHAPE, spacing=SPACING)


def test_channels(case: PhantomCase) -> None:
    assert len(case.channels) == 4 and case.info["channels"] == list(CHANNELS)
    for ch in case.channels:
        assert ch.array.dtype == np.float32 and ch.modality == "MR"
        assert ch.shape == SHAPE and ch.spacing == SPACING
        assert ch.array.min() >= 0.0
        assert ch.same_grid(case.label)
    brain = case.extras["brain"]
    assert brain.array.dtype == np.uint8 and brain.same_grid(case.label)
    assert np.all(brain.array[case.label.array > 0] == 1)


def test_contrasts(case: PhantomCase) -> None:
    tissue = brain_tissue_map(case.info["seed"], SHAPE, SPACING).array
    healthy = ndimage.binary_erosion(case.label.array == 0, iterations=2)

    def median(c: int, *names: str) -> float:
        m = np.isin(tissue, [TISSUE_LABELS[n] for n in names]) & healthy
        return float(np.median(case.channels[c].array[m]))

    t1, t1c, t2, flair = (CHANNELS.index(n) for n in ("T1", "T1c", "T2", "FLAIR"))
    for c in (t1, t1c):
        assert median(c, "wm") > median(c, "gm") > median(c, "csf", "ventricle")
    assert median(t2, "csf", "ventricle") > median(t2, "gm") > median(t2, "wm")
    assert median(flair, "gm") > median(flair, "wm") > median(flair, "ventricle")
    lab = case.label.array
    # enhancing tumor is bright on T1c, edema bright on FLAIR
    assert case.channels[t1c].array[lab == LABELS["ET"]].mean() > median(t1c, "wm")
    assert case.channels[flair].array[lab == LABELS["ED"]].mean() > median(flair, "gm")


def test_labels(case: PhantomCase) -> None:
    lab = case.label.array
    assert lab.dtype == np.uint8
    assert set(np.unique(lab)) <= {0, 1, 2, 3}
    assert (lab == LABELS["ET"]).any() and (lab == LABELS["ED"]).any()
    assert case.info["labels"] == {"background": 0, "NCR": 1, "ED": 2, "ET": 3}
    # the core (NCR ∪ ET) is wrapped in tumor or edema, not in healthy tissue
    core = (lab == LABELS["NCR"]) | (lab == LABELS["ET"])
    ring = ndimage.binary_dilation(core) & ~core
    assert (lab[ring] > 0).mean() > 0.6
    # the necrosis sits inside the enhancing rim
    ncr = lab == LABELS["NCR"]
    if ncr.any():
        assert not (ndimage.binary_dilation(ncr) & (lab == 0)).any()


def test_deterministic() -> None:
    from tumorseg.phantoms import brain_mri

    shape, spacing = (40, 48, 36), (4.0, 4.0, 4.0)
    a = make_brain_mri(5, shape=shape, spacing=spacing)
    brain_mri._scene.cache_clear()  # rebuild the anatomy from the seed
    b = make_brain_mri(5, shape=shape, spacing=spacing)
    for x, y in zip((*a.channels, a.label), (*b.channels, b.label), strict=True):
        np.testing.assert_array_equal(x.array, y.array)
    assert a.info == b.info
    c = make_brain_mri(6, shape=shape, spacing=spacing)
    assert not np.array_equal(a.label.array, c.label.array)

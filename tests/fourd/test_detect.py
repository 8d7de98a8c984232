"""The classical lung-tumor detector on a synthetic thorax: its blob filter prefers a ball to
a tube and a wall, it finds a nodule surrounded by lung — not a bigger soft-tissue mass
against the mediastinum, nor a thicker vessel crossing the lung — and fails with one clear
line."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.errors import InputError
from tumorseg.fourd.detect import blob_response, detect_lung_tumor, find_tumor_seed
from tumorseg.io import Volume


def _ball(shape, centre, radius_vox):
    g = np.indices(shape)
    return sum((g[a] - centre[a]) ** 2 for a in range(3)) <= radius_vox**2


def _thorax(with_nodule: bool = True, vessel: bool = False
            ) -> tuple[Volume, np.ndarray, np.ndarray]:
    """Body 40 HU, two air lungs −850 HU, a 16 mm nodule inside the right lung, and a bigger
    (24 mm) mass attached to the mediastinum in the left lung; with ``vessel``, a 20 mm thick
    vessel crossing the left lung from front to back; 2 mm voxels."""
    shape = (100, 80, 40)
    hu = np.full(shape, -1000.0, np.float32)
    body = np.zeros(shape, bool)
    body[5:95, 5:75, :] = True
    hu[body] = 40.0
    lungs = np.zeros(shape, bool)
    lungs[12:45, 15:65, 5:35] = True   # right lung (low i)
    lungs[55:88, 15:65, 5:35] = True   # left lung; mediastinum i = 45…54
    hu[lungs] = -850.0
    nodule = _ball(shape, (28, 40, 20), 4) if with_nodule else np.zeros(shape, bool)
    hu[nodule] = 30.0
    mass = _ball(shape, (58, 40, 20), 6) & lungs
    hu[mass] = 30.0
    if vessel:
        g = np.indices(shape)
        hu[((g[0] - 72) ** 2 + (g[2] - 20) ** 2 <= 25) & lungs] = 30.0
    rng = np.random.default_rng(0)
    hu += rng.normal(0, 10, shape).astype(np.float32)
    return Volume(hu, spacing=(2.0, 2.0, 2.0), modality="CT"), nodule, mass


def test_isolated_nodule_beats_a_bigger_mass_against_the_mediastinum():
    volume, nodule, mass = _thorax()
    found = detect_lung_tumor(volume)
    dice = 2 * (found & nodule).sum() / (found.sum() + nodule.sum())
    assert dice > 0.8
    assert not (found & mass).any()


def test_blob_filter_prefers_a_ball_to_a_tube_and_a_wall():
    shape = (40, 40, 40)
    g = np.indices(shape).astype(np.float32)
    ball = ((g - 20) ** 2).sum(0) <= 25
    tube = (g[0] - 20) ** 2 + (g[1] - 20) ** 2 <= 25
    wall = np.abs(g[0] - 20) <= 5
    where = np.ones(shape, bool)
    spacing = np.array([2.0, 2.0, 2.0])
    centre = (20, 20, 20)
    scores = {name: blob_response(np.where(m, 30.0, -850.0).astype(np.float32), spacing,
                                  6.0, where)[centre]
              for name, m in (("ball", ball), ("tube", tube), ("wall", wall))}
    assert scores["ball"] > 0
    # along a tube one eigenvalue is ≈ 0, across a wall two: not all negative
    assert scores["tube"] < 0.1 * scores["ball"] and scores["wall"] < 0.1 * scores["ball"]


def test_the_nodule_beats_a_thicker_vessel_crossing_the_lung():
    volume, nodule, _ = _thorax(vessel=True)
    seed = find_tumor_seed(volume)
    assert nodule[seed], seed
    found = detect_lung_tumor(volume)
    assert 2 * (found & nodule).sum() / (found.sum() + nodule.sum()) > 0.8


def test_no_lungs_is_one_clear_line():
    volume = Volume(np.full((30, 30, 20), 40.0, np.float32), spacing=(2.0, 2.0, 2.0),
                    source="water.nii.gz")
    with pytest.raises(InputError, match=r"water\.nii\.gz: no lungs found") as err:
        detect_lung_tumor(volume)
    assert "\n" not in str(err.value)

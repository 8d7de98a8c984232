"""The synthetic 4D lung CT: deterministic, exact labels and centroids, plausible motion and HU."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tumorseg.io import read_volume
from tumorseg.phantoms.lung_4dct import (
    Lung4DCase,
    make_lung_4dct,
    write_lung_4dct_case,
    write_lung_4dct_layout_json,
)
from tumorseg.phantoms.thorax_anatomy import ThoraxParams, build_thorax

SEED = 7
SHAPE = (64, 64, 40)
SPACING = (5.0, 5.0, 6.0)
N_PHASES = 4


@pytest.fixture(scope="module")
def case() -> Lung4DCase:
    return make_lung_4dct(SEED, n_phases=N_PHASES, shape=SHAPE, spacing=SPACING)


def test_same_seed_same_case(case: Lung4DCase) -> None:
    from tumorseg.phantoms import thorax_anatomy

    thorax_anatomy.planning_regions.cache_clear()  # recompute everything from the seed
    thorax_anatomy._lung_trees.cache_clear()
    again = make_lung_4dct(SEED, n_phases=N_PHASES, shape=SHAPE, spacing=SPACING)
    for a, b in zip(case.phases + case.gtv, again.phases + again.gtv, strict=True):
        np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_array_equal(case.centroids_mm, again.centroids_mm)
    assert case.info == again.info


def test_volumes_types_and_one_grid(case: Lung4DCase) -> None:
    assert case.n_phases == N_PHASES
    first = case.phases[0]
    assert first.shape == SHAPE and first.spacing == SPACING
    for v in case.phases:
        assert v.array.dtype == np.int16 and v.modality == "CT"
        assert v.array.min() >= -1024 and v.array.max() <= 3071
        assert v.same_grid(first)
        np.testing.assert_array_equal(v.direction, np.eye(3))
    for g in (*case.gtv, case.itv):
        assert g.array.dtype == np.uint8 and set(np.unique(g.array)) <= {0, 1}
        assert g.same_grid(first)
        assert g.array.any()


def test_itv_is_union_of_gtvs(case: Lung4DCase) -> None:
    union = np.logical_or.reduce([g.array > 0 for g in case.gtv])
    np.testing.assert_array_equal(case.itv.array > 0, union)


def test_centroids_are_label_centroids(case: Lung4DCase) -> None:
    for g, c in zip(case.gtv, case.centroids_mm, strict=True):
        idx = np.argwhere(g.array > 0).mean(axis=0)
        np.testing.assert_allclose(g.index_to_world(idx), c, atol=1e-9)
    np.testing.assert_allclose(case.amplitude_mm,
                               case.centroids_mm.max(0) - case.centroids_mm.min(0))


def test_motion_is_mostly_superior_inferior(case: Lung4DCase) -> None:
    ex = case.info["end_exhale_phase"]
    assert ex == N_PHASES // 2 and case.info["end_inhale_phase"] == 0
    d = case.centroids_mm[ex] - case.centroids_mm[0]
    assert d[2] > 0  # the tumor rises from end-inhale to end-exhale
    assert abs(d[2]) > 2 * max(abs(d[0]), abs(d[1]))
    # SI amplitude 5–20 mm; the label centroid on a 6 mm slice grid may deviate by half a slice
    tol = SPACING[2] / 2
    assert 5.0 - tol <= case.amplitude_mm[2] <= 20.0 + tol
    assert 5.0 <= case.info["motion"]["target_si_amplitude_mm"] <= 20.0


def test_hounsfield_units(case: Lung4DCase) -> None:
    ex = case.info["end_exhale_phase"]
    ref = build_thorax(SHAPE, SPACING, ThoraxParams.sample(SEED))
    lungs = ref.lobes > 0
    hu = case.phases[ex].array
    assert np.median(hu[lungs & (case.itv.array == 0)]) < -700
    for ct, g in zip(case.phases, case.gtv, strict=True):
        assert hu.dtype == np.int16
        assert ct.array[g.array > 0].mean() > -200


def test_files(case: Lung4DCase, tmp_path) -> None:
    folder = write_lung_4dct_case(case, tmp_path)
    assert folder == tmp_path / case.name
    names = sorted(p.name for p in folder.iterdir())
    expected = sorted([f"phase_{p:02d}.nii.gz" for p in range(N_PHASES)]
                      + [f"gtv_phase_{p:02d}.nii.gz" for p in range(N_PHASES)]
                      + ["itv.nii.gz", "motion.csv", "case.json"])
    assert names == expected
    with open(folder / "motion.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["phase", "x_mm", "y_mm", "z_mm"]
    for p, row in enumerate(rows[1:]):
        assert int(row[0]) == p
        gtv = read_volume(folder / f"gtv_phase_{p:02d}.nii.gz")
        centroid = gtv.index_to_world(np.argwhere(gtv.array > 0).mean(axis=0))
        np.testing.assert_allclose([float(v) for v in row[1:]], centroid, atol=1e-6)
    ct = read_volume(folder / "phase_00.nii.gz")
    np.testing.assert_array_equal(ct.array, case.phases[0].array)
    assert ct.same_grid(case.phases[0])
    info = json.loads((folder / "case.json").read_text())
    assert info["seed"] == SEED and info["end_exhale_phase"] == N_PHASES // 2
    doc = json.loads(write_lung_4dct_layout_json(tmp_path, [case.name], seed=1).read_text())
    assert doc["numCases"] == 1 and doc["labels"] == {"background": 0, "gtv": 1}
    assert doc["cases"][0]["phases"][0] == f"./{case.name}/phase_00.nii.gz"
    assert len(doc["cases"][0]["gtv"]) == N_PHASES


def test_tube_and_tree_primitives() -> None:
    from tumorseg.phantoms.primitives import branching_tree, mm_grid, tree_radii, tubes_occupancy

    spacing = (1.0, 1.0, 1.0)
    grid = mm_grid((60, 40, 40), spacing)
    a, b = np.array([[-20.0, 0.0, 0.0]]), np.array([[20.0, 0.0, 0.0]])
    thick = tubes_occupancy(grid, spacing, a, b, np.array([4.0]))
    expected = np.pi * 16 * 40 + 4 / 3 * np.pi * 64  # cylinder + two half-sphere caps
    assert abs(thick.sum() - expected) / expected < 0.03
    thin = tubes_occupancy(grid, spacing, a, b, np.array([0.3]))  # sub-voxel: splatted
    assert 0 < thin.max() < 1 and abs(thin.sum() - np.pi * 0.09 * 40) / (np.pi * 0.09 * 40) < 0.05
    rng = np.random.default_rng(0)
    att = rng.uniform(-50, 50, (400, 3))
    nodes, parents = branching_tree((0, 0, -60), (0, 0, 1), att, rng, step_mm=4.0,
                                    influence_mm=40.0, kill_mm=8.0)
    assert len(nodes) == len(parents) > 20
    assert parents[0] == -1 and np.all(parents[1:] < np.arange(1, len(parents)))
    r = tree_radii(parents, 0.5, 2.7)
    assert r[0] == r.max() and np.isclose(r.min(), 0.5)

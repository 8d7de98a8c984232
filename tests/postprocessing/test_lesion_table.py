"""The lesion table on analytic spheres, checked against an independent computation."""

from __future__ import annotations

import csv
import io
import itertools

import numpy as np
import pytest

from tests.conftest import oblique_direction
from tumorseg.io import Volume
from tumorseg.postprocessing import (
    LESION_COLUMNS,
    lesion_table,
    lesion_table_csv,
    write_lesion_table,
)

SPACING = (0.7, 0.9, 2.5)
SHAPE = (60, 50, 24)


def _grid_world(direction: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """LPS mm of every voxel centre, [i, j, k, 3] (computed by hand, not with Volume)."""
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij"), axis=-1)
    m = direction * np.asarray(SPACING)[None, :]
    return idx @ m.T + origin


@pytest.fixture(scope="module")
def spheres():
    direction = oblique_direction(3)
    origin = np.array([-40.0, 12.5, 300.0])
    world = _grid_world(direction, origin)
    centres = [world[15, 14, 8] + [1.1, -0.4, 0.3], world[40, 30, 14] + [-0.2, 0.5, 1.0]]
    radii = [6.0, 9.0]
    lab = np.zeros(SHAPE, np.uint8)
    for value, (c, r) in enumerate(zip(centres, radii, strict=True), start=1):
        lab[np.linalg.norm(world - c, axis=-1) <= r] = value
    lab[55, 45, 2] = 2  # a one-voxel lesion of label 2
    vol = Volume(lab, SPACING, origin, direction, modality="SEG")
    return vol, world, centres, radii


def test_volume_centroid_bbox_match_independent_computation(spheres):
    vol, world, centres, radii = spheres
    rows = lesion_table(vol, label_names={1: "liver lesion", 2: "kidney lesion"})
    assert [r.label for r in rows] == [1, 2, 2]
    assert [r.lesion_id for r in rows] == [1, 2, 3]
    assert rows[1].voxels > rows[2].voxels == 1  # within a label: largest first
    m = vol.direction * np.asarray(SPACING)[None, :]
    corners = np.array(list(itertools.product((-0.5, 0.5), repeat=3))) @ m.T
    for row, mask in ((rows[0], vol.array == 1),
                      (rows[1], (vol.array == 2) & (np.arange(SHAPE[2]) > 5)[None, None, :])):
        idx = np.argwhere(mask)
        pts = world[mask]
        assert row.voxels == len(idx)
        assert row.volume_ml == pytest.approx(len(idx) * np.prod(SPACING) / 1000)
        np.testing.assert_allclose(row.centroid_mm, pts.mean(axis=0), atol=1e-6)
        assert row.bbox_voxels == (tuple(idx.min(0)), tuple(idx.max(0)))
        cubes = (pts[:, None, :] + corners[None]).reshape(-1, 3)
        np.testing.assert_allclose([row.bbox_x0_mm, row.bbox_y0_mm, row.bbox_z0_mm],
                                   cubes.min(0), atol=1e-6)
        np.testing.assert_allclose([row.bbox_x1_mm, row.bbox_y1_mm, row.bbox_z1_mm],
                                   cubes.max(0), atol=1e-6)
    # against the analytic spheres: volume within 10 %, centre within half a voxel
    for row, c, r in zip(rows[:2], centres, radii, strict=True):
        assert row.volume_ml * 1000 == pytest.approx(4 / 3 * np.pi * r**3, rel=0.1)
        assert np.linalg.norm(row.centroid_mm - c) < 0.5 * min(SPACING)
    assert rows[2].label_name == "kidney lesion"
    np.testing.assert_allclose(rows[2].centroid_mm, world[55, 45, 2], atol=1e-9)
    assert rows[0].mean_probability is None and rows[0].mean_uncertainty is None


def test_mean_probability_and_uncertainty(spheres):
    vol = spheres[0]
    probs = np.zeros((3, *SHAPE), np.float32)
    probs[0] = 0.2
    probs[1] = 0.7
    probs[2] = 0.1
    unc = vol.with_array(np.where(vol.array == 1, 0.25, 0.75).astype(np.float32))
    rows = lesion_table(vol, vol.with_array(probs), unc)
    assert rows[0].mean_probability == pytest.approx(0.7)
    assert rows[1].mean_probability == pytest.approx(0.1)
    assert rows[0].mean_uncertainty == pytest.approx(0.25)
    assert rows[1].mean_uncertainty == pytest.approx(0.75)


def test_csv_written_atomically_with_header(spheres, tmp_path):
    vol = spheres[0]
    path = write_lesion_table(lesion_table(vol), tmp_path / "sub" / "case_lesions.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert tuple(rows[0]) == LESION_COLUMNS and len(rows) == 3
    assert rows[0]["mean_probability"] == ""
    assert [p.name for p in path.parent.iterdir()] == ["case_lesions.csv"]
    empty = lesion_table_csv(lesion_table(vol.with_array(np.zeros(SHAPE, np.uint8))))
    assert empty.strip() == ",".join(LESION_COLUMNS)

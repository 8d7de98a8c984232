"""The phantom registry, dataset writer and `tumorseg phantom` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tumorseg.cli.main import main
from tumorseg.errors import InputError
from tumorseg.io import read_volume
from tumorseg.phantoms import KINDS, case_seed, generate_dataset, make_case
from tumorseg.planning import read_dataset


def test_case_seeds_are_distinct_and_stable():
    seeds = {case_seed(0, k, s) for k in range(50) for s in ("Tr", "Ts")}
    assert len(seeds) == 100
    assert case_seed(3, 7, "Tr") == case_seed(3, 7, "Tr")


@pytest.mark.parametrize("kind", ["abdomen-ct", "pet-ct", "brain-mri"])
def test_msd_dataset_is_readable_by_the_planner(tmp_path, kind):
    out = generate_dataset(kind, tmp_path / kind, n_cases=1, n_test=1, seed=5, size="small")
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["numTraining"] == 1 and doc["numTest"] == 1
    assert doc["channel_names"] == KINDS[kind].channel_names
    info = read_dataset(out)
    assert info.num_channels == len(KINDS[kind].channel_names)
    case = info.cases[0]
    label = read_volume(case.label)
    for image_path in case.images:
        image = read_volume(image_path)
        assert image.same_grid(label)
    values = set(np.unique(label.array).tolist())
    assert values <= set(KINDS[kind].labels.values())


def test_dataset_matches_make_case(tmp_path):
    out = generate_dataset("abdomen-ct", tmp_path / "ds", n_cases=1, seed=11, size="small")
    case = make_case("abdomen-ct", case_seed(11, 0, "Tr"), "case_000", "small")
    written = read_volume(out / "imagesTr" / "case_000_0000.nii.gz")
    np.testing.assert_array_equal(written.array, case.channels[0].array)
    organs = read_volume(out / "organsTr" / "case_000.nii.gz")
    np.testing.assert_array_equal(organs.array, case.extras["organs"].array)


def test_lung_4dct_layout(tmp_path):
    generate_dataset("lung-4dct", tmp_path / "lung", n_cases=1, seed=2, size="small",
                     n_phases=3)
    case_dir = tmp_path / "lung" / "case_000"
    names = sorted(p.name for p in case_dir.iterdir())
    for y in range(3):
        assert f"phase_{y:02d}.nii.gz" in names and f"gtv_phase_{y:02d}.nii.gz" in names
    assert {"itv.nii.gz", "motion.csv"} <= set(names)


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="unknown phantom kind"):
        generate_dataset("liver-us", tmp_path / "x", 1)
    with pytest.raises(InputError, match="unknown size"):
        generate_dataset("abdomen-ct", tmp_path / "x", 1, size="huge")
    with pytest.raises(InputError, match="at least one case"):
        generate_dataset("abdomen-ct", tmp_path / "x", 0)
    assert not (tmp_path / "x").exists()


def test_phantom_command(tmp_path, capsys):
    out = tmp_path / "abd"
    assert main(["phantom", "--kind", "abdomen-ct", "--cases", "2", "--size", "small",
                 "--seed", "1", "--out", str(out)]) == 0
    assert "wrote 2 training" in capsys.readouterr().out
    assert len(list((out / "imagesTr").glob("*.nii.gz"))) == 2
    assert len(list((out / "labelsTr").glob("*.nii.gz"))) == 2


def test_parallel_workers_write_the_same_dataset(tmp_path):
    serial = generate_dataset("brain-mri", tmp_path / "serial", n_cases=2, n_test=1, seed=3,
                              size="small")
    parallel = generate_dataset("brain-mri", tmp_path / "parallel", n_cases=2, n_test=1,
                                seed=3, size="small", workers=2)
    assert json.loads((serial / "dataset.json").read_text()) == json.loads(
        (parallel / "dataset.json").read_text())
    files = sorted(p.relative_to(serial) for p in serial.rglob("*.nii.gz"))
    assert len(files) == 3 * (4 + 1 + 1)  # per case: 4 sequences, label, brain mask
    for rel in files:
        np.testing.assert_array_equal(read_volume(serial / rel).array,
                                      read_volume(parallel / rel).array)
    with pytest.raises(InputError, match="--workers 0"):
        generate_dataset("brain-mri", tmp_path / "x", 1, workers=0)

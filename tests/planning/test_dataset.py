"""Reading MSD v1 and nnU-Net v2 raw datasets; one-line errors naming the bad file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.planning.synthetic import ANISO_SPECS, CaseSpec, make_arrays, write_v2
from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume, write_volume
from tumorseg.planning import load_case, read_dataset


def test_v2_dataset_is_parsed(ct_dataset):
    info = read_dataset(ct_dataset)
    assert info.layout == "nnunet-v2"
    assert info.channel_names == ("CT",)
    assert info.labels == {"background": 0, "tumor": 1}
    assert [c.name for c in info.cases] == ["case_000", "case_001", "case_002"]
    assert [c.name for c in info.test_cases] == ["case_003"]
    case = info.cases[1]
    assert case.images == (ct_dataset / "imagesTr" / "case_001_0000.nii.gz",)
    assert case.label == ct_dataset / "labelsTr" / "case_001.nii.gz"
    image, label = load_case(case, info)
    assert image.array.shape == (1, 32, 30, 10) and image.channel_names == ("CT",)
    assert label.array.dtype == np.uint8 and label.shape == (32, 30, 10)
    np.testing.assert_allclose(image.spacing, (1.0, 1.0, 3.0))


def test_v2_two_channels(two_channel_dataset):
    info = read_dataset(two_channel_dataset)
    assert info.channel_names == ("PET", "CT") and info.num_channels == 2
    assert len(info.cases[0].images) == 2
    image, _ = load_case(info.cases[0], info)
    assert image.array.shape[0] == 2 and image.channel_names == ("PET", "CT")
    pet, ct = make_arrays(ANISO_SPECS[0], 0, ("PET", "CT"))[0]
    np.testing.assert_allclose(image.array[0], pet, rtol=1e-6)
    np.testing.assert_array_equal(image.array[1], ct)


def test_msd_v1_4d_dataset(msd_v1_dataset):
    info = read_dataset(msd_v1_dataset)
    assert info.layout == "msd-v1"
    assert info.channel_names == ("FLAIR", "T1w")
    assert info.labels == {"background": 0, "tumour": 1}
    assert [c.name for c in info.cases] == ["BRATS_000", "BRATS_001"]
    assert len(info.cases[0].images) == 1  # one 4D file holds both channels
    image, label = load_case(info.cases[0], info)
    assert image.array.shape == (2, 30, 28, 26)
    assert label.shape == (30, 28, 26)


def test_explicit_dataset_key(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2])
    doc = json.loads((root / "dataset.json").read_text())
    doc["dataset"] = {"only": {"images": ["imagesTr/case_001_0000.nii.gz"],
                               "label": "labelsTr/case_001.nii.gz"}}
    doc["numTraining"] = 1
    (root / "dataset.json").write_text(json.dumps(doc))
    info = read_dataset(root)
    assert [c.name for c in info.cases] == ["only"]


def test_missing_dataset_json(tmp_path):
    (tmp_path / "imagesTr").mkdir()
    with pytest.raises(InputError, match=r"dataset\.json: no dataset\.json"):
        read_dataset(tmp_path)


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(InputError, match="nowhere: no such dataset folder"):
        read_dataset(tmp_path / "nowhere")


def test_missing_label_file_is_named(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2])
    (root / "labelsTr" / "case_001.nii.gz").unlink()
    with pytest.raises(InputError, match=r"labelsTr/case_001\.nii\.gz: no such file"):
        read_dataset(root)


def test_missing_channel_file_is_named(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:1], ("PET", "CT"))
    (root / "imagesTr" / "case_000_0001.nii.gz").unlink()
    with pytest.raises(InputError, match=r"case_000_0001\.nii\.gz: no such file"):
        read_dataset(root)


def test_label_on_another_grid_is_named(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2])
    spec = ANISO_SPECS[1]
    bad = Volume(np.zeros(spec.shape, np.uint8), (1.0, 1.0, 2.0), spec.origin)
    write_volume(bad, root / "labelsTr" / "case_001.nii.gz")
    with pytest.raises(GeometryMismatchError, match=r"labelsTr/case_001\.nii\.gz: label grid"
                                                    r" differs .*spacing"):
        read_dataset(root)
    # skipping the header check, loading the case still refuses it, naming the label file
    info = read_dataset(root, check_files=False)
    with pytest.raises(InputError, match=r"case_001\.nii\.gz: grid differs"):
        load_case(info.cases[1], info)


def test_num_training_mismatch(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2])
    for p in root.glob("imagesTr/case_001*"):
        p.unlink()
    with pytest.raises(InputError, match="numTraining is 2 but 1"):
        read_dataset(root)


def test_unknown_label_value_is_named(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:1])
    spec = ANISO_SPECS[0]
    lab = np.zeros(spec.shape, np.uint8)
    lab[3, 3, 3] = 7
    write_volume(Volume(lab, spec.spacing, spec.origin), root / "labelsTr" / "case_000.nii.gz")
    info = read_dataset(root)
    with pytest.raises(InputError, match=r"case_000\.nii\.gz: label values \[7\]"):
        load_case(info.cases[0], info)


def test_bad_labels_in_json(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:1])
    doc = json.loads((root / "dataset.json").read_text())
    doc["labels"] = {"background": 0, "tumor": 2}
    (root / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="label values must be 0"):
        read_dataset(root)


def test_wrong_channel_count_in_4d_file(tmp_path, msd_v1_dataset):
    root = tmp_path / "v1"
    shutil.copytree(msd_v1_dataset, root)
    doc = json.loads((root / "dataset.json").read_text())
    doc["modality"] = {"0": "FLAIR", "1": "T1w", "2": "T2w"}
    (root / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"BRATS_000\.nii\.gz: 2 channel"):
        read_dataset(root)


def test_test_cases_without_labels(tmp_path):
    specs = [*ANISO_SPECS[:2], CaseSpec((20, 20, 8), (0.8, 0.8, 2.5))]
    root = write_v2(tmp_path / "ds", specs, n_test=1)
    shutil.rmtree(root / "labelsTs")
    info = read_dataset(root)
    assert info.test_cases[0].label is None
    image, label = load_case(info.test_cases[0], info)
    assert label is None and image.array.shape == (1, 20, 20, 8)

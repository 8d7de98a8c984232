"""Arguments that used to be accepted silently (found by a README walk-through) are refused
with one line naming the file or option, a non-zero exit, and nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tumorseg.cli.main import main
from tumorseg.io import read_volume, write_volume
from tumorseg.phantoms import generate_dataset


@pytest.fixture(scope="module")
def abdomen(tmp_path_factory):
    """Three small abdomen-ct phantoms (MSD layout)."""
    return generate_dataset("abdomen-ct", tmp_path_factory.mktemp("data") / "abdomen", 3,
                            seed=4, size="small")


@pytest.fixture(scope="module")
def lung(tmp_path_factory):
    """One small 4D CT phantom with 4 phases."""
    return generate_dataset("lung-4dct", tmp_path_factory.mktemp("data") / "lung", 1, seed=2,
                            size="small", n_phases=4) / "case_000"


def _one_line_error(capsys, argv: list[str], expected: str) -> str:
    capsys.readouterr()  # drop what earlier commands printed
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and expected in err, err
    return err


def test_phantom_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["phantom", "--out", str(out), "--cases", "2", "--size", "small"]) == 0
    _one_line_error(capsys, ["phantom", "--out", str(out), "--cases", "1", "--size", "small"],
                    "folder is not empty")
    assert len(list((out / "imagesTr").iterdir())) == 2  # untouched
    assert main(["phantom", "--out", str(out), "--cases", "1", "--size", "small",
                 "--overwrite"]) == 0
    assert [p.name for p in (out / "imagesTr").iterdir()] == ["case_000_0000.nii.gz"]
    assert json.loads((out / "dataset.json").read_text())["numTraining"] == 1


def test_phantom_overwrite_leaves_other_folders_alone(tmp_path, capsys):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    _one_line_error(capsys, ["phantom", "--out", str(other), "--cases", "1", "--size", "small",
                             "--overwrite"], "replaces only an earlier phantom dataset")
    assert (other / "notes.txt").read_text() == "keep me"


def test_phantom_phases_only_for_4d(tmp_path, capsys):
    _one_line_error(capsys, ["phantom", "--out", str(tmp_path / "x"), "--phases", "4",
                             "--size", "small"], "only the lung-4dct kind has phases")
    assert not (tmp_path / "x").exists()


def test_train_checks_the_fold_before_writing(abdomen, tmp_path, capsys):
    out = tmp_path / "model"
    _one_line_error(capsys, ["train", str(abdomen), "-o", str(out), "--fold", "7",
                             "--epochs", "1", "--device", "cpu"],
                    "fold 7 does not exist: the split has 3 folds")
    assert not out.exists()


@pytest.mark.parametrize("command, expected", [
    (["plan", "{data}", "-o", "{tmp}/plan.txt"], "plan.txt: --output writes the plan as JSON"),
    (["predict", "{data}/imagesTr/case_000_0000.nii.gz", "-o", "{tmp}/mask.txt", "--fast"],
     "mask.txt: not an image file name"),
    (["export", "{data}/labelsTr/case_000.nii.gz", "--reference", "{data}", "-o",
      "{tmp}/seg.nii.gz"], "seg.nii.gz: -o writes one DICOM SEG file; name it *.dcm"),
    (["segment", "{data}/imagesTr/case_000_0000.nii.gz", "--click", "5,5,5", "-o",
      "{tmp}/mask.txt"], "mask.txt: -o writes the instance mask"),
    (["evaluate", "{data}/labelsTr", "{data}/labelsTr", "-o", "{tmp}/metrics.csv"],
     "metrics.csv: -o takes a folder here, named without a file suffix such as .csv"),
    (["train", "{data}", "-o", "{tmp}/model.json", "--epochs", "1"],
     "model.json: -o takes a folder here"),
    (["itv", "{data}/imagesTr/case_000_0000.nii.gz", "-o", "{tmp}/itv.nii.gz"],
     "itv.nii.gz: -o takes a folder here"),
    (["convert", "{data}/imagesTr/case_000_0000.nii.gz", "-o", "{tmp}/ct.txt"],
     "ct.txt: not an image file name"),
])
def test_output_names_are_checked(abdomen, tmp_path, capsys, command, expected):
    argv = [a.format(data=abdomen, tmp=tmp_path) for a in command]
    _one_line_error(capsys, argv, expected)
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_an_image_as_prediction(abdomen, tmp_path, capsys):
    ct = abdomen / "imagesTr" / "case_000_0000.nii.gz"
    label = abdomen / "labelsTr" / "case_000.nii.gz"
    _one_line_error(capsys, ["evaluate", str(ct), str(label), "-o", str(tmp_path / "ev")],
                    "case_000_0000.nii.gz: negative voxel values (min -1024)")
    shifted = read_volume(ct)
    shifted = shifted.with_array((shifted.array.astype(np.int32) + 1024).astype(np.uint16))
    path = write_volume(shifted, tmp_path / "shifted.nii.gz")
    _one_line_error(capsys, ["evaluate", str(path), str(label), "-o", str(tmp_path / "ev")],
                    "distinct voxel values: not a label map")
    assert not (tmp_path / "ev").exists()
    # a label map with values beyond the limit but few distinct values is still accepted
    sparse = read_volume(label)
    sparse = sparse.with_array(sparse.array.astype(np.uint16) * 1000)
    path = write_volume(sparse, tmp_path / "sparse.nii.gz")
    assert main(["evaluate", str(path), str(path), "-o", str(tmp_path / "ev")]) == 0


def test_segment_refuses_contradicting_clicks(abdomen, tmp_path, capsys):
    image = abdomen / "imagesTr" / "case_000_0000.nii.gz"
    _one_line_error(capsys, ["segment", str(image), "--click", "30,40,20", "--negative",
                             "30,40,20", "-o", str(tmp_path / "m.nii.gz")],
                    "--click 30,40,20 and --negative 30,40,20: voxel (30, 40, 20) is given as "
                    "both")
    err = _one_line_error(capsys, ["segment", str(image), "--click", "30,40,200", "-o",
                                   str(tmp_path / "m.nii.gz")], "outside the image")
    assert "case_000_0000.nii.gz: --click 30,40,200 (voxel)" in err
    assert list(tmp_path.iterdir()) == []


def test_itv_click_on_air_or_outside(lung, tmp_path, capsys):
    phases = [str(p) for p in sorted(lung.glob("phase_*.nii.gz"))]
    out = tmp_path / "itv"
    _one_line_error(capsys, ["itv", *phases, "-o", str(out), "--click", "2,2,2"],
                    "is on air (-1024 HU < -400); click inside the tumor")
    err = _one_line_error(capsys, ["itv", *phases, "-o", str(out), "--click", "2,2,999"],
                          "--click 2,2,999 (voxel) maps to voxel (2, 2, 999), outside the image")
    assert "phase_0" in err.split(":")[1]  # names the reference phase's file
    assert not out.exists()


def test_an_image_given_as_a_label_is_refused(abdomen, lung, tmp_path, capsys):
    """evaluate-interactive (image and label swapped in the CSV) and itv --mask (a CT phase)
    refuse the image instead of running on thousands of "labels"."""
    csv_path = tmp_path / "swap.csv"
    csv_path.write_text(f"image,label\n{abdomen}/labelsTr/case_000.nii.gz,"
                        f"{abdomen}/imagesTr/case_000_0000.nii.gz\n")
    _one_line_error(capsys, ["evaluate-interactive", str(csv_path), "--clicks", "1", "-o",
                             str(tmp_path / "ei")],
                    "case_000_0000.nii.gz: negative voxel values (min -1024): not a label map")
    assert not (tmp_path / "ei").exists()
    phases = [str(p) for p in sorted(lung.glob("phase_*.nii.gz"))]
    _one_line_error(capsys, ["itv", *phases, "-o", str(tmp_path / "itv"), "--mask", phases[0],
                             "--reference-phase", "0"],
                    "phase_00.nii.gz: negative voxel values")
    assert not (tmp_path / "itv").exists()


def test_serve_data_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "ct.nii.gz"
    f.write_bytes(b"x")
    _one_line_error(capsys, ["serve", "--data", str(f)],
                    "ct.nii.gz: is a file; --data takes the folder of studies")


@pytest.mark.parametrize("uid", ["../../etc", "1.2.03", "1..2", "1." + "2" * 70])
def test_pull_refuses_what_is_no_uid_before_any_request(tmp_path, capsys, uid):
    # port 9 (discard): a request would fail differently; the UID check comes first
    _one_line_error(capsys, ["pull", "--dicomweb", "http://127.0.0.1:9/dicom-web", "--study",
                             uid, "-o", str(tmp_path / "o")], "not a DICOM UID")
    assert not (tmp_path / "o").exists()

"""Turning command-line inputs into cases: files, nnU-Net channel names, folders, CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tumorseg.errors import InputError
from tumorseg.inference import collect_cases, output_paths, read_case_csv


def _touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / n for n in names]
    for p in paths:
        p.write_bytes(b"")
    return paths


def test_single_files_and_channel_siblings(tmp_path):
    (a,) = _touch(tmp_path, "ct.nii.gz")
    assert [(c.case_id, c.paths) for c in collect_cases([a], 1)] == [("ct", (a,))]
    c0, c1 = _touch(tmp_path, "p1_0000.nii.gz", "p1_0001.nii.gz")
    (case,) = collect_cases([c0], 2)
    assert case.case_id == "p1" and case.paths == (c0, c1)
    assert collect_cases([c0], 1)[0].case_id == "p1"
    with pytest.raises(InputError, match="p1_0000"):
        collect_cases([c1], 2)


def test_several_files(tmp_path):
    a, b = _touch(tmp_path, "a.nii.gz", "b.nrrd")
    assert [c.case_id for c in collect_cases([a, b], 1)] == ["a", "b"]
    (case,) = collect_cases([a, b], 2)  # two channels of one case, in the given order
    assert case.paths == (a, b)
    with pytest.raises(InputError, match="cannot tell which channel"):
        collect_cases([a, b, *_touch(tmp_path, "c.nii.gz")], 2)


def test_folder_of_cases_nnunet_naming(tmp_path):
    _touch(tmp_path / "imagesTs", "x_0000.nii.gz", "x_0001.nii.gz", "y_0000.nii.gz",
           "y_0001.nii.gz", "notes.txt")
    cases = collect_cases([tmp_path / "imagesTs"], 2)
    assert [c.case_id for c in cases] == ["x", "y"]
    assert [p.name for p in cases[1].paths] == ["y_0000.nii.gz", "y_0001.nii.gz"]
    (tmp_path / "imagesTs" / "y_0001.nii.gz").unlink()
    with pytest.raises(InputError, match=r"y_0001\.nii\.gz: missing channel 1 of case y"):
        collect_cases([tmp_path / "imagesTs"], 2)
    x_files = sorted((tmp_path / "imagesTs").glob("x_*"))
    with pytest.raises(InputError, match=r"x_0002\.nii\.gz: missing channel 2 of case x"):
        collect_cases(x_files, 3)
    _touch(tmp_path / "imagesTs", "x_0002.nii.gz")
    with pytest.raises(InputError, match="channel 2 of case x, but the model expects 2"):
        collect_cases(sorted((tmp_path / "imagesTs").glob("x_*")), 2)


def test_dicom_folder_is_one_case(tmp_path):
    _touch(tmp_path / "series_7", "IM0001", "IM0002")
    (case,) = collect_cases([tmp_path / "series_7"], 1)
    assert case.case_id == "series_7" and case.paths == (tmp_path / "series_7",)


def test_csv(tmp_path):
    ct, pet = _touch(tmp_path / "scans", "p_ct.nii.gz", "p_pet.nii.gz")
    csv = tmp_path / "cases.csv"
    csv.write_text(f"case_id,CT,PET\n\npatient 1,scans/p_ct.nii.gz,{pet}\n", encoding="utf-8")
    (case,) = collect_cases([csv], 2)
    assert case.case_id == "patient 1" and case.paths == (ct, pet)
    with pytest.raises(InputError, match="2 channel column"):
        read_case_csv(csv, 3)
    csv.write_text("case_id,CT\na,scans/missing.nii.gz\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing\.nii\.gz: no such file"):
        collect_cases([csv], 1)
    csv.write_text("image,label\na,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="first column must be case_id"):
        collect_cases([csv], 1)
    csv.write_text("case_id,CT\na,scans/p_ct.nii.gz\na,scans/p_pet.nii.gz\n", encoding="utf-8")
    with pytest.raises(InputError, match="listed twice"):
        collect_cases([csv], 1)


def test_missing_input_and_duplicates(tmp_path):
    with pytest.raises(InputError, match=r"nope\.nii\.gz: no such file"):
        collect_cases([tmp_path / "nope.nii.gz"], 1)
    a = _touch(tmp_path / "one", "a.nii.gz")[0]
    b = _touch(tmp_path / "two", "a.nii.gz")[0]
    with pytest.raises(InputError, match="case id a occurs more than once"):
        collect_cases([a, b], 1)


def test_output_paths(tmp_path):
    a, b = _touch(tmp_path, "a.nii.gz", "b.nii.gz")
    cases = collect_cases([a, b], 1)
    paths, manifest = output_paths(cases, tmp_path / "out")
    assert paths["a"].mask == tmp_path / "out" / "a.nii.gz"
    assert paths["a"].lesions.name == "a_lesions.csv"
    assert paths["b"].probabilities.name == "b_probabilities.nii.gz"
    assert manifest == tmp_path / "out" / "run_manifest.json"
    one, manifest = output_paths(cases[:1], tmp_path / "m.nrrd")
    assert one["a"].uncertainty.name == "m_uncertainty.nrrd" and manifest.name == "m_run.json"
    with pytest.raises(InputError, match="a file name for 2 cases"):
        output_paths(cases, tmp_path / "m.nii.gz")
    with pytest.raises(InputError, match="overwrite an input"):
        output_paths(cases[:1], a)

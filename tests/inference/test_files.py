"""predict_files end to end: exact output grids, folders, CSV, real DICOM, bad inputs."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_real
from tests.inference.conftest import ct_like, make_model_dir, tiny_plan
from tumorseg.errors import InputError
from tumorseg.inference import Predictor
from tumorseg.io import Volume, align_to_grid, read_volume, write_volume
from tumorseg.postprocessing import LESION_COLUMNS, PostprocessConfig


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    return Predictor.from_model_dir(model_dir, folds="0", device="cpu", fast=True)


def _same_grid(a: Volume, b: Volume) -> None:
    """Size, spacing and origin identical; direction to 1e-6 (NIfTI stores an oblique
    direction as a float32 quaternion: a round trip moves it by ~3e-8 — not our doing)."""
    assert a.shape == b.shape
    assert a.spacing == b.spacing
    np.testing.assert_allclose(a.origin, b.origin, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.direction, b.direction, rtol=0, atol=1e-6)


def _hidden(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.name != ".model.lock"]


def test_single_oblique_file_all_outputs(predictor, oblique_ct, tmp_path):
    src = write_volume(oblique_ct, tmp_path / "in" / "scan.nii.gz")
    run = predictor.predict_files([src], tmp_path / "out" / "mask.nii.gz",
                                  save_probabilities=True, save_uncertainty=True,
                                  postprocessing=PostprocessConfig(min_volume_mm3=0))
    (result,) = run.cases
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "mask.nii.gz", "mask_lesions.csv", "mask_probabilities.nii.gz", "mask_run.json",
        "mask_uncertainty.nii.gz"]
    source = read_volume(src)
    mask = read_volume(out / "mask.nii.gz")
    probs = read_volume(out / "mask_probabilities.nii.gz")
    unc = read_volume(out / "mask_uncertainty.nii.gz")
    for vol in (mask, probs, unc):
        _same_grid(vol, source)
    assert probs.n_channels == 2 and mask.array.dtype == np.uint8
    rows = list(csv.DictReader((out / "mask_lesions.csv").open()))
    assert tuple(rows[0]) == LESION_COLUMNS if rows else True
    assert len(rows) == result.n_lesions
    manifest = json.loads(run.manifest.read_text())
    assert manifest["model"]["folds"] == ["0"]
    assert manifest["model"]["test_time_mirroring"] is False
    assert manifest["cases"][0]["case_id"] == "scan"
    assert set(manifest["cases"][0]["seconds"]) >= {"read", "network", "total"}
    assert "entropy" in manifest["uncertainty"]["voxel_map"]
    assert not _hidden(tmp_path)


def _cases(folder: Path, n: int = 2) -> list[Path]:
    paths = []
    for i in range(n):
        vol = Volume(ct_like((30 + 3 * i, 26, 8), seed=i), spacing=(1.5, 1.5, 3.0),
                     origin=(10.0 * i, 0, 0), modality="CT")
        paths.append(write_volume(vol, folder / f"case{i}_0000.nii.gz"))
    return paths


def test_folder_of_cases_and_csv(predictor, tmp_path):
    inputs = _cases(tmp_path / "imagesTs")
    run = predictor.predict_files([tmp_path / "imagesTs"], tmp_path / "pred")
    assert [r.case_id for r in run.cases] == ["case0", "case1"]
    for r, src in zip(run.cases, inputs, strict=True):
        _same_grid(read_volume(r.outputs["mask"]), read_volume(src))
        assert Path(r.outputs["lesions"]).name == f"{r.case_id}_lesions.csv"
    assert json.loads((tmp_path / "pred" / "run_manifest.json").read_text())["cases"][1][
        "case_id"] == "case1"
    table = tmp_path / "list.csv"
    table.write_text("case_id,CT\nfirst,imagesTs/case1_0000.nii.gz\n", encoding="utf-8")
    run = predictor.predict_files([table], tmp_path / "from_csv", suffix=".nrrd")
    assert (tmp_path / "from_csv" / "first.nrrd").is_file()
    _same_grid(read_volume(tmp_path / "from_csv" / "first.nrrd"), read_volume(inputs[1]))


def test_missing_file_and_wrong_channels_write_nothing(predictor, oblique_ct, tmp_path):
    with pytest.raises(InputError, match=r"absent\.nii\.gz: no such file") as missing:
        predictor.predict_files([tmp_path / "absent.nii.gz"], tmp_path / "o1" / "m.nii.gz")
    assert not (tmp_path / "o1").exists()
    two = oblique_ct.with_array(np.stack([oblique_ct.array] * 2).astype(np.float32))
    src = write_volume(two, tmp_path / "petct.nii.gz")
    with pytest.raises(InputError, match=r"petct\.nii\.gz: 2 channel\(s\), the model expects 1"
                       ) as channels:
        predictor.predict_files([src], tmp_path / "o2" / "m.nii.gz")
    assert not (tmp_path / "o2").exists()
    for info in (missing, channels):
        assert "\n" not in str(info.value)


def test_bad_case_in_a_batch_keeps_finished_cases_complete(predictor, tmp_path):
    _cases(tmp_path / "in", 1)
    (tmp_path / "in" / "zz_0000.nii.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(InputError, match=r"zz_0000\.nii\.gz"):
        predictor.predict_files([tmp_path / "in"], tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["case0.nii.gz", "case0_lesions.csv", "run_manifest.json"]
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    assert [c["case_id"] for c in manifest["cases"]] == ["case0"]
    assert not _hidden(tmp_path)


@pytest.fixture(scope="module")
def coarse_predictor(tmp_path_factory) -> Predictor:
    """One tiny fold at 6 mm: a 512 × 512 real CT is a handful of windows."""
    tmp = tmp_path_factory.mktemp("coarse")
    plan, dataset_json = tiny_plan(tmp / "ds")
    plan = replace(plan, target_spacing=(6.0, 6.0, 6.0))
    model = make_model_dir(tmp / "model", plan, dataset_json, folds=("all",))
    return Predictor.from_model_dir(model, device="cpu", fast=True)


def test_real_dicom_series_with_organ_mask(coarse_predictor, tmp_path):
    series = require_real("ct_abdomen_dicom")
    organs = require_real("ct_abdomen_dicom_organs.nii.gz")
    run = coarse_predictor.predict_files(
        [series], tmp_path / "dicom_mask.nii.gz", organ_mask=organs,
        postprocessing=PostprocessConfig(organ_labels=(5,)), save_uncertainty=True)
    source = read_volume(series)
    mask = read_volume(tmp_path / "dicom_mask.nii.gz")
    _same_grid(mask, source)
    assert mask.shape == (512, 512, 20)
    liver = align_to_grid(read_volume(organs), source).array
    if mask.array.any():  # every kept lesion touches the liver (label 5)
        from tumorseg.postprocessing import restrict_to_organ

        np.testing.assert_array_equal(restrict_to_organ(mask.array, liver, [5]), mask.array)
    assert run.cases[0].case_id == "ct_abdomen_dicom"


def test_case_progress_reports_each_stage(predictor, oblique_ct, tmp_path):
    src = write_volume(oblique_ct, tmp_path / "scan.nii.gz")
    seen: list[tuple[str, str, int, int]] = []
    predictor.predict_files([src], tmp_path / "out" / "mask.nii.gz",
                            case_progress=lambda *args: seen.append(args))
    stages = [s for _, s, _, _ in seen]
    assert stages[0] == "reading" and stages[-1] == "writing"
    network = [(d, t) for _, s, d, t in seen if s == "network"]
    assert network[0][0] == 0 and network[-1][0] == network[-1][1] >= 1
    assert {c for c, _, _, _ in seen} == {"scan"}

"""File level: matching by case name, grid checks, CSV and JSON written atomically."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.metrics.shapes import SPACING, blob_pair
from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume, write_volume
from tumorseg.metrics import (
    MetricsConfig,
    UnmatchedCasesWarning,
    evaluate_files,
    evaluate_labels,
    match_cases,
)

ORIGIN = (-10.0, 20.0, 5.0)


def _write(path, array, spacing=SPACING):
    return write_volume(Volume(array.astype(np.uint8), spacing=spacing, origin=ORIGIN), path)


@pytest.fixture
def folders(tmp_path):
    """preds/ with case0, case1, extra; labels/ with case0, case1 (NRRD), lonely."""
    preds, labels = tmp_path / "preds", tmp_path / "labels"
    for seed in range(2):
        pred, ref = blob_pair(seed)
        ref = ref.astype(np.uint8)
        ref[:, :, 15:] *= 2
        _write(preds / f"case{seed}.nii.gz", pred)
        _write(labels / f"case{seed}{'.nrrd' if seed else '.nii.gz'}", ref)
    _write(preds / "extra.nii.gz", blob_pair(7)[0])
    _write(labels / "lonely.nii.gz", blob_pair(8)[1])
    (labels / "notes.txt").write_text("not an image")
    return preds, labels


def test_folders_are_matched_and_reports_written(folders, tmp_path):
    preds, labels = folders
    out = tmp_path / "out"
    with pytest.warns(UnmatchedCasesWarning, match="extra.*lonely"):
        result = evaluate_files(preds, labels, out)
    assert [c.name for c in result.cases] == ["case0", "case1"]
    assert result.matching.unmatched_pred == ("extra",)
    assert result.matching.unmatched_gt == ("lonely",)

    rows = list(csv.DictReader(result.paths.per_case_csv.open()))
    assert [(r["case"], r["label"]) for r in rows] == [
        ("case0", "1"), ("case0", "2"), ("case1", "1"), ("case1", "2")]
    pred, ref = blob_pair(0)
    ref = ref.astype(np.uint8)
    ref[:, :, 15:] *= 2
    expected = evaluate_labels(pred.astype(np.uint8), ref, SPACING)
    assert float(rows[0]["dice"]) == pytest.approx(expected[0].overlap.dice, abs=1e-12)
    assert float(rows[1]["hd95_mm"]) == pytest.approx(expected[1].surface.hd95_mm, abs=1e-9)

    lesion_rows = list(csv.DictReader(result.paths.per_lesion_csv.open()))
    assert {r["kind"] for r in lesion_rows} <= {"reference", "false_positive"}
    assert len(lesion_rows) == sum(len(m.lesions.lesions) for c in result.cases
                                   for m in c.labels)

    summary = json.loads(result.paths.summary_json.read_text())
    assert summary["n_cases"] == 2 and summary["unmatched_gt"] == ["lonely"]
    assert set(summary["labels"]) == {"1", "2"}
    stats = summary["labels"]["1"]["metrics"]["dice"]
    assert {"mean", "std", "median", "q1", "q3", "min", "max", "count", "n_nonfinite"} <= set(
        stats)
    assert summary["config"]["nsd_tolerance_mm"] == 2.0
    assert not list(out.glob(".*tmp*"))  # no temporary files left


def test_two_files_make_one_case(folders, tmp_path):
    preds, labels = folders
    result = evaluate_files(preds / "case1.nii.gz", labels / "case1.nrrd", tmp_path / "o",
                            MetricsConfig(labels=(1,), nsd_tolerance_mm=1.0))
    assert len(result.cases) == 1 and result.cases[0].name == "case1"
    assert [m.label for m in result.cases[0].labels] == [1]


def test_mismatched_grids_are_refused_naming_both_files(tmp_path):
    pred, ref = blob_pair(0)
    p = _write(tmp_path / "p" / "c.nii.gz", pred, spacing=(0.8, 1.1, 3.0))
    g = _write(tmp_path / "g" / "c.nii.gz", ref)
    with pytest.raises(GeometryMismatchError, match="spacing") as err:
        evaluate_files(p, g, tmp_path / "out")
    assert str(p) in str(err.value) and str(g) in str(err.value)
    assert not (tmp_path / "out" / "metrics_summary.json").exists()


def test_no_common_case_is_an_error(tmp_path):
    _write(tmp_path / "p" / "a.nii.gz", blob_pair(0)[0])
    _write(tmp_path / "g" / "b.nii.gz", blob_pair(0)[1])
    with pytest.raises(InputError, match="no case name in common"):
        match_cases(tmp_path / "p", tmp_path / "g")


def test_bad_inputs(tmp_path, folders):
    preds, labels = folders
    with pytest.raises(InputError, match="no such file"):
        match_cases(tmp_path / "missing", labels)
    with pytest.raises(InputError, match="two files or two folders"):
        match_cases(preds / "case0.nii.gz", labels)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        match_cases(tmp_path / "empty", labels)
    _write(preds / "case0.nrrd", blob_pair(0)[0])
    with pytest.raises(InputError, match="two images of case 'case0'"):
        match_cases(preds, labels)


def test_probability_maps_are_refused(tmp_path):
    pred, ref = blob_pair(0)
    p = tmp_path / "p.nii.gz"
    write_volume(Volume(pred * 0.7, spacing=SPACING, origin=ORIGIN), p, dtype=np.float32)
    g = _write(tmp_path / "g.nii.gz", ref)
    with pytest.raises(InputError, match=r"p\.nii\.gz: non-integer"):
        evaluate_files(p, g, tmp_path / "out")

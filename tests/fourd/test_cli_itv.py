"""``tumorseg itv`` end to end on a tiny lung phantom, and its one-line errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.fourd.synthetic import moving_tumor
from tumorseg.cli.main import main
from tumorseg.errors import InputError
from tumorseg.io import read_volume, write_volume
from tumorseg.metrics.overlap import dice


def _expected_names(n: int) -> set[str]:
    return {f"gtv_phase_{p:02d}.nii.gz" for p in range(n)} | {
        "itv.nii.gz", "mip.nii.gz", "motion.csv", "motion.png", "itv_on_mip.png", "summary.json"}


def test_itv_end_to_end_on_a_lung_phantom(tmp_path, lung_case, capsys):
    case, folder = lung_case
    signals = [s[0] for s in case.info["motion"]["signals_si_ap_lr"]]
    exhale = int(np.argmin(signals))
    out = tmp_path / "itv"
    phases = [str(folder / f"phase_{p:02d}.nii.gz") for p in range(case.n_phases)]
    argv = ["itv", *phases, "-o", str(out), "--mask",
            str(folder / f"gtv_phase_{exhale:02d}.nii.gz"), "--translation-only"]
    # a mask needs the phase it was drawn on
    assert main(argv) == 2
    assert "--mask needs --reference-phase N" in capsys.readouterr().err
    assert not out.exists()
    # the default reference (for clicks and the detector) is end-exhale: the smallest SI
    # breathing signal
    from tumorseg.fourd import choose_reference_phase
    assert signals[choose_reference_phase(case.phases)[0]] == pytest.approx(min(signals))
    argv += ["--reference-phase", str(exhale)]
    assert main(argv) == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == _expected_names(case.n_phases)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reference_phase"] == exhale
    for p in range(case.n_phases):
        gtv = read_volume(out / f"gtv_phase_{p:02d}.nii.gz")
        assert gtv.same_grid(case.phases[0]) and gtv.array.dtype == np.uint8
        assert dice(gtv.array > 0, case.gtv[p].array > 0) > 0.8
    itv = read_volume(out / "itv.nii.gz").array > 0
    assert dice(itv, case.itv.array > 0) > 0.85
    mip = read_volume(out / "mip.nii.gz")
    np.testing.assert_array_equal(mip.array, np.max([v.array for v in case.phases], axis=0))
    spacing = np.asarray(case.phases[0].spacing)
    amp = np.array([summary["amplitude_mm"][a] for a in "xyz"])
    assert np.all(np.abs(amp - case.amplitude_mm) <= spacing), (amp, case.amplitude_mm)
    with open(out / "motion.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["phase"]) for r in rows] == list(range(case.n_phases))
    centroids = np.array([[float(r[f"{a}_mm"]) for a in "xyz"] for r in rows])
    assert np.all(np.abs(centroids - case.centroids_mm) <= spacing)
    assert (out / "motion.png").read_bytes()[:4] == b"\x89PNG"
    assert "motion amplitude" in capsys.readouterr().out


def test_itv_both_methods_and_automatic_detection(tmp_path, capsys):
    phases, gtvs = moving_tumor([(0, 0, -2), (0, 0, 0), (0, 1, 2)], seed=9)
    files = [str(write_volume(v, tmp_path / f"p{p}.nii.gz")) for p, v in enumerate(phases)]
    out = tmp_path / "out"
    argv = ["itv", *files, "-o", str(out), "--method", "both", "--reference-phase", "1",
            "--segmenter", "threshold", "--translation-only"]
    assert main(argv) == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert names == _expected_names(3) | {"per-phase"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reference_gtv_source"] == "automatic"
    assert summary["per_phase_segmenter"] == "threshold"
    assert summary["reference_phase"] == 1 and summary["agreement_dice_mean"] > 0.85
    for p in range(3):
        gtv = read_volume(out / "per-phase" / f"gtv_phase_{p:02d}.nii.gz").array > 0
        assert dice(gtv, gtvs[p]) > 0.85
    assert abs(summary["amplitude_mm"]["z"] - 4 * phases[0].spacing[2]) <= phases[0].spacing[2]
    # a second run into the same -o: refused, unless --overwrite, which leaves no stale file
    again = ["itv", *files[:2], "-o", str(out), "--reference-phase", "1", "--translation-only"]
    capsys.readouterr()
    _one_line_error(capsys, again, "folder is not empty; choose a new -o, or add --overwrite")
    assert main([*again, "--overwrite"]) == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == _expected_names(2)  # no per-phase/, no phase 02
    assert json.loads((out / "summary.json").read_text())["n_phases"] == 2
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    capsys.readouterr()
    _one_line_error(capsys, ["itv", *files, "-o", str(other), "--reference-phase", "1",
                             "--overwrite"], "--overwrite replaces only an earlier itv output")
    assert (other / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.fixture
def two_phases(tmp_path):
    phases, gtvs = moving_tumor([(0, 0, 0), (0, 0, 1)])
    files = [str(write_volume(v, tmp_path / f"p{p}.nii.gz")) for p, v in enumerate(phases)]
    mask = str(write_volume(phases[0].with_array(gtvs[0].astype(np.uint8)),
                            tmp_path / "gtv.nii.gz"))
    return files, mask


def _one_line_error(capsys, argv, expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and expected in err, err


def test_one_line_errors(tmp_path, capsys, two_phases):
    files, mask = two_phases
    out = str(tmp_path / "out")
    _one_line_error(capsys, ["itv", files[0], "-o", out, "--mask", mask, "--reference-phase",
                             "0"], "only one phase")
    _one_line_error(capsys, ["itv", *files, "-o", out, "--mask", mask],
                    "--mask needs --reference-phase N")
    _one_line_error(capsys, ["itv", *files, "-o", out, "--mask", mask, "--click", "20,20,14"],
                    "give one source of the reference GTV")
    _one_line_error(capsys, ["itv", *files, "-o", out, "--mask", mask, "--reference-phase", "5"],
                    "--reference-phase 5: out of range")
    small = read_volume(mask)
    shifted = write_volume(type(small)(small.array, small.spacing, (0.0, 0.0, 0.0)),
                           tmp_path / "elsewhere.nii.gz")
    _one_line_error(capsys, ["itv", *files, "-o", out, "--mask", str(shifted),
                             "--reference-phase", "0"],
                    "elsewhere.nii.gz: grid differs from the phases: origin")
    assert not (tmp_path / "out").exists()


def test_click_without_the_click_model_is_one_line(tmp_path, capsys, two_phases, monkeypatch):
    from tumorseg.interactive import model as interactive_model

    def missing(*args, **kwargs):
        raise InputError("models/bundled/interactive-lesions: not an interactive model folder")

    monkeypatch.setattr(interactive_model.InteractiveModel, "load", missing)
    files, _ = two_phases
    _one_line_error(capsys, ["itv", *files, "-o", str(tmp_path / "o"), "--click", "20,20,14",
                             "--click-method", "model"],
                    "the click-guided model is not available")


def test_itv_on_dicom_phases_writes_an_rtstruct(tmp_path, capsys):
    pytest.importorskip("skimage")  # the RTSTRUCT writer's contours
    import pydicom

    from tests.fourd.dicom_phases import write_dicom_phase

    phases, gtvs = moving_tumor([(0, 0, -2), (0, 0, 0), (0, 0, 2)], seed=4)
    folders = [write_dicom_phase(v, tmp_path / f"series_{name}", f"4DCT {pct}%",
                                 f"1.2.3.7.{p + 1}", "1.2.3.98")
               for p, (v, name, pct) in enumerate(zip(phases, "cab", (0, 33, 66), strict=True))]
    mask = write_volume(phases[1].with_array(gtvs[1].astype(np.uint8)), tmp_path / "gtv.nii.gz")
    out = tmp_path / "out"
    argv = ["itv", *map(str, reversed(folders)), "-o", str(out), "--mask", str(mask),
            "--reference-phase", "1", "--translation-only"]
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["phase_order_from"] == "dicom-percent"
    assert summary["phase_percents"] == [0.0, 33.0, 66.0]
    for p in range(3):  # files follow the breathing order, not the order given
        gtv = read_volume(out / f"gtv_phase_{p:02d}.nii.gz").array > 0
        assert dice(gtv, gtvs[p]) > 0.9
    ds = pydicom.dcmread(out / "rtstruct.dcm")
    assert ds.Modality == "RTSTRUCT"
    names = [r.ROIName for r in ds.StructureSetROISequence]
    assert names == ["ITV", "GTV phase 00", "GTV phase 01", "GTV phase 02"]
    frame = ds.ReferencedFrameOfReferenceSequence[0]
    assert frame.FrameOfReferenceUID == "1.2.3.98"
    series = frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == "1.2.3.7.2"  # the reference phase (33 %)

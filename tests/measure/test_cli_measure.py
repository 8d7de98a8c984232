"""``tumorseg measure``: CSV + JSON written, one-line errors, empty masks."""

from __future__ import annotations

import csv
import json

import numpy as np

from tests.measure.shapes import ellipsoid, volumes
from tumorseg.cli.main import main
from tumorseg.io import Volume, write_volume
from tumorseg.measure import MEASURE_COLUMNS


def _case(tmp_path, mask):
    spacing = (2.0, 2.0, 3.0)
    hu = np.full(mask.shape, -1000, np.int16)
    hu[mask] = 40
    image, mvol = volumes(mask, spacing, image=hu)
    # a NIfTI without tumorseg's modality note, as most NIfTI files are: measure guesses CT
    img = write_volume(image.with_array(image.array, modality="unknown"),
                       tmp_path / "ct.nii.gz")
    msk = write_volume(mvol, tmp_path / "mask.nii.gz")
    pet = write_volume(mvol.with_array(np.where(mask, 6.0, 1.0).astype(np.float32)),
                       tmp_path / "pet.nii.gz")
    return img, msk, pet


def test_measure_writes_csv_and_json(tmp_path, capsys):
    shape = (32, 32, 16)
    mask = (ellipsoid(shape, (2.0, 2.0, 3.0), (8, 8, 8), centre_mm=(-12, 0, 0))
            | ellipsoid(shape, (2.0, 2.0, 3.0), (6, 6, 6), centre_mm=(14, 5, 0)))
    img, msk, pet = _case(tmp_path, mask)
    out = tmp_path / "out" / "lesions.csv"
    assert main(["measure", str(img), str(msk), "--pet", str(pet), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and tuple(rows[0]) == MEASURE_COLUMNS
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["summary"]["lesion_count"] == 2
    assert doc["summary"]["modality"] == "CT"  # guessed from -1000 HU air, and said
    assert float(rows[0]["suv_max"]) == 6.0 and float(rows[0]["intensity_mean"]) == 40.0
    assert doc["lesions"][0]["volume_ml"] == float(rows[0]["volume_ml"]) or abs(
        doc["lesions"][0]["volume_ml"] - float(rows[0]["volume_ml"])) < 1e-4
    assert "treated as CT" in capsys.readouterr().err


def test_empty_mask_writes_zero_lesions_with_a_warning(tmp_path, capsys):
    img, msk, _ = _case(tmp_path, np.zeros((10, 10, 6), bool))
    out = tmp_path / "lesions.csv"
    assert main(["measure", str(img), str(msk), "-o", str(out)]) == 0
    assert out.read_text().strip().split("\n") == [",".join(MEASURE_COLUMNS)]
    assert json.loads(out.with_suffix(".json").read_text())["summary"]["lesion_count"] == 0
    assert "the mask is empty" in capsys.readouterr().err


def test_grid_mismatch_is_one_line_and_writes_nothing(tmp_path, capsys):
    img, _, _ = _case(tmp_path, np.zeros((10, 10, 6), bool))
    other = write_volume(Volume(np.ones((10, 10, 5), np.uint8), (2.0, 2.0, 3.0)),
                         tmp_path / "other.nii.gz")
    out = tmp_path / "lesions.csv"
    assert main(["measure", str(img), str(other), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {other}: grid differs from {img}: size")
    assert not out.exists() and not out.with_suffix(".json").exists()

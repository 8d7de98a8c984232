"""``tumorseg evaluate-interactive`` end to end on a tiny CSV dataset, and its one-line errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tumorseg.cli.main import main
from tumorseg.io import Volume, write_volume


@pytest.fixture
def csv_dataset(tmp_path):
    rng = np.random.default_rng(0)
    shape, spacing = (24, 24, 14), (1.0, 1.0, 1.5)
    grid = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                                indexing="ij"), -1)
    label = (((grid - np.array([11.0, 12.0, 10.0])) ** 2).sum(-1) <= 36).astype(np.uint8)
    image = (100.0 * label + rng.normal(0, 10, shape)).astype(np.float32)
    write_volume(Volume(image, spacing, modality="MR"), tmp_path / "a.nrrd")
    write_volume(Volume(label, spacing, modality="SEG"), tmp_path / "a_label.nrrd")
    (tmp_path / "cases.csv").write_text("image,label\na.nrrd,a_label.nrrd\n")
    return tmp_path / "cases.csv"


def test_region_growing_end_to_end(csv_dataset, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["evaluate-interactive", str(csv_dataset), "--method", "region-growing",
                 "--clicks", "3", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "region-growing" in text and "NoC@90" in text
    summary = json.loads((out / "summary.json").read_text())
    s = summary["methods"]["region-growing"]
    assert s["n_targets"] == 1 and len(s["mean_dice"]) == 3
    assert s["mean_dice"][0] >= 0.8
    assert summary["cases"] == ["a"]
    rows = list(csv.DictReader((out / "clicks.csv").open()))
    assert len(rows) == 3 and rows[0]["i"] and rows[0]["positive"] == "True"
    assert (out / "dice_vs_clicks.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args, expected",
    [
        (["{tmp}/absent", "-o", "{tmp}/out"], "absent: no such file or folder"),
        (["{csv}", "--clicks", "0", "-o", "{tmp}/out"], "--clicks 0"),
        (["{csv}", "--min-lesion-mm3", "1e9", "-o", "{tmp}/out"], "no lesion of at least"),
    ],
)
def test_bad_input_one_line_nothing_written(csv_dataset, tmp_path, capsys, args, expected):
    argv = ["evaluate-interactive", *[a.format(tmp=tmp_path, csv=csv_dataset) for a in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err
    assert not (tmp_path / "out").exists()


def test_unknown_method_is_a_usage_error(csv_dataset, tmp_path, capsys):
    assert main(["evaluate-interactive", str(csv_dataset), "--method", "magic", "-o",
                 str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()

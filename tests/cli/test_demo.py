"""`tumorseg demo` runs end to end and writes every output it announces."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tumorseg.cli.main import main
from tumorseg.io import read_volume


def test_demo_small(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--size", "small", "--method", "baseline", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "demo_summary.json").read_text())
    for path in summary["outputs"].values():
        assert Path(path).exists(), path
        assert str(path) in printed
    image = read_volume(out / "image.nii.gz")
    pred = read_volume(out / "predictions" / "demo_case.nii.gz")
    assert pred.same_grid(image)
    rows = list(csv.DictReader(open(out / "metrics" / "metrics_per_case.csv")))
    assert rows and 0.0 <= float(rows[0]["dice"]) <= 1.0
    assert summary["metrics"]["dice"] == float(rows[0]["dice"])

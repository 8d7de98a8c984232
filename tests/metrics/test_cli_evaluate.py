"""The ``evaluate`` command through typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tests.metrics.shapes import SPACING, blob_pair
from tumorseg.cli.evaluate import evaluate_command
from tumorseg.errors import InputError
from tumorseg.io import Volume, write_volume


@pytest.fixture
def app():
    app = typer.Typer()
    app.command("evaluate")(evaluate_command)

    @app.callback()
    def _root() -> None:
        """Test app."""

    return app


@pytest.fixture
def data(tmp_path):
    for seed in range(3):
        pred, ref = blob_pair(seed)
        for folder, arr in (("preds", pred), ("labels", ref)):
            write_volume(Volume(arr.astype(np.uint8), spacing=SPACING),
                         tmp_path / folder / f"case{seed}.nii.gz")
    return tmp_path


def test_evaluate_writes_reports_and_prints_summary(app, data):
    out = data / "results"
    result = CliRunner().invoke(app, [
        "evaluate", str(data / "preds"), str(data / "labels"), "-o", str(out),
        "--tolerance-mm", "1.5", "--connectivity", "18", "--size-bins", "0,5,inf",
        "--min-lesion-size", "3", "--min-lesion-unit", "mm3"])
    assert result.exit_code == 0, result.output
    assert "Dice" in result.output and "lesion-wise HD95" in result.output
    assert "metrics_per_case.csv" in result.output
    summary = json.loads((out / "metrics_summary.json").read_text())
    cfg = summary["config"]
    assert (cfg["nsd_tolerance_mm"], cfg["connectivity"], cfg["size_bins_mm"]) == (
        1.5, 18, [0.0, 5.0, "inf"])
    assert (cfg["min_lesion_size"], cfg["min_lesion_size_unit"]) == (3.0, "mm3")
    assert summary["n_cases"] == 3


def test_help_has_an_example(app):
    result = CliRunner().invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0 and "Example: tumorseg evaluate" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--size-bins", "0,ten"], "--size-bins"),
    (["--connectivity", "8"], "connectivity"),
    (["--labels", "1.5"], "--labels"),
])
def test_bad_options_raise_input_error(app, data, args, message):
    result = CliRunner().invoke(app, ["evaluate", str(data / "preds"), str(data / "labels"),
                                      "-o", str(data / "o"), *args])
    assert isinstance(result.exception, InputError) and message in str(result.exception)


def test_missing_input_raises_input_error(app, data):
    result = CliRunner().invoke(app, ["evaluate", str(data / "nope"), str(data / "labels"),
                                      "-o", str(data / "o")])
    assert isinstance(result.exception, InputError)

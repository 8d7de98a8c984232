"""``tumorseg plan`` through typer's CliRunner on a tiny dataset."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tests.planning.synthetic import ANISO_SPECS, write_v2
from tumorseg.cli.plan import plan_command
from tumorseg.planning import Fingerprint, Plan

app = typer.Typer()
app.command("plan")(plan_command)
app.command("other")(lambda: None)  # a second command so that "plan" stays a sub-command

runner = CliRunner()


def test_plan_writes_plan_and_fingerprint_into_the_dataset(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS, ("CT",))
    result = runner.invoke(app, ["plan", str(root), "--gpu-memory", "2"])
    assert result.exit_code == 0, result.output
    plan = Plan.load(root / "plan.json")
    fp = Fingerprint.load(root / "fingerprint.json")
    assert plan.memory_budget_gb == 2.0 and plan.device == "cpu"
    assert len(fp.cases) == 3
    assert "patch" in result.output and "plan.json" in result.output
    assert not list(root.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_plan_output_option_and_cuda(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2], ("PET", "CT"))
    out = tmp_path / "out" / "my_plan.json"
    result = runner.invoke(app, ["plan", str(root), "-o", str(out), "--device", "cuda",
                                 "--gpu-memory", "4", "--pet-normalization", "suv"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["device"] == "cuda" and doc["memory_budget_gb"] == 4.0
    assert [n["scheme"] for n in doc["normalization"]] == ["suv", "ct"]
    assert (tmp_path / "out" / "fingerprint.json").is_file()
    assert not (root / "plan.json").exists()


def test_plan_auto_device_and_bad_device(tmp_path):
    root = write_v2(tmp_path / "ds", ANISO_SPECS[:2], ("CT",))
    result = runner.invoke(app, ["plan", str(root), "--device", "auto", "--gpu-memory", "2"])
    assert result.exit_code == 0, result.output
    assert Plan.load(root / "plan.json").device in ("cpu", "cuda")
    result = runner.invoke(app, ["plan", str(root), "--device", "tpu"])
    assert result.exit_code != 0 and "--device must be" in str(result.exception)


def test_plan_help_has_an_example():
    result = runner.invoke(app, ["plan", "--help"])
    assert result.exit_code == 0
    assert "Example: tumorseg plan data/abdomen -o plan.json" in result.output


def test_plan_missing_dataset_json(tmp_path):
    result = runner.invoke(app, ["plan", str(tmp_path)])
    assert result.exit_code != 0
    assert "dataset.json" in str(result.exception)

"""The bundled-model registry and the ``predict`` command through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from tumorseg.cli.predict import predict_command
from tumorseg.errors import InputError
from tumorseg.inference import registry
from tumorseg.inference.registry import DEFAULT_MODEL, bundled_model_dir, resolve_model
from tumorseg.io import read_volume, write_volume


def test_no_bundled_model_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "bundled_root", lambda: tmp_path / "bundled")
    with pytest.raises(InputError, match=r"no bundled model installed.*--model"):
        bundled_model_dir()
    with pytest.raises(InputError, match="no bundled model installed"):
        resolve_model(None)
    with pytest.raises(InputError, match="unknown bundled model"):
        bundled_model_dir("brain-mri-glioma")


def test_resolve_model(monkeypatch, tmp_path, model_dir):
    assert resolve_model(model_dir) == model_dir
    with pytest.raises(InputError, match="no such model folder or bundled model"):
        resolve_model(tmp_path / "nothing")
    with pytest.raises(InputError, match="not a model folder"):
        resolve_model(tmp_path)
    bundled = tmp_path / "bundled" / DEFAULT_MODEL
    bundled.mkdir(parents=True)
    (bundled / "plan.json").write_text("{}")
    monkeypatch.setattr(registry, "bundled_root", lambda: tmp_path / "bundled")
    assert resolve_model(None) == bundled == resolve_model(DEFAULT_MODEL)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("predict")(predict_command)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer from collapsing to one command
        pass

    return app


def test_cli_predict_writes_mask_csv_and_manifest(model_dir, oblique_ct, tmp_path):
    src = write_volume(oblique_ct, tmp_path / "ct.nii.gz")
    out = tmp_path / "res" / "mask.nii.gz"
    result = CliRunner().invoke(_app(), [
        "predict", str(src), "-o", str(out), "--model", str(model_dir), "--fast",
        "--folds", "0,1", "--device", "cpu", "--min-volume", "5", "--save-uncertainty"])
    assert result.exit_code == 0, result.output
    assert "run manifest" in result.output
    assert read_volume(out).shape == oblique_ct.shape
    assert (tmp_path / "res" / "mask_lesions.csv").is_file()
    assert (tmp_path / "res" / "mask_uncertainty.nii.gz").is_file()
    manifest = json.loads((tmp_path / "res" / "mask_run.json").read_text())
    assert manifest["model"]["folds"] == ["0", "1"]
    assert manifest["postprocessing"]["min_volume_mm3"] == 5.0


def test_cli_bad_input_raises_input_error(model_dir, tmp_path):
    with pytest.raises(InputError, match=r"missing\.nii\.gz: no such file"):
        predict_command([tmp_path / "missing.nii.gz"], tmp_path / "m.nii.gz",
                        model=str(model_dir))
    with pytest.raises(InputError, match="no such model folder"):
        predict_command([model_dir / "plan.json"], tmp_path / "m.nii.gz",
                        model=str(tmp_path / "nomodel"))
    assert not (tmp_path / "m.nii.gz").exists()

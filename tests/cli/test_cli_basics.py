"""The CLI: help for every command, info/convert on real and synthetic scans, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import require_real
from tumorseg.cli.main import COMMANDS as REGISTRY
from tumorseg.cli.main import load_command, main
from tumorseg.io import read_volume, write_volume

COMMANDS = [
    "demo", "phantom", "info", "convert", "evaluate", "evaluate-interactive", "plan", "train",
    "predict", "segment", "itv", "measure", "report", "export", "pull", "push",
    "serve",
]


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help_with_an_example(capsys, name):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and f"tumorseg {name}" in out


def test_registered_commands_match():
    assert list(REGISTRY) == COMMANDS
    for name in COMMANDS:
        assert callable(load_command(name)) and REGISTRY[name].summary


def test_help_does_not_import_torch():
    code = ("import sys; from tumorseg.cli.main import main; main(['--help']); "
            "main(['measure', '--help']); sys.exit(int('torch' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, encoding="utf-8", errors="replace")
    assert done.returncode == 0, "tumorseg --help / measure --help imported torch"


def test_info_json(tmp_path, capsys, oblique_volume):
    path = write_volume(oblique_volume, tmp_path / "v.nrrd")
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size_ijk"] == [13, 11, 7]
    assert info["modality"] == "CT"
    np.testing.assert_allclose(info["spacing_mm"], oblique_volume.spacing, atol=1e-5)
    np.testing.assert_allclose(info["direction"], oblique_volume.direction, atol=1e-5)
    assert info["min"] == pytest.approx(float(oblique_volume.array.min()))


def test_convert_dicom_to_nifti(tmp_path, capsys):
    series = require_real("ct_abdomen_dicom")
    out = tmp_path / "ct.nii.gz"
    assert main(["convert", str(series), "-o", str(out)]) == 0
    src, dst = read_volume(series), read_volume(out)
    np.testing.assert_array_equal(src.array, dst.array)
    np.testing.assert_allclose(dst.origin, src.origin, atol=1e-4)
    np.testing.assert_allclose(dst.spacing, src.spacing, atol=1e-6)
    assert main(["info", str(series)]) == 0
    text = capsys.readouterr().out
    assert "512 x 512 x 20" in text and "CT" in text


def test_convert_between_formats(tmp_path, oblique_volume):
    src = write_volume(oblique_volume, tmp_path / "a.mha")
    for suffix in (".nrrd", ".nii.gz"):
        out = tmp_path / f"b{suffix}"
        assert main(["convert", str(src), "-o", str(out)]) == 0
        back = read_volume(out)
        np.testing.assert_allclose(back.direction, oblique_volume.direction, atol=1e-5)
        np.testing.assert_allclose(back.origin, oblique_volume.origin, atol=1e-4)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["info", "{tmp}/missing.nii.gz"], "missing.nii.gz: no such file"),
        (["convert", "{tmp}/missing.nii.gz", "-o", "{tmp}/out.nii.gz"], "missing.nii.gz"),
        (["info", "{tmp}/empty_dir"], "empty_dir: no DICOM series found"),
        (["convert", "{tmp}/corrupt.nii.gz", "-o", "{tmp}/out.nii.gz"],
         "corrupt.nii.gz: cannot read"),
        (["phantom", "--kind", "banana", "--out", "{tmp}/ds"], "unknown phantom kind 'banana'"),
    ],
)
def test_bad_input_one_line_nonzero_nothing_written(tmp_path, capsys, args, expected):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "corrupt.nii.gz").write_bytes(b"garbage" * 50)
    argv = [a.format(tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.nii.gz").exists()
    assert not (tmp_path / "ds").exists()


def test_console_script_exit_status(tmp_path):
    """The installed entry point exits non-zero with one line on stderr."""
    proc = subprocess.run([sys.executable, "-m", "tumorseg.cli.main", "info",
                           str(tmp_path / "nothing.nrrd")], capture_output=True,
                          text=True, encoding="utf-8", errors="replace")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'nothing.nrrd'}: no such "
                                                "file or folder"]


def test_help_paragraphs_are_reflowed():
    from tumorseg.cli.main import reflow_help

    doc = """Title line.

    A paragraph written
    over three
    lines.

    - a list item
    - another
      continued
    """
    assert reflow_help(doc) == ("Title line.\n\nA paragraph written over three lines.\n\n"
                                "- a list item\n- another continued")


def test_help_wraps_docstring_paragraphs(capsys):
    """A paragraph of a command's docstring is wrapped to the terminal, not cut where the
    source line ended (typer keeps those line breaks)."""
    assert main(["predict", "--help"]) == 0
    lines = [ln.strip() for ln in capsys.readouterr().out.splitlines()]
    assert "and" not in lines and "run manifest" not in lines

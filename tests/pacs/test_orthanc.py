"""Integration with a real Orthanc + DICOMweb plugin started on 127.0.0.1 by the test:
push a CT series, pull it, segment, export SEG and RTSTRUCT, push both, query them back.
The ``orthanc`` fixture (tests/conftest.py) starts it, or skips when it is not installed.
Also: unreachable server and a wrong password give one line and write nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.conftest import REAL_DATA
from tests.io.dicom_factory import write_series
from tests.pacs.orthanc import PASSWORD, USER, free_port
from tumorseg.cli.main import main
from tumorseg.io import read_volume
from tumorseg.pacs import connect, search_series


@pytest.fixture(scope="module")
def source_series(tmp_path_factory) -> Path:
    """The real CT series when available, else a small synthetic one."""
    real = REAL_DATA / "ct_abdomen_dicom_clean"
    if real.is_dir():
        return real
    folder = tmp_path_factory.mktemp("synthetic_ct")
    stored = np.random.default_rng(1).integers(900, 1200, size=(48, 48, 10)).astype(np.uint16)
    write_series(folder, stored, spacing=(0.9, 0.9, 2.0))
    return folder


def _auth() -> list[str]:
    return ["--user", USER, "--password", PASSWORD]


def test_push_pull_segment_export_push_query(orthanc, source_series, tmp_path, capsys):
    files = sorted(str(p) for p in source_series.iterdir() if p.is_file())
    study = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    assert main(["push", *files, "--dicomweb", orthanc, *_auth()]) == 0

    pulled = tmp_path / "pulled"
    assert main(["pull", "--dicomweb", orthanc, "--study", study, "-o", str(pulled),
                 *_auth()]) == 0
    assert len(list(pulled.rglob("*.dcm"))) == len(files)
    original, received = read_volume(source_series), read_volume(pulled)
    np.testing.assert_array_equal(received.array, original.array)
    np.testing.assert_allclose(received.origin, original.origin, atol=1e-4)

    # "segment": a small box of soft tissue around the centre (a stand-in for a model)
    ni, nj, nk = received.shape
    mask = np.zeros(received.shape, dtype=np.uint8)
    mask[ni // 2 - 8:ni // 2 + 8, nj // 2 - 6:nj // 2 + 6, nk // 2 - 2:nk // 2 + 2] = 1
    mask_path = tmp_path / "mask.nii.gz"
    from tumorseg.io import write_volume
    write_volume(received.with_array(mask), mask_path)
    seg, rt = tmp_path / "seg.dcm", tmp_path / "rt.dcm"
    assert main(["export", str(mask_path), "-r", str(pulled), "-f", "seg", "-o", str(seg)]) == 0
    assert main(["export", str(mask_path), "-r", str(pulled), "-f", "rtstruct",
                 "-o", str(rt)]) == 0
    assert main(["push", str(seg), str(rt), "--dicomweb", orthanc, *_auth()]) == 0

    client = connect(orthanc, USER, PASSWORD)
    for modality, path in (("SEG", seg), ("RTSTRUCT", rt)):
        found = search_series(client, study, modality=modality)
        assert [s["uid"] for s in found] == [str(pydicom.dcmread(path).SeriesInstanceUID)]
    assert {s["modality"] for s in search_series(client, study)} == {"CT", "SEG", "RTSTRUCT"}


def test_wrong_password_and_unreachable_server(orthanc, tmp_path, capsys):
    out = tmp_path / "pulled"
    assert main(["pull", "--dicomweb", orthanc, "--study", "1.2.3", "-o", str(out),
                 "--user", USER, "--password", "wrong"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "HTTP 401" in err and "\n" not in err
    dead = f"http://127.0.0.1:{free_port()}/dicom-web"
    assert main(["pull", "--dicomweb", dead, "--study", "1.2.3", "-o", str(out),
                 "--attempts", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "cannot reach" in err and "\n" not in err
    assert main(["push", __file__, "--dicomweb", dead]) == 2  # not DICOM: refused first
    assert "not a readable DICOM file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_study_one_line(orthanc, tmp_path, capsys):
    out = tmp_path / "pulled"
    assert main(["pull", "--dicomweb", orthanc, "--study", "1.2.3.4.5", "-o", str(out),
                 *_auth()]) == 2
    err = capsys.readouterr().err.strip()
    assert "study 1.2.3.4.5 not found" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []

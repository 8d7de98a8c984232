"""Uploads name their study as the study list does, and say what is wrong with a bad one in
the user's own words (the name as uploaded, no server paths)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.server.helpers import LESION, make_client, make_data


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _series(data: Path, folder: str = "") -> dict[str, bytes]:
    return {f"{folder}{p.name}": p.read_bytes() for p in sorted((data / "dicom").iterdir())}


@pytest.mark.parametrize("folder", ["", "ct/", "export/CT_SERIES/"],
                         ids=["flat", "in-a-folder", "nested"])
def test_a_zipped_series_keeps_one_id_listed_and_restored(tmp_path, folder):
    data = make_data(tmp_path)
    members = {**_series(data, folder), "README.txt": b"exported by a PACS",
               "__MACOSX/ct/._0001.dcm": b"Finder metadata"}
    with make_client(tmp_path, data_dir=data) as c:
        r = c.post("/api/studies/upload", files={"file": ("ct.zip", _zip(members))})
        assert r.status_code == 200, r.text
        study = r.json()
        assert study["name"] == "ct" and study["modality"] == "CT"
        listed = [s for s in c.get("/api/studies").json() if s["id"] == study["id"]]
        assert listed == [study]
        assert len(c.get("/api/studies").json()) == 3  # ct.nii.gz, dicom, the upload
        sid = c.post("/api/sessions", json={"study_id": study["id"]}).json()["session_id"]
        c.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)})
        voxels = c.post(f"/api/sessions/{sid}/lesions/1/accept").json()["lesions"][0]["voxels"]
    with make_client(tmp_path, data_dir=data) as c:  # a restart on the same state
        listed = [s for s in c.get("/api/studies").json() if s["name"] == "ct"]
        assert [s["id"] for s in listed] == [study["id"]]
        again = c.post("/api/sessions", json={"study_id": study["id"]}).json()
        assert again["session_id"] == sid
        assert [(x["id"], x["voxels"], x["accepted"]) for x in again["lesions"]] == [
            (1, voxels, True)]


def test_a_zip_must_hold_one_dicom_series(tmp_path):
    data = make_data(tmp_path)
    nifti = (data / "ct.nii.gz").read_bytes()
    with make_client(tmp_path, data_dir=data) as c:
        two = {**_series(data, "a/"), **_series(data, "b/")}
        r = c.post("/api/studies/upload", files={"file": ("two.zip", _zip(two))})
        assert r.status_code == 400
        assert r.json()["detail"] == ("upload two.zip: the zip holds 2 studies (a, b); zip one "
                                      "DICOM series per upload")
        r = c.post("/api/studies/upload",
                   files={"file": ("nifti.zip", _zip({"ct.nii.gz": nifti}))})
        assert r.status_code == 400
        assert r.json()["detail"] == "upload nifti.zip: no DICOM series found in the zip"
        r = c.post("/api/studies/upload", files={"file": (".hidden.nii.gz", nifti)})
        assert r.status_code == 400
        assert r.json()["detail"] == ("upload .hidden.nii.gz: a file name must not start with "
                                      "a dot")
        assert [s["name"] for s in c.get("/api/studies").json()] == ["ct.nii.gz", "dicom"]
        assert not list((tmp_path / "state" / "uploads").iterdir())

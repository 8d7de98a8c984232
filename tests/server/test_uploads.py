"""Uploads name their study as the study list does, and say what is wrong with a bad one in
the user's own words (the name as uploaded, no server paths)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.server.helpers import LESION, make_client, make_data
from tumorseg.io import Volume, write_volume


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
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


def _flagged(members: dict[str, bytes], local: int, central: int, value: int) -> bytes:
    """A zip whose first member's 2-byte field at ``local`` (local header) and ``central``
    (central directory) offsets is ``value`` (general flags: encrypted; method: unknown)."""
    data = bytearray(_zip(members))
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.find(signature) + offset
        data[at:at + 2] = value.to_bytes(2, "little")
    return bytes(data)


def _nan_nifti(folder: Path) -> bytes:
    arr = np.zeros((6, 5, 4), np.float32)
    arr[1, 2, 3] = np.nan
    return write_volume(Volume(arr, (1.0, 1.0, 1.0)), folder / "nan.nii.gz").read_bytes()


def test_upload_errors_name_the_users_file_without_server_paths(tmp_path):
    data = make_data(tmp_path)
    series = _series(data)
    good = _zip(series, zipfile.ZIP_DEFLATED)
    damaged = bytearray(good)
    damaged[200:260] = b"\xff" * 60  # inside the first member's compressed data
    gap = {k: v for k, v in series.items() if k != sorted(series)[5]}
    cases = {
        "fake.nii.gz": (b"garbage", "upload fake.nii.gz: not a readable NIfTI image "
                                    "(damaged, or not a NIfTI file)"),
        "fake.zip": (b"garbage", "upload fake.zip: not a valid zip file"),
        "cut.zip": (good[: len(good) // 2], "upload cut.zip: not a valid zip file"),
        "damaged.zip": (bytes(damaged), "upload damaged.zip: the zip is damaged "
                                        f"({sorted(series)[0]} cannot be unpacked)"),
        "junk.zip": (_zip({"x.dcm": b"garbage"}),
                     "upload junk.zip: no readable DICOM series in the zip"),
        "nan.nii.gz": (_nan_nifti(tmp_path), "upload nan.nii.gz: contains 1 NaN and 0 "
                                             "infinite voxel values"),
        "locked.zip": (_flagged({"a.dcm": b"x" * 20}, 6, 8, 1),
                       "upload locked.zip: a.dcm is encrypted; password-protected zips are not "
                       "supported"),
        "odd.zip": (_flagged({"a.dcm": b"x" * 20}, 8, 10, 99),
                    "upload odd.zip: a.dcm is compressed with a method that is not supported "
                    "(use ordinary zip compression)"),
        "clash.zip": (_zip({"a": b"x", "a/b.dcm": b"y"}),
                      "upload clash.zip: a/b.dcm cannot be unpacked (a name in the zip is both "
                      "a file and a folder)"),
        "evil.zip": (_zip({"../../e.dcm": b"x"}),
                     "upload evil.zip: ../../e.dcm: '..' is not allowed in a path"),
    }
    with make_client(tmp_path, data_dir=data) as c:
        for name, (content, expected) in cases.items():
            r = c.post("/api/studies/upload", files={"file": (name, content)})
            assert r.status_code == (403 if name == "evil.zip" else 400), r.text
            assert r.json()["detail"] == expected
        r = c.post("/api/studies/upload", files={"file": ("gap.zip", _zip(gap))})
        detail = r.json()["detail"]
        assert r.status_code == 400
        assert detail.startswith("upload gap.zip: inconsistent DICOM series: "), detail
        assert str(tmp_path) not in detail and "stage" not in detail and "\n" not in detail

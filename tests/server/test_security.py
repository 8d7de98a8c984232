"""Token, path confinement, upload limits and zip safety, session isolation."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from tests.server.helpers import LESION, make_client, make_data, study_id
from tumorseg.errors import InputError
from tumorseg.io import write_volume
from tumorseg.server import ServerConfig, create_app
from tumorseg.server.security import PathRefused, confine, ensure_token, is_loopback


def test_token_needed_off_loopback(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    assert ensure_token("127.0.0.1", None) == (None, False)
    token, generated = ensure_token("0.0.0.0", None)
    assert generated and len(token) >= 40
    with pytest.raises(InputError, match="token"):
        create_app(ServerConfig(tmp_path, tmp_path / "s", host="0.0.0.0"))
    with make_client(tmp_path, host="0.0.0.0", token="s3cret") as c:
        assert c.get("/api/health").status_code == 403
        assert c.get("/api/studies", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert c.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/api/health?token=s3cret").status_code == 200
        assert c.get("/").status_code == 200  # the page itself carries no data


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../x", "C:\\x", "..", "a\\b"])
def test_confine_refuses(tmp_path, name):
    with pytest.raises(PathRefused):
        confine(tmp_path, name)


def test_confine_refuses_symlinks_out(tmp_path):
    (tmp_path / "root").mkdir()
    os.symlink("/etc", tmp_path / "root" / "link")
    with pytest.raises(PathRefused):
        confine(tmp_path / "root", "link/passwd")
    assert confine(tmp_path / "root", "a/b.nii.gz") == (tmp_path / "root" / "a/b.nii.gz").resolve()


def test_no_traversal_through_urls_or_symlinks(tmp_path):
    data = make_data(tmp_path)
    outside = tmp_path / "secret"
    outside.mkdir()
    write_volume(__import__("tumorseg.io", fromlist=["read_volume"]).read_volume(
        data / "ct.nii.gz"), outside / "private.nii.gz")
    os.symlink(outside, data / "linked_dir")
    os.symlink(outside / "private.nii.gz", data / "linked.nii.gz")
    with make_client(tmp_path, data_dir=data) as c:
        names = {s["name"] for s in c.get("/api/studies").json()}
        assert names == {"ct.nii.gz", "dicom"}  # symlinks out of the data folder not listed
        for url in ["/static/../../pyproject.toml", "/static/..%2f..%2fpyproject.toml",
                    "/vendor/niivue/..%2f..%2f..%2fpyproject.toml",
                    "/api/downloads/x/..%2f..%2ftumorseg.sqlite",
                    "/api/downloads/..%2f..%2f/etc%2fpasswd",
                    "/api/sessions/..%2f..%2fetc%2fpasswd/image.nii.gz"]:
            r = c.get(url)
            assert r.status_code in (403, 404), url
            assert b"[project]" not in r.content and b"root:" not in r.content
        for bad in ["../ct.nii.gz", "/etc/passwd", "..%2Fct.nii.gz", "linked.nii.gz"]:
            assert c.post("/api/sessions", json={"study_id": bad}).status_code == 404


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo("link")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, symlink)
    return buf.getvalue()


def test_uploads(tmp_path):
    data = make_data(tmp_path)
    nifti = (data / "ct.nii.gz").read_bytes()
    dicom = {p.name: p.read_bytes() for p in sorted((data / "dicom").iterdir())}
    with make_client(tmp_path, data_dir=data, max_upload_mb=0.05) as c:
        r = c.post("/api/studies/upload", files={"file": ("big.nii.gz", b"\0" * 2_000_000)})
        assert r.status_code == 413
    with make_client(tmp_path, data_dir=data) as c:
        r = c.post("/api/studies/upload", files={"file": ("mine.nii.gz", nifti)})
        assert r.status_code == 200, r.text
        study = r.json()
        assert study["name"] == "mine.nii.gz" and study["shape"] == [40, 36, 20]
        sid = c.post("/api/sessions", json={"study_id": study["id"]}).json()["session_id"]
        assert c.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)}).status_code == 200
        r = c.post("/api/studies/upload", files={"file": ("series.zip", _zip(dicom))})
        assert r.status_code == 200 and r.json()["modality"] == "CT"
        for evil in (_zip({"../../evil.dcm": b"x"}), _zip({"/tmp/evil.dcm": b"x"}),
                     _zip({"a.dcm": b"x"}, symlink="/etc/passwd")):
            r = c.post("/api/studies/upload", files={"file": ("evil.zip", evil)})
            assert r.status_code == 403, r.text
        assert not (tmp_path / "state" / "evil.dcm").exists()
        assert not (tmp_path / "evil.dcm").exists()
        assert c.post("/api/studies/upload", files={"file": ("../x.nii.gz", nifti)}
                      ).status_code in (403, 400)
        assert c.post("/api/studies/upload", files={"file": ("x.txt", b"hi")}).status_code == 400
        assert c.post("/api/studies/upload", files={"file": ("x.zip", b"not a zip")}
                      ).status_code == 400
        leftovers = [p.name for p in (tmp_path / "state" / "uploads").iterdir()]
        assert not [n for n in leftovers if n.startswith(".stage")]
        assert len({s["id"] for s in c.get("/api/studies").json()}) == 4


def test_one_session_cannot_touch_anothers_lesions(tmp_path):
    with make_client(tmp_path) as c:
        a = c.post("/api/sessions", json={"study_id": study_id(c, "ct.nii.gz")}).json()
        b = c.post("/api/sessions", json={"study_id": study_id(c, "dicom")}).json()
        assert a["session_id"] != b["session_id"]
        c.post(f"/api/sessions/{a['session_id']}/clicks", json={"ijk": list(LESION)})
        # session b has no lesion 1: accepting or deleting it there is refused, a is intact
        assert c.post(f"/api/sessions/{b['session_id']}/lesions/1/accept").status_code == 404
        assert c.delete(f"/api/sessions/{b['session_id']}/lesions/1").status_code == 404
        state_a = c.get(f"/api/sessions/{a['session_id']}").json()
        assert [x["id"] for x in state_a["lesions"]] == [1] and state_a["version"] == 1
        assert c.get(f"/api/sessions/{b['session_id']}/history").json() == []

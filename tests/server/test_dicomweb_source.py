"""``tumorseg serve --dicomweb``: a real Orthanc (DICOMweb plugin) as a study source.

A phantom CT series is pushed to Orthanc; the server lists it beside the local studies,
retrieves it on open (once: later opens read the cache), and a click on the lesion segments
it. A server that is down or refuses the password still lists the local studies and says
why; a series gone from the PACS is a 404; crafted ids never reach the file system.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import requests

from tests.io.dicom_factory import write_series
from tests.pacs.orthanc import PASSWORD, USER, free_port
from tests.server.helpers import LESION, SHAPE, make_client, phantom_array
from tumorseg.pacs.dicomweb import connect, push_files
from tumorseg.server import dicomweb_source
from tumorseg.server.app import DICOMWEB_ERROR_HEADER
from tumorseg.server.dicomweb_source import DicomwebSource
from tumorseg.server.security import PathRefused
from tumorseg.server.store import Store
from tumorseg.server.studies import study_id

LOCAL = {"ct.nii.gz", "dicom"}


def _push(orthanc: str, folder: Path, stored: np.ndarray, seed: str) -> tuple[str, str]:
    """Write ``stored`` as a CT series, store it in Orthanc; (study UID, series UID)."""
    files = write_series(folder, stored, spacing=(1.0, 1.0, 1.0), seed=seed)
    push_files(connect(orthanc, USER, PASSWORD), files)
    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


@pytest.fixture(scope="module")
def remote(orthanc, tmp_path_factory) -> tuple[str, str]:
    """The phantom CT (lesion at LESION) on Orthanc: (study UID, series UID)."""
    stored = (phantom_array().astype(np.int32) + 1024).astype(np.uint16)
    return _push(orthanc, tmp_path_factory.mktemp("remote_ct"), stored, seed="remote")


def _client(tmp: Path, url: str, password: str | None = PASSWORD):
    """The app on ``tmp`` (same data and state on every call); ``password`` None: the URL
    carries the credentials."""
    data = tmp / "data" if (tmp / "data").is_dir() else None
    return make_client(tmp, data_dir=data, dicomweb_url=url,
                       dicomweb_user=None if password is None else USER,
                       dicomweb_password=password)


def _remote_id(study: str, series: str) -> str:
    return study_id("dicomweb", f"{study}/{series}")


def _nifti(response) -> np.ndarray:
    assert response.status_code == 200
    return np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(response.content)).dataobj)


def _ball(centre, radius=4) -> np.ndarray:
    g = np.indices(SHAPE)
    return sum((g[a] - centre[a]) ** 2 for a in range(3)) <= radius**2


def test_list_open_click_and_reopen_from_cache(orthanc, remote, tmp_path, monkeypatch):
    retrieves = []
    real_pull = dicomweb_source.pull_series
    monkeypatch.setattr(dicomweb_source, "pull_series",
                        lambda *a, **k: retrieves.append(a[2]) or real_pull(*a, **k))
    rid = _remote_id(*remote)
    with _client(tmp_path, orthanc) as c:
        r = c.get("/api/studies")
        assert r.status_code == 200 and DICOMWEB_ERROR_HEADER not in r.headers
        rows = {s["id"]: s for s in r.json()}
        assert LOCAL <= {s["name"] for s in rows.values()}
        row = rows[rid]
        assert row["modality"] == "CT" and row["shape"] is None and row["spacing"] is None
        assert row["name"] == "Test^Phantom / series 1 [CT]"

        opened = c.post("/api/sessions", json={"study_id": rid})
        assert opened.status_code == 200, opened.text
        opened = opened.json()
        assert opened["shape"] == list(SHAPE) and opened["modality"] == "CT"
        assert retrieves == [remote[1]]
        cache = tmp_path / "state" / "dicomweb"
        assert [p.name for p in cache.iterdir()] == [remote[1]]  # no partial folder left
        assert len(list((cache / remote[1]).glob("*.dcm"))) == SHAPE[2]

        sid = opened["session_id"]
        image = _nifti(c.get(f"/api/sessions/{sid}/image.nii.gz"))
        assert image[LESION] == 150 and image[0, 0, 0] < 100  # same voxel order as local
        s = c.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)}).json()
        assert [x["id"] for x in s["lesions"]] == [1]
        np.testing.assert_array_equal(_nifti(c.get(f"/api/sessions/{sid}/mask.nii.gz")) == 1,
                                      _ball(LESION))
        assert c.post(f"/api/sessions/{sid}/lesions/1/accept").status_code == 200
        listed = {s["id"]: s for s in c.get("/api/studies").json()}[rid]
        assert listed["shape"] == list(SHAPE) and listed["spacing"] == [1.0, 1.0, 1.0]
        seg = c.post(f"/api/sessions/{sid}/export", json={"format": "seg"})
        assert seg.status_code == 200, seg.text  # the cached series is the SEG reference

    # a restart (credentials in the URL this time): the session comes back from the cache,
    # without a second retrieve
    in_url = orthanc.replace("http://", f"http://{USER}:{PASSWORD}@")
    with _client(tmp_path, in_url, password=None) as c:
        assert rid in {s["id"] for s in c.get("/api/studies").json()}
        again = c.post("/api/sessions", json={"study_id": rid}).json()
        assert again["session_id"] == sid and [x["id"] for x in again["lesions"]] == [1]
    assert retrieves == [remote[1]]
    # and with the PACS unreachable the cached series still opens
    with _client(tmp_path, f"http://127.0.0.1:{free_port()}/dicom-web") as c:
        assert c.post("/api/sessions", json={"study_id": rid}).status_code == 200
    assert "s3cret" not in (tmp_path / "state" / "server.json").read_text()


def test_remote_down_refused_or_gone(orthanc, remote, tmp_path):
    stored = np.full((8, 8, 3), 1000, np.uint16)
    gone = _push(orthanc, tmp_path / "gone_ct", stored, seed="gone")
    gid = _remote_id(*gone)
    with _client(tmp_path, orthanc) as c:
        assert gid in {s["id"] for s in c.get("/api/studies").json()}

    cases = [(_client(tmp_path, orthanc, password="wrong"), "HTTP 401"),
             (_client(tmp_path, f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/dicom-web",
                      password=None), "cannot reach")]
    for client, why in cases:
        with client as c:
            r = c.get("/api/studies")
            assert r.status_code == 200 and {s["name"] for s in r.json()} == LOCAL
            assert why in r.headers[DICOMWEB_ERROR_HEADER]
            assert PASSWORD not in r.headers[DICOMWEB_ERROR_HEADER]
            r = c.post("/api/sessions", json={"study_id": gid})
            assert r.status_code == 502 and why in r.json()["detail"]
            assert "\n" not in r.json()["detail"] and PASSWORD not in r.text

    base = orthanc.removesuffix("/dicom-web")
    found = requests.post(f"{base}/tools/lookup", data=gone[1], auth=(USER, PASSWORD)).json()
    assert requests.delete(f"{base}/series/{found[0]['ID']}", auth=(USER, PASSWORD)).ok
    with _client(tmp_path, orthanc) as c:
        r = c.post("/api/sessions", json={"study_id": gid})
        assert r.status_code == 404 and "not found" in r.json()["detail"]
    cache = tmp_path / "state" / "dicomweb"
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing half-retrieved


def test_crafted_ids_and_uids_never_reach_the_file_system(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/dicom-web"  # no request reaches a server here
    with _client(tmp_path, url) as c:
        for crafted in ("../../etc/passwd", "dicomweb/1.2.3/4.5.6", "1.2.3/4.5.6",
                        "/tmp/x", _remote_id("1.2", "3.4")):
            r = c.post("/api/sessions", json={"study_id": crafted})
            assert r.status_code == 404, (crafted, r.text)
        assert c.post("/api/sessions", json={"study_id": "1." * 40}).status_code == 422
        # a row with path pieces (as a hostile QIDO answer would give) is refused on open
        rel = "1.2/../../../outside"
        Store(tmp_path / "state" / "tumorseg.sqlite").put_study(
            {"id": "forged", "name": "x", "root": "dicomweb", "rel_path": rel})
        r = c.post("/api/sessions", json={"study_id": "forged"})
        assert r.status_code == 403 and "not a DICOMweb study" in r.json()["detail"]
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "state" / "dicomweb").exists()

    source = DicomwebSource(url, tmp_path / "cache")
    assert source.folder("1.2/3.4") == (tmp_path / "cache" / "3.4").resolve()
    for bad in ("1.2/../x", "1.2/3.4/5", "1.2/3.4\x00", "a.b/3.4", "1.2/" + "1." * 40 + "1"):
        with pytest.raises(PathRefused):
            source.folder(bad)
    rows = [{"uid": "1.2.3", "study_uid": "9.9", "modality": "CT", "patient": "P",
             "study_description": "", "description": "arterial", "number": 2},
            {"uid": "../../evil", "study_uid": "9.9", "modality": "CT", "patient": "",
             "study_description": "", "description": "", "number": ""}]
    monkeypatch.setattr(dicomweb_source, "search_series",
                        lambda client, study, modality, limit: rows if modality == "CT" else [])
    refs = source.list_studies()
    assert [(r.rel_path, r.name) for r in refs] == [("9.9/1.2.3", "P / arterial [CT]")]
    assert source.last_error is None

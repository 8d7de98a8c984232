"""``tumorseg serve --dicomweb``: a real Orthanc (DICOMweb plugin) as a study source.

A phantom CT series is pushed to Orthanc; the server lists it beside the local studies,
retrieves it on open (once: later opens read the cache), and a click on the lesion segments
it. A server that is down or refuses the password still lists the local studies and says
why; a series gone from the PACS is a 404; crafted ids never reach the file system.
"""

from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import requests

from tests.io.dicom_factory import write_series
from tests.pacs.orthanc import PASSWORD, USER, free_port
from tests.server.helpers import LESION, SHAPE, make_client, phantom_array
from tumorseg.errors import InputError
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


def _client(tmp: Path, url: str, password: str | None = PASSWORD, **config):
    """The app on ``tmp`` (same data and state on every call); ``password`` None: the URL
    carries the credentials; ``config``: more :class:`ServerConfig` fields."""
    data = tmp / "data" if (tmp / "data").is_dir() else None
    return make_client(tmp, data_dir=data, dicomweb_url=url,
                       dicomweb_user=None if password is None else USER,
                       dicomweb_password=password, **config)


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


# ------------------------------------------------------------------ listing cache
class _FakeQido:
    """Stands in for ``search_series``: counts the searches, answers ``rows`` for CT (or
    raises ``fail`` when set)."""

    def __init__(self, rows: list[dict], delay_s: float = 0.0) -> None:
        self.rows, self.delay_s, self.calls = rows, delay_s, 0
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self, client, study, modality=None, limit=None) -> list[dict]:
        with self._lock:
            self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)  # widens the window in which searches could overlap
        if self.fail is not None:
            raise self.fail
        return [dict(r) for r in self.rows] if modality == "CT" else []


def _row(series: str, instances: int | str = "", study: str = "9.9") -> dict:
    return {"uid": series, "study_uid": study, "modality": "CT", "patient": "P",
            "study_description": "", "description": f"s{series}", "number": 1,
            "instances": instances}


def _unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}/dicom-web"


def test_listing_is_cached_for_its_time_to_live(tmp_path, monkeypatch):
    qido = _FakeQido([_row("1.2.3")])
    monkeypatch.setattr(dicomweb_source, "search_series", qido)
    now = [1000.0]
    source = DicomwebSource(_unreachable(), tmp_path / "cache", refresh_s=60,
                            clock=lambda: now[0])
    first = source.list_studies()
    assert [r.rel_path for r in first] == ["9.9/1.2.3"] and qido.calls == 3  # CT, MR, PT
    now[0] += 59.9
    assert source.list_studies() == first and qido.calls == 3  # within the TTL: no request
    first.clear()  # callers get a copy: the cache is not theirs to change
    assert len(source.list_studies()) == 1
    now[0] += 0.1
    assert len(source.list_studies()) == 1 and qido.calls == 6  # expired: asked again

    # a failed search is not cached as success: empty, with the reason, asked again next time
    qido.fail = dicomweb_source.DicomwebError("http://pacs: HTTP 503 (request failed)", 503)
    now[0] += 61
    assert source.list_studies() == [] and source.last_error is not None
    assert "HTTP 503" in source.last_error and qido.calls == 7
    assert source.list_studies() == [] and qido.calls == 8  # same clock: still asks
    qido.fail = None
    assert len(source.list_studies()) == 1 and source.last_error is None and qido.calls == 11
    assert len(source.list_studies()) == 1 and qido.calls == 11

    always = DicomwebSource(_unreachable(), tmp_path / "c2", refresh_s=0, clock=lambda: now[0])
    always.list_studies()
    always.list_studies()
    assert qido.calls == 17
    with pytest.raises(InputError, match="refresh"):
        DicomwebSource(_unreachable(), tmp_path / "c3", refresh_s=-1)


def test_concurrent_listings_share_one_search(tmp_path, monkeypatch):
    qido = _FakeQido([_row("1.2.3")], delay_s=0.05)
    monkeypatch.setattr(dicomweb_source, "search_series", qido)
    source = DicomwebSource(_unreachable(), tmp_path / "cache")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: source.list_studies(), range(8)))
    assert all([r.rel_path for r in refs] == ["9.9/1.2.3"] for refs in results)
    assert qido.calls == 3  # one search per modality, not one per listing


def test_api_listing_uses_the_cache_and_the_cli_option(tmp_path, monkeypatch):
    qido = _FakeQido([_row("1.2.3")])
    monkeypatch.setattr(dicomweb_source, "search_series", qido)
    with _client(tmp_path, _unreachable()) as c:  # default TTL (60 s)
        for _ in range(3):
            assert _remote_id("9.9", "1.2.3") in {s["id"] for s in c.get("/api/studies").json()}
    assert qido.calls == 3  # the start-up listing, then two listings from the cache
    with make_client(tmp_path, data_dir=tmp_path / "data", dicomweb_url=_unreachable(),
                     dicomweb_refresh_s=0) as c:
        c.get("/api/studies")
        c.get("/api/studies")
    assert qido.calls == 3 + 9

    seen = {}

    def stop(config):
        seen["refresh"] = config.dicomweb_refresh_s
        raise InputError("stopped by the test")

    import tumorseg.server
    from tumorseg.cli.main import main

    monkeypatch.setattr(tumorseg.server, "create_app", stop)
    base = ["serve", "--data", str(tmp_path / "data"), "--state", str(tmp_path / "st"),
            "--dicomweb", _unreachable()]
    assert main([*base, "--dicomweb-refresh", "2.5"]) == 2 and seen["refresh"] == 2.5
    assert main(base) == 2 and seen["refresh"] == 60.0
    seen.clear()
    assert main([*base, "--dicomweb-refresh", "-1"]) == 2 and not seen  # refused by typer


# ------------------------------------------------------------------ stale series cache
def _fake_pull(files: int | Exception, calls: list):
    def pull(client, study, series, out, progress=None):
        calls.append(series)
        if isinstance(files, Exception):
            raise files
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for n in range(files):
            (out / f"{n}.dcm").write_bytes(b"new")
        return sorted(out.iterdir())
    return pull


def test_stale_cache_is_swapped_atomically_or_kept(tmp_path, monkeypatch):
    qido = _FakeQido([_row("1.2.3", instances=3), _row("1.2.4")])
    monkeypatch.setattr(dicomweb_source, "search_series", qido)
    cache = tmp_path / "cache"
    source = DicomwebSource(_unreachable(), cache, refresh_s=0)
    old = cache / "1.2.3"
    old.mkdir(parents=True)
    for n in range(2):
        (old / f"{n}.dcm").write_bytes(b"old")
    (cache / "1.2.4").mkdir()
    (cache / "1.2.4" / "0.dcm").write_bytes(b"old")
    assert not source.is_stale("9.9/1.2.3")  # no listing yet: count unknown
    source.list_studies()
    assert source.is_stale("9.9/1.2.3") and not source.is_stale("9.9/1.2.4")  # 1.2.4: unknown
    assert not source.is_stale("9.9/7.7")  # not cached

    calls: list = []
    monkeypatch.setattr(dicomweb_source, "pull_series",
                        _fake_pull(dicomweb_source.DicomwebError("HTTP 502", 502), calls))
    with pytest.raises(dicomweb_source.DicomwebError):
        source.refresh("9.9/1.2.3")
    assert sorted(p.read_bytes() for p in old.iterdir()) == [b"old", b"old"]  # kept whole
    assert sorted(p.name for p in cache.iterdir()) == ["1.2.3", "1.2.4"]  # no leftovers

    monkeypatch.setattr(dicomweb_source, "pull_series", _fake_pull(3, calls))
    assert source.fetch("9.9/1.2.3") == old.resolve() and len(calls) == 1  # fetch: as cached
    assert source.refresh("9.9/1.2.3") is True
    assert sorted(p.read_bytes() for p in old.iterdir()) == [b"new"] * 3
    assert sorted(p.name for p in cache.iterdir()) == ["1.2.3", "1.2.4"]
    assert source.refresh("9.9/1.2.3") is False and len(calls) == 2  # fresh now: no request
    assert source.refresh("9.9/1.2.4") is False and len(calls) == 2


def test_stale_series_on_orthanc_is_retrieved_again(orthanc, tmp_path):
    stored = np.full((8, 8, 5), 1000, np.uint16)
    files = write_series(tmp_path / "growing", stored, spacing=(1.0, 1.0, 1.0), seed="grow")
    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    rid = _remote_id(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
    cached = tmp_path / "state" / "dicomweb" / str(ds.SeriesInstanceUID)
    pacs = connect(orthanc, USER, PASSWORD)
    push_files(pacs, files[:3])  # the series is still arriving when first opened

    def reopen(**config):
        with _client(tmp_path, orthanc, **config) as c:
            r = c.post("/api/sessions", json={"study_id": rid})
            assert r.status_code == 200, r.text
            return c, r.json()

    with _client(tmp_path, orthanc, dicomweb_refresh_s=0) as c:
        assert c.post("/api/sessions", json={"study_id": rid}).json()["shape"] == [8, 8, 3]
        push_files(pacs, files[3:4])
        assert c.get("/api/studies").status_code == 200  # lists 4 instances now
        # the session is loaded: its volume (and SEG reference) stay the 3 files it read
        again = c.post("/api/sessions", json={"study_id": rid})
        assert again.status_code == 200 and again.json()["shape"] == [8, 8, 3]
        assert len(list(cached.iterdir())) == 3
    with _client(tmp_path, orthanc) as c:  # restarted: retrieved again, swapped in
        r = c.post("/api/sessions", json={"study_id": rid}).json()
        assert r["shape"] == [8, 8, 4] and len(list(cached.iterdir())) == 4
        assert _nifti(c.get(f"/api/sessions/{r['session_id']}/image.nii.gz")).shape == (8, 8, 4)
        assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name]
        sid = r["session_id"]
        assert c.post(f"/api/sessions/{sid}/clicks", json={"ijk": [4, 4, 2]}).status_code == 200
        assert c.post(f"/api/sessions/{sid}/lesions/1/accept").status_code == 200
    push_files(pacs, files[4:])
    with _client(tmp_path, orthanc) as c:  # accepted lesions are on the 4-slice grid: kept
        r = c.post("/api/sessions", json={"study_id": rid}).json()
        assert r["shape"] == [8, 8, 4] and [x["id"] for x in r["lesions"]] == [1]
        assert len(list(cached.iterdir())) == 4

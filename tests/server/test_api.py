"""The API round trip with a fake model on a tiny study: open, click, box, undo/redo, new
lesion, accept, delete, lesion table, history, mask patch, exports; errors and OpenAPI."""

from __future__ import annotations

import base64
import io

import nibabel as nib
import numpy as np
import pydicom
import pytest

from tests.server.helpers import LESION, SHAPE, make_client, make_data, study_id
from tumorseg.io import Volume, write_volume


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def _ball(centre, radius=4):
    g = np.indices(SHAPE)
    return sum((g[a] - centre[a]) ** 2 for a in range(3)) <= radius**2


def _mask(client, sid) -> np.ndarray:
    r = client.get(f"/api/sessions/{sid}/mask.nii.gz")
    assert r.status_code == 200
    img = nib.Nifti1Image.from_bytes(__import__("gzip").decompress(r.content))
    return np.asarray(img.dataobj)


def test_health_studies_and_openapi(client):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["model"]["version"] == "fake-1"
    studies = client.get("/api/studies").json()
    names = {s["name"]: s for s in studies}
    assert set(names) == {"ct.nii.gz", "dicom"}
    assert names["ct.nii.gz"]["shape"] == list(SHAPE)
    assert names["dicom"]["shape"] == list(SHAPE) and names["dicom"]["modality"] == "CT"
    assert client.get("/api/studies").json() == studies  # ids are stable
    schema = client.get("/openapi.json").json()
    assert "/api/sessions/{sid}/clicks" in schema["paths"]


def test_round_trip(client):
    sid_study = study_id(client, "ct.nii.gz")
    opened = client.post("/api/sessions", json={"study_id": sid_study}).json()
    sid = opened["session_id"]
    assert opened["shape"] == list(SHAPE) and opened["modality"] == "CT"  # NIfTI descrip
    assert opened["version"] == 0 and opened["lesions"] == [] and not opened["can_undo"]
    image = nib.Nifti1Image.from_bytes(__import__("gzip").decompress(
        client.get(f"/api/sessions/{sid}/image.nii.gz").content))
    assert image.shape == SHAPE and image.get_data_dtype() == np.int16
    assert np.asarray(image.dataobj)[LESION] == 150  # same i, j, k as the API

    s = client.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)}).json()
    assert s["version"] == 1 and s["active_lesion"] == 1 and s["can_undo"]
    assert [x["id"] for x in s["lesions"]] == [1]
    assert s["lesions"][0]["voxels"] == int(_ball(LESION).sum())
    assert s["changed"]["lo"] == [LESION[a] - 4 for a in range(3)]
    assert s["changed"]["hi"] == [LESION[a] + 4 for a in range(3)]
    np.testing.assert_array_equal(_mask(client, sid) == 1, _ball(LESION))

    # mask patch = the same voxels, Fortran order
    lo, hi = s["changed"]["lo"], s["changed"]["hi"]
    p = client.get(f"/api/sessions/{sid}/mask-patch",
                   params={"lo": ",".join(map(str, lo)), "hi": ",".join(map(str, hi))}).json()
    part = np.frombuffer(base64.b64decode(p["data"]), np.uint8).reshape(
        [b - a + 1 for a, b in zip(lo, hi, strict=True)], order="F")
    expect = _ball(LESION)[tuple(slice(a, b + 1) for a, b in zip(lo, hi, strict=True))]
    np.testing.assert_array_equal(part == 1, expect)

    # negative click, undo, redo
    s = client.post(f"/api/sessions/{sid}/clicks",
                    json={"ijk": [LESION[0] + 3, LESION[1], LESION[2]], "positive": False}).json()
    assert s["lesions"][0]["voxels"] < int(_ball(LESION).sum())
    s = client.post(f"/api/sessions/{sid}/undo").json()
    assert s["lesions"][0]["voxels"] == int(_ball(LESION).sum()) and s["can_redo"]
    s = client.post(f"/api/sessions/{sid}/redo").json()
    assert s["lesions"][0]["voxels"] < int(_ball(LESION).sum()) and not s["can_redo"]
    assert client.post(f"/api/sessions/{sid}/redo").status_code == 409

    # second lesion by box, accept, table
    s = client.post(f"/api/sessions/{sid}/new-lesion").json()
    assert s["active_lesion"] == 2
    s = client.post(f"/api/sessions/{sid}/box",
                    json={"lo": [28, 6, 4], "hi": [34, 12, 10]}).json()
    assert {x["id"] for x in s["lesions"]} == {1, 2}
    s = client.post(f"/api/sessions/{sid}/lesions/1/accept").json()
    assert [x["accepted"] for x in s["lesions"]] == [True, False]
    rows = client.get(f"/api/sessions/{sid}/lesions").json()
    assert [r["id"] for r in rows] == [1, 2] and rows[0]["accepted"]
    one = rows[0]
    assert one["volume_ml"] == pytest.approx(one["voxels"] / 1000.0)
    assert 0 < one["recist_short_mm"] <= one["recist_long_mm"] <= one["max_3d_mm"] <= 9.5
    # editing an accepted lesion takes its acceptance back
    s = client.post(f"/api/sessions/{sid}/clicks",
                    json={"ijk": [LESION[0], LESION[1] - 5, LESION[2]], "lesion": 1}).json()
    assert s["lesions"][0]["accepted"] is False
    s = client.post(f"/api/sessions/{sid}/lesions/1/accept").json()
    # delete lesion 2; unknown lesion is 404
    s = client.delete(f"/api/sessions/{sid}/lesions/2").json()
    assert [x["id"] for x in s["lesions"]] == [1]
    assert client.delete(f"/api/sessions/{sid}/lesions/2").status_code == 404
    assert client.post(f"/api/sessions/{sid}/undo").status_code == 409  # history rebuilt

    hist = client.get(f"/api/sessions/{sid}/history").json()
    actions = [e["action"] for e in hist]
    assert actions == ["click", "click", "undo", "redo", "new-lesion", "box", "accept",
                       "click", "accept", "delete"]
    assert hist[0]["ijk"] == list(LESION) and hist[0]["positive"] is True
    assert hist[0]["model_version"].startswith("BallModel@fake-1")
    assert hist[0]["seconds"] >= 0 and hist[5]["box"] == {"lo": [28, 6, 4], "hi": [34, 12, 10]}
    assert [e["version"] for e in hist] == list(range(1, 11))

    # re-opening the study returns the same session
    again = client.post("/api/sessions", json={"study_id": sid_study}).json()
    assert again["session_id"] == sid and again["version"] == 10


def test_exports(client):
    sid = client.post("/api/sessions", json={"study_id": study_id(client, "dicom")}
                      ).json()["session_id"]
    client.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)})
    url = client.post(f"/api/sessions/{sid}/export", json={"format": "nifti"}).json()["url"]
    assert url.startswith("/api/downloads/") and url.endswith("_mask.nii.gz")
    r = client.get(url)
    assert r.status_code == 200
    url = client.post(f"/api/sessions/{sid}/export", json={"format": "seg"}).json()["url"]
    ds = pydicom.dcmread(io.BytesIO(client.get(url).content))
    assert ds.Modality == "SEG" and len(ds.SegmentSequence) == 1
    assert int(np.asarray(ds.pixel_array).sum()) == int(_ball(LESION).sum())
    url = client.post(f"/api/sessions/{sid}/export", json={"format": "report"}).json()["url"]
    assert b"<html" in client.get(url).content[:200].lower()
    bad = url.rsplit("/", 1)[0] + "/other.html"
    assert client.get(bad).status_code == 404
    assert client.get("/api/downloads/nope/x.nii.gz").status_code == 404


def test_seg_of_a_nifti_study_is_a_conflict(client):
    sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                      ).json()["session_id"]
    client.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)})
    r = client.post(f"/api/sessions/{sid}/export", json={"format": "seg"})
    assert r.status_code == 409 and "DICOM" in r.json()["detail"]


def test_errors_are_one_line_json(client):
    assert client.post("/api/sessions", json={"study_id": "nope"}).status_code == 404
    r = client.get("/api/sessions/nope")
    assert r.status_code == 404 and r.json() == {"detail": "session nope: no such session"}
    sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                      ).json()["session_id"]
    r = client.post(f"/api/sessions/{sid}/clicks", json={"ijk": [1, 2]})
    assert r.status_code == 422 and "\n" not in r.json()["detail"]
    r = client.post(f"/api/sessions/{sid}/clicks", json={"ijk": [400, 2, 3]})
    assert r.status_code == 400 and "outside the image" in r.json()["detail"]
    r = client.post(f"/api/sessions/{sid}/export", json={"format": "png"})
    assert r.status_code == 422
    r = client.get(f"/api/sessions/{sid}/mask-patch", params={"lo": "0,0,0", "hi": "99,0,0"})
    assert r.status_code == 400
    assert client.post(f"/api/sessions/{sid}/undo").status_code == 409
    assert client.post(f"/api/sessions/{sid}/lesions/3/accept").status_code == 404


def test_auto_adds_lesions(tmp_path):
    def fake_auto(volume):
        return (np.asarray(volume.array) > 100).astype(np.uint8)

    with make_client(tmp_path, auto_model=fake_auto) as client:
        sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                          ).json()["session_id"]
        s = client.post(f"/api/sessions/{sid}/auto").json()
        assert [x["id"] for x in s["lesions"]] == [1]
        assert s["lesions"][0]["voxels"] == int(_ball(LESION).sum())
        assert client.get(f"/api/sessions/{sid}/history").json()[-1]["lesions_added"] == [1]


def test_studies_list_the_modality_written_into_a_nifti(tmp_path):
    """tumorseg writes a NIfTI's modality into its descrip field; the listing reads it there
    (as read_volume does), also for rows stored as "unknown" by earlier versions."""
    data = make_data(tmp_path)
    small = np.zeros((6, 5, 4), np.int16)
    write_volume(Volume(small, (1.0, 1.0, 1.0), modality="MR"), data / "mr.nii.gz")
    write_volume(Volume(small, (1.0, 1.0, 1.0)), data / "plain.nii.gz")
    with make_client(tmp_path, data_dir=data) as c:
        rows = {s["name"]: s for s in c.get("/api/studies").json()}
        assert rows["ct.nii.gz"]["modality"] == "CT"
        assert rows["mr.nii.gz"]["modality"] == "MR"
        assert rows["plain.nii.gz"]["modality"] == "unknown"
        stale = c.app.state.store.study(rows["ct.nii.gz"]["id"])
        c.app.state.store.put_study({**stale, "modality": "unknown"})
        rows = {s["name"]: s for s in c.get("/api/studies").json()}
        assert rows["ct.nii.gz"]["modality"] == "CT"


def _nifti(content: bytes) -> nib.Nifti1Image:
    return nib.Nifti1Image.from_bytes(__import__("gzip").decompress(content))


def test_nifti_export_is_uint8_up_to_255_lesions_and_holds_unaccepted_lesions(client):
    sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                      ).json()["session_id"]
    client.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION)})
    client.post(f"/api/sessions/{sid}/lesions/1/accept")
    client.post(f"/api/sessions/{sid}/new-lesion")
    client.post(f"/api/sessions/{sid}/box", json={"lo": [28, 6, 4], "hi": [34, 12, 10]})
    url = client.post(f"/api/sessions/{sid}/export", json={"format": "nifti"}).json()["url"]
    img = _nifti(client.get(url).content)
    assert img.get_data_dtype() == np.uint8
    assert set(np.unique(np.asarray(img.dataobj)).tolist()) == {0, 1, 2}  # 2 not accepted
    served = _nifti(client.get(f"/api/sessions/{sid}/mask.nii.gz").content)
    assert served.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(served.dataobj), np.asarray(img.dataobj))


def test_nifti_export_is_uint16_beyond_255_lesions(tmp_path):
    from tumorseg.server.exports import export_mask
    from tumorseg.server.store import Store

    volume = Volume(np.zeros((4, 4, 4), np.int16), (1.0, 1.0, 1.0), modality="CT")
    mask = np.zeros((4, 4, 4), np.uint16)
    mask[0, 0, 0], mask[1, 1, 1] = 1, 300
    store = Store(tmp_path / "db.sqlite")
    try:
        url = export_mask("nifti", volume, mask, "x.nii.gz", tmp_path / "x.nii.gz", "sid",
                          tmp_path, store)
    finally:
        store.close()
    token, name = url.split("/")[-2:]
    img = nib.load(tmp_path / "exports" / token / name)
    assert img.get_data_dtype() == np.uint16 and int(np.asarray(img.dataobj).max()) == 300


def test_lesion_numbers_must_exist(client):
    """select/click/box may name the active lesion or one with voxels or prompts; other
    numbers are 404 (new lesions come from new-lesion, so numbers never skip)."""
    sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                      ).json()["session_id"]
    url = f"/api/sessions/{sid}"
    assert client.post(f"{url}/select", json={"lesion": 1}).status_code == 200  # active
    for path, body in (("select", {"lesion": 50}),
                       ("clicks", {"ijk": list(LESION), "lesion": 99}),
                       ("box", {"lo": [28, 6, 4], "hi": [34, 12, 10], "lesion": 2})):
        r = client.post(f"{url}/{path}", json=body)
        assert r.status_code == 404, (path, r.text)
        n = body["lesion"]
        assert r.json()["detail"] == (f"lesion {n}: no such lesion in this session; start a "
                                      f"new lesion with POST /api/sessions/{sid}/new-lesion")
    s = client.get(url).json()
    assert s["version"] == 1 and s["active_lesion"] == 1 and s["lesions"] == []
    assert client.post(f"{url}/select", json={"lesion": 0}).status_code == 422  # schema

    s = client.post(f"{url}/clicks", json={"ijk": list(LESION), "lesion": 1}).json()
    assert [x["id"] for x in s["lesions"]] == [1]
    assert client.post(f"{url}/new-lesion").json()["active_lesion"] == 2
    assert client.post(f"{url}/select", json={"lesion": 2}).status_code == 200  # active, empty
    # a lesion with only a negative click (no voxels) still has prompts: it can be selected
    client.post(f"{url}/clicks", json={"ijk": [30, 8, 6], "positive": False})
    assert client.post(f"{url}/select", json={"lesion": 1}).status_code == 200
    assert client.post(f"{url}/select", json={"lesion": 2}).json()["active_lesion"] == 2
    assert client.post(f"{url}/select", json={"lesion": 3}).status_code == 404
    s = client.post(f"{url}/box", json={"lo": [28, 6, 4], "hi": [34, 12, 10], "lesion": 2})
    assert [x["id"] for x in s.json()["lesions"]] == [1, 2]


def _model_section(client, sid) -> dict[str, str]:
    """The report's "Model" table as {name: value}."""
    import re

    url = client.post(f"/api/sessions/{sid}/export", json={"format": "report"}).json()["url"]
    html = client.get(url).text
    table = html.split("<h2>Model</h2>", 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


def test_auto_is_credited_to_the_automatic_model(tmp_path):
    """History and report name the automatic model for lesions it made (they named the
    interactive model), also after a restart restores an accepted automatic lesion."""
    def fake_auto(volume):
        return (np.asarray(volume.array) > 100).astype(np.uint8)

    fake_auto.version = "auto-2"
    data = make_data(tmp_path)
    with make_client(tmp_path, data_dir=data, auto_model=fake_auto) as client:
        sid = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")}
                          ).json()["session_id"]
        assert _model_section(client, sid)["id"] == "BallModel@fake-1"  # nothing yet
        client.post(f"/api/sessions/{sid}/auto")
        assert _model_section(client, sid) == {"automatic model": "fake_auto@auto-2",
                                               "automatic model: lesions": "1"}
        client.post(f"/api/sessions/{sid}/new-lesion")
        client.post(f"/api/sessions/{sid}/box", json={"lo": [28, 6, 4], "hi": [34, 12, 10]})
        client.post(f"/api/sessions/{sid}/lesions/1/accept")
        hist = client.get(f"/api/sessions/{sid}/history").json()
        assert [(e["action"], e["model_version"]) for e in hist] == [
            ("auto", "fake_auto@auto-2"), ("new-lesion", None), ("box", "BallModel@fake-1"),
            ("accept", None)]
        assert hist[-1]["models"] == {"automatic": "fake_auto@auto-2"}
        assert _model_section(client, sid) == {
            "automatic model": "fake_auto@auto-2", "automatic model: lesions": "1",
            "interactive model": "BallModel@fake-1", "interactive model: lesions": "2"}
        # a click on the automatic lesion: both models made it
        client.post(f"/api/sessions/{sid}/clicks", json={"ijk": list(LESION), "lesion": 1})
        assert _model_section(client, sid)["interactive model: lesions"] == "1, 2"
        client.post(f"/api/sessions/{sid}/lesions/1/accept")
        client.post(f"/api/sessions/{sid}/clicks", json={"ijk": [30, 8, 6], "lesion": 2,
                                                         "positive": False})
    with make_client(tmp_path, data_dir=data, auto_model=fake_auto) as client:
        again = client.post("/api/sessions", json={"study_id": study_id(client, "ct.nii.gz")})
        assert [x["id"] for x in again.json()["lesions"]] == [1]  # 2 was never accepted
        assert _model_section(client, sid) == {
            "automatic model": "fake_auto@auto-2", "automatic model: lesions": "1",
            "interactive model": "BallModel@fake-1", "interactive model: lesions": "1"}


def test_auto_model_description():
    from types import SimpleNamespace

    from tumorseg.server.engine import auto_model_description

    def segment(volume):
        return volume

    assert auto_model_description(segment)["id"] == "segment@"
    one = SimpleNamespace(model_dir="/m/abdomen-ct-lesions",
                          manifest=SimpleNamespace(tumorseg_version="0.9"),
                          describe=lambda: {"weights_sha256": {"0": "ab" * 32}})
    assert auto_model_description(one) == {"name": "abdomen-ct-lesions", "version": "0.9",
                                           "sha256": "ab" * 32,
                                           "id": "abdomen-ct-lesions@0.9+abababab"}
    two = SimpleNamespace(model_dir="/m/x", manifest=None,
                          describe=lambda: {"weights_sha256": {"0": "a", "1": "b"}})
    described = auto_model_description(two)
    assert described["id"].startswith("x@+") and len(described["sha256"]) == 64

"""Eight sessions clicking at once: every click applied, in order, none lost."""

from __future__ import annotations

import shutil
import threading

from tests.server.helpers import LESION, BallModel, make_client, make_data

N_SESSIONS, N_CLICKS = 8, 6


def test_eight_sessions_click_concurrently(tmp_path):
    data = make_data(tmp_path)
    for n in range(1, N_SESSIONS):
        shutil.copy(data / "ct.nii.gz", data / f"ct{n}.nii.gz")
    model = BallModel()
    with make_client(tmp_path, data_dir=data, model=model) as c:
        studies = [s["id"] for s in c.get("/api/studies").json() if s["name"].startswith("ct")]
        assert len(studies) == N_SESSIONS
        sids = [c.post("/api/sessions", json={"study_id": s}).json()["session_id"]
                for s in studies]
        errors: list[str] = []
        versions: dict[str, list[int]] = {s: [] for s in sids}

        def user(sid: str, offset: int) -> None:
            for k in range(N_CLICKS):
                ijk = [LESION[0] + (k % 3) - 1, LESION[1] + offset % 3 - 1, LESION[2]]
                r = c.post(f"/api/sessions/{sid}/clicks",
                           json={"ijk": ijk, "positive": k != 3})
                if r.status_code != 200:
                    errors.append(r.text)
                else:
                    versions[sid].append(r.json()["version"])

        threads = [threading.Thread(target=user, args=(sid, n)) for n, sid in enumerate(sids)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert model.calls == N_SESSIONS * N_CLICKS
        for n, sid in enumerate(sids):
            assert versions[sid] == list(range(1, N_CLICKS + 1))  # applied in order
            hist = c.get(f"/api/sessions/{sid}/history").json()
            assert len(hist) == N_CLICKS
            assert [e["positive"] for e in hist] == [k != 3 for k in range(N_CLICKS)]
            assert [e["ijk"][1] for e in hist] == [LESION[1] + n % 3 - 1] * N_CLICKS


def test_one_session_keeps_its_click_order_under_parallel_sends(tmp_path):
    with make_client(tmp_path, model_workers=3) as c:
        sid = c.post("/api/sessions", json={"study_id": c.get("/api/studies").json()[0]["id"]}
                     ).json()["session_id"]
        threads = [threading.Thread(target=c.post, args=(f"/api/sessions/{sid}/clicks",),
                                    kwargs={"json": {"ijk": [LESION[0], LESION[1], LESION[2]]}})
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        hist = c.get(f"/api/sessions/{sid}/history").json()
        assert [e["version"] for e in hist] == list(range(1, 9))

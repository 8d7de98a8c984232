"""The session state exposes the active lesion's prompts (clicks and box), following undo,
redo, new lesion and select — what the viewer draws as click markers."""

from __future__ import annotations

import pytest

from tests.server.helpers import LESION, make_client, study_id


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def _clicks(state) -> list[tuple[list[int], bool]]:
    return [(c["ijk"], c["positive"]) for c in state["prompts"]["clicks"]]


def test_prompts_follow_clicks_undo_redo_and_lesions(client):
    opened = client.post("/api/sessions",
                         json={"study_id": study_id(client, "ct.nii.gz")}).json()
    sid = opened["session_id"]
    url = f"/api/sessions/{sid}"
    assert opened["prompts"] == {"clicks": [], "box": None}

    near = [LESION[0] + 3, LESION[1], LESION[2]]
    client.post(f"{url}/clicks", json={"ijk": list(LESION)})
    s = client.post(f"{url}/clicks", json={"ijk": near, "positive": False}).json()
    assert _clicks(s) == [(list(LESION), True), (near, False)]
    assert client.get(url).json()["prompts"] == s["prompts"]

    s = client.post(f"{url}/undo").json()
    assert _clicks(s) == [(list(LESION), True)]
    s = client.post(f"{url}/redo").json()
    assert _clicks(s) == [(list(LESION), True), (near, False)]

    # a box on a second lesion: its prompts are the box alone; lesion 1 keeps its clicks
    s = client.post(f"{url}/new-lesion").json()
    assert s["active_lesion"] == 2 and s["prompts"] == {"clicks": [], "box": None}
    s = client.post(f"{url}/box", json={"lo": [30, 5, 2], "hi": [25, 12, 8]}).json()
    assert s["prompts"] == {"clicks": [], "box": {"lo": [25, 5, 2], "hi": [30, 12, 8]}}
    s = client.post(f"{url}/select", json={"lesion": 1}).json()
    assert _clicks(s) == [(list(LESION), True), (near, False)] and s["prompts"]["box"] is None

"""Viewer upload, click markers and the box prompt, in a real browser (fixtures in
``conftest.py``: Debian's chromium with software WebGL, ``tumorseg serve`` on a free
loopback port). Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.web.helpers import click_voxel, shot, wait_overlay
from tumorseg.io import write_volume

pytestmark = pytest.mark.slow

GREEN = (52, 224, 122)  # markers.js POSITIVE_COLOR
RED = (255, 70, 70)  # markers.js NEGATIVE_COLOR


def _marks(page, view: int = 0) -> list[dict]:
    return page.evaluate(f"window.__tv.marks.filter(m => m.view === {view})")


def _pixel(page, x: float, y: float) -> tuple[int, int, int]:
    """RGB of the prompt canvas at device pixel (x, y)."""
    return tuple(page.evaluate(
        f"Array.from(document.querySelector('#prompts').getContext('2d')"
        f".getImageData({round(x)}, {round(y)}, 1, 1).data.slice(0, 3))"))


def _upload(page, path) -> None:
    page.set_input_files("#upload-file", str(path))


def _upload_phantom(page, case, path) -> dict:
    """Upload the phantom CT as the NIfTI ``path`` through the button; wait until the viewer
    has opened it; return its session info."""
    write_volume(case["ct"], path)
    _upload(page, path)
    page.wait_for_function(f"window.__tv.study && window.__tv.study.name === '{path.name}'"
                           " && window.__lastOverlayVersion >= 0", timeout=120_000)
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=120_000)
    return page.evaluate("window.__tv.study")


def test_upload_opens_the_study_and_bad_files_are_refused(page, server, case, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    _upload(page, bad)
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    text = page.locator("#error-text").inner_text()
    assert "notes.txt" in text and ".nii" in text, text
    assert page.evaluate("window.__tv.study") is None

    info = _upload_phantom(page, case, tmp_path / "uploaded_ct.nii.gz")
    assert tuple(info["shape"]) == case["ct"].shape
    assert page.locator("#error").is_hidden()
    names = [s["name"] for s in server.json("/api/studies")]
    assert "uploaded_ct.nii.gz" in names
    assert page.locator("#studies button.current").inner_text().startswith("uploaded_ct")
    assert page.locator("#busy").is_hidden() and page.evaluate("window.__tv.busyShown") >= 2
    shot(page, "10_uploaded.png")


def test_click_markers_and_box_prompt(page, server, case, tmp_path):
    sid = _upload_phantom(page, case, tmp_path / "markers_ct.nii.gz")["session_id"]
    dpr = page.evaluate("window.__tv.nv.uiData.dpr || 1")
    centre = case["centre"]
    assert _marks(page) == []

    # a positive click: a solid green dot in the axial view, at the clicked position
    click_voxel(page, centre, plane=0)
    state = server.json(f"/api/sessions/{sid}")
    assert state["prompts"]["clicks"] == [{"ijk": list(centre), "positive": True}]
    pos = page.evaluate(f"window.__tv.canvasPosOfVoxel({list(centre)}, 0)")
    (mark,) = _marks(page)
    assert mark["positive"] and mark["onSlice"]
    assert abs(mark["x"] / dpr - pos["x"]) < 1.5 and abs(mark["y"] / dpr - pos["y"]) < 1.5
    assert _pixel(page, mark["x"], mark["y"]) == GREEN
    assert len(page.evaluate("window.__tv.marks")) == 3  # axial, coronal, sagittal

    # a negative click two voxels off in-plane: a red dot there
    ni = case["ct"].shape[0]
    neg = (centre[0] + 2 if centre[0] + 2 < ni else centre[0] - 2, centre[1], centre[2])
    click_voxel(page, neg, plane=0, shift=True)
    reds = [m for m in _marks(page) if not m["positive"]]
    assert len(reds) == 1 and reds[0]["onSlice"]
    assert _pixel(page, reds[0]["x"], reds[0]["y"]) == RED
    shot(page, "11_markers.png")

    # two slices away: faded rings; five slices away: nothing in the axial view
    nk = case["ct"].shape[2]
    step = 1 if centre[2] + 5 < nk else -1
    page.evaluate(f"window.__tv.canvasPosOfVoxel({[centre[0], centre[1], centre[2] + 2 * step]})")
    near = _marks(page)
    assert len(near) == 2 and all(m["slices"] == 2 and not m["onSlice"] for m in near)
    assert _pixel(page, near[0]["x"], near[0]["y"]) != GREEN  # a ring: its centre is empty
    page.evaluate(f"window.__tv.canvasPosOfVoxel({[centre[0], centre[1], centre[2] + 5 * step]})")
    assert _marks(page) == []

    # undo (z) takes the red marker away
    version = page.evaluate("window.__lastOverlayVersion")
    page.keyboard.press("z")
    wait_overlay(page, version)
    page.evaluate(f"window.__tv.canvasPosOfVoxel({list(centre)}, 0)")
    assert [m["positive"] for m in _marks(page)] == [True]

    # delete the lesion (its clicks go), then the box tool (b): drag a rectangle around the
    # lesion in the axial view
    version = page.evaluate("window.__lastOverlayVersion")
    page.keyboard.press("Delete")
    wait_overlay(page, version)
    assert _marks(page) == []
    page.keyboard.press("b")
    assert page.locator("#box-tool").get_attribute("class") == "active"
    half = 4
    shape = case["ct"].shape
    a = (max(centre[0] - half, 0), max(centre[1] - half, 0), centre[2])
    b = (min(centre[0] + half, shape[0] - 1), min(centre[1] + half, shape[1] - 1), centre[2])
    pa = page.evaluate(f"window.__tv.canvasPosOfVoxel({list(a)}, 0)")
    pb = page.evaluate(f"window.__tv.canvasPosOfVoxel({list(b)}, 0)")
    gl = page.locator("#gl").bounding_box()
    version = page.evaluate("window.__lastOverlayVersion")
    page.mouse.move(gl["x"] + pa["x"], gl["y"] + pa["y"])
    page.mouse.down()
    page.mouse.move(gl["x"] + pb["x"], gl["y"] + pb["y"], steps=6)
    shot(page, "12_box_drag.png")
    page.mouse.up()
    wait_overlay(page, version)

    # the box sent: the rectangle in-plane, depth = larger in-plane side in mm, centred
    sp = case["ct"].spacing
    side_mm = max((b[0] - a[0] + 1) * sp[0], (b[1] - a[1] + 1) * sp[1])
    n = max(1, round(side_mm / sp[2]))
    k0 = max(0, centre[2] - (n - 1) // 2)
    k1 = min(shape[2] - 1, centre[2] - (n - 1) // 2 + n - 1)
    event = [h for h in server.json(f"/api/sessions/{sid}/history") if h["action"] == "box"][-1]
    assert event["box"] == {"lo": [a[0], a[1], k0], "hi": [b[0], b[1], k1]}
    state = server.json(f"/api/sessions/{sid}")
    assert state["prompts"] == {"clicks": [], "box": event["box"]}
    # the API reports the lesion, inside the box (the session keeps it within 1 voxel)
    lesion = state["active_lesion"]
    row = next(r for r in server.json(f"/api/sessions/{sid}/lesions") if r["id"] == lesion)
    lo, hi = np.array(row["bbox"][0]), np.array(row["bbox"][1])
    assert row["voxels"] > 0
    assert np.all(lo >= np.array(event["box"]["lo"]) - 1)
    assert np.all(hi <= np.array(event["box"]["hi"]) + 1)
    assert page.evaluate("window.__tv.overlayAt(window.__tv.lastBox.lo.map("
                         "(v, i) => Math.round((v + window.__tv.lastBox.hi[i]) / 2)))") == lesion
    assert len(page.evaluate("window.__tv.boxes")) >= 1  # the box drawn in the views
    assert page.locator("#error").is_hidden()
    shot(page, "13_box.png")

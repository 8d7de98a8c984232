"""Shared pieces of the browser tests: paths, the server's JSON client, and page helpers
(screenshots, opening a study, real mouse clicks on a voxel, overlay checks)."""

from __future__ import annotations

import gzip
import json
import socket
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "GOOD_MODEL_DICE", "NIIVUE", "PHANTOM_SEED",
           "REPO", "Api", "click_voxel", "free_port", "open_study", "overlay_matches",
           "require_browser", "shot", "wait_overlay"]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NIIVUE = REPO / "node_modules" / "@niivue" / "niivue" / "dist" / "index.js"
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]
PHANTOM_SEED = 3  # small abdomen-ct case; its largest lesion (the one clicked) is 37.7 mL
GOOD_MODEL_DICE = 0.8


def require_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    if not NIIVUE.exists():
        pytest.skip(f"{NIIVUE} missing: run `npm ci` in {REPO}")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed (dev extras)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """Tiny JSON client of the running server."""

    def __init__(self, base: str) -> None:
        self.base = base

    def raw(self, path: str, method: str = "GET", body: dict | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.read()

    def json(self, path: str, method: str = "GET", body: dict | None = None):
        return json.loads(self.raw(path, method, body))

    def mask(self, sid: str) -> np.ndarray:
        raw = self.raw(f"/api/sessions/{sid}/mask.nii.gz")
        img = nib.Nifti1Image.from_bytes(gzip.decompress(raw))
        return np.asarray(img.dataobj)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def open_study(page, server, name: str) -> dict:
    """Open the study called ``name`` in the viewer; return the server's session state."""
    studies = {s["name"]: s for s in server.json("/api/studies")}
    assert name in studies, list(studies)
    page.click(f"#studies button[data-study='{studies[name]['id']}']")
    page.wait_for_function("window.__lastOverlayVersion >= 0 && window.__tv.study", timeout=120_000)
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=120_000)
    return page.evaluate("window.__tv.study")


def wait_overlay(page, after: int) -> int:
    page.wait_for_function(f"window.__lastOverlayVersion > {after}", timeout=120_000)
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=120_000)
    return page.evaluate("window.__lastOverlayVersion")


def click_voxel(page, ijk, plane: int = 0, shift: bool = False) -> int:
    """A real mouse click on voxel ``ijk`` in a 2D view (0 axial, 1 coronal, 2 sagittal);
    waits for the overlay to update and returns its new version."""
    version = page.evaluate("window.__lastOverlayVersion")
    pos = page.evaluate(f"window.__tv.canvasPosOfVoxel({list(ijk)}, {plane})")
    assert pos is not None, f"voxel {ijk} not visible in plane {plane}"
    box = page.locator("#gl").bounding_box()
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    if shift:
        page.keyboard.up("Shift")
    return wait_overlay(page, version)


def overlay_matches(page, mask: np.ndarray, probes) -> None:
    """The browser's overlay holds the server's mask: same voxel count, same labels at probes."""
    count = page.evaluate("window.__tv.nv.drawBitmap.reduce((n, v) => n + (v > 0), 0)")
    assert count == int(np.count_nonzero(mask))
    for ijk in probes:
        assert page.evaluate(f"window.__tv.overlayAt({list(ijk)})") == int(mask[tuple(ijk)])

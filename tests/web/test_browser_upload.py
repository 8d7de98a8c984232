"""Uploads in a real browser: a file over the server's upload limit shows the server's
one-line reason (whether the server refuses it from its Content-Length before reading it, or
after reading it), and a NIfTI dropped on the views is uploaded and opened (fixtures in
``conftest.py``; this module's server runs with ``--max-upload-mb 2``). Screenshots go to
``test-artifacts/web/``.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.web.conftest import serve
from tests.web.helpers import shot
from tumorseg.io import write_volume

pytestmark = pytest.mark.slow

LIMIT_MB = 2  # the phantom CT (~1.1 MiB as .nii.gz) fits


@pytest.fixture(scope="module")
def server(case, model_dir, tmp_path_factory):
    """``tumorseg serve`` with a 2 MiB upload limit."""
    yield from serve(case, model_dir, tmp_path_factory, "--max-upload-mb", str(LIMIT_MB))


def _drop(page, name: str, data: bytes, target: str = "#viewport") -> None:
    """Drop a file called ``name`` holding ``data`` on ``target``, as a user dragging it
    from the desktop would (dragenter, dragover, drop with a DataTransfer built in the
    page)."""
    page.evaluate(
        """([name, b64, target]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], name, { type: "application/gzip" }));
          const el = document.querySelector(target);
          for (const type of ["dragenter", "dragover", "drop"]) {
            el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true,
                                                    dataTransfer: dt }));
          }
        }""", [name, base64.b64encode(data).decode(), target])


def _error_text(page) -> str:
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=60_000)
    return page.locator("#error-text").inner_text()


@pytest.mark.parametrize(("size_mb", "shown"), [
    # within the middleware's 1 MiB slack: stored, then refused by the size check
    (2.5, "upload too_big.nii.gz: larger than the upload limit of 2 MiB"),
    # refused from its Content-Length before the body is read
    (8.0, "upload: larger than the upload limit of 2 MiB")], ids=["read", "unread"])
def test_upload_over_the_limit_shows_the_servers_message(page, server, tmp_path, size_mb,
                                                         shown):
    big = tmp_path / "too_big.nii.gz"
    big.write_bytes(np.random.default_rng(0).bytes(int(size_mb * 2**20)))
    page.set_input_files("#upload-file", str(big))
    assert _error_text(page) == shown  # the server's detail, not JSON or "[object Object]"
    assert page.locator("#error").is_visible() and page.evaluate("window.__tv.study") is None
    assert "too_big.nii.gz" not in [s["name"] for s in server.json("/api/studies")]
    shot(page, f"20_upload_too_large_{size_mb:g}mb.png")


def test_dropping_a_nifti_uploads_and_opens_it(page, server, case, tmp_path):
    path = write_volume(case["ct"], tmp_path / "dropped_ct.nii.gz")
    _drop(page, "too_big.nii.gz", np.random.default_rng(1).bytes(3 * 2**20))
    assert _error_text(page) == "upload: larger than the upload limit of 2 MiB"

    _drop(page, path.name, path.read_bytes())
    page.wait_for_function("window.__tv.study && window.__tv.study.name === 'dropped_ct.nii.gz'"
                           " && window.__lastOverlayVersion >= 0", timeout=120_000)
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=120_000)
    info = page.evaluate("window.__tv.study")
    assert tuple(info["shape"]) == case["ct"].shape
    assert page.locator("#error").is_hidden() and page.locator("#drop-hint").is_hidden()
    assert "dropped_ct.nii.gz" in [s["name"] for s in server.json("/api/studies")]
    assert page.locator("#studies button.current").inner_text().startswith("dropped_ct")
    shot(page, "21_dropped.png")

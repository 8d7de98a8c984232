"""HTML → PDF (and screenshots) with headless Chromium, when it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tumorseg.errors import TumorsegError
from tumorseg.io import atomic_path

__all__ = ["CHROMIUM_NAMES", "find_chromium", "html_to_pdf", "html_to_png"]

#: Executable names tried, in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], what: Path) -> None:
    exe = find_chromium()
    if exe is None:
        raise TumorsegError(f"{what}: headless Chromium is needed for this and is not "
                            "installed (Debian: apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--disable-dev-shm-usage"]
    try:
        proc = subprocess.run([exe, *flags, *args], capture_output=True, text=True,
                              timeout=180, env={**os.environ, "HOME": os.environ.get(
                                  "HOME", "/tmp")})
    except subprocess.TimeoutExpired:
        raise TumorsegError(f"{what}: Chromium did not finish within 180 s") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise TumorsegError(f"{what}: Chromium failed (exit {proc.returncode}): {tail}")


def html_to_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` (A4, no header/footer) atomically; returns ``pdf``."""
    with atomic_path(pdf) as tmp:
        _run(["--no-pdf-header-footer", f"--print-to-pdf={tmp}", html.resolve().as_uri()], pdf)
        if tmp.stat().st_size == 0:
            raise TumorsegError(f"{pdf}: Chromium wrote an empty PDF")
    return pdf


def html_to_png(html: Path, png: Path, width: int = 1280, height: int = 4000) -> Path:
    """Screenshot ``html`` at ``width``×``height`` pixels to ``png`` atomically."""
    with atomic_path(png) as tmp:
        _run([f"--screenshot={tmp}", f"--window-size={width},{height}",
              html.resolve().as_uri()], png)
        if tmp.stat().st_size == 0:
            raise TumorsegError(f"{png}: Chromium wrote an empty screenshot")
    return png

"""Where the browser viewer's files are: our static page and NiiVue from ``node_modules``.

NiiVue is not copied into the repository; ``npm ci`` in the repository root installs it from
the committed ``package.json`` and lockfile into ``node_modules/@niivue/niivue/dist``. When it
is missing, ``/`` answers :func:`install_page`, and ``tumorseg serve`` prints
:data:`INSTALL_HINT`.
"""

from __future__ import annotations

import html
from pathlib import Path

__all__ = ["INSTALL_HINT", "REPO_ROOT", "STATIC_DIR", "find_niivue", "install_page"]

#: The repository root of a source checkout (where package.json lives).
REPO_ROOT = Path(__file__).resolve().parents[3]
#: The viewer's own files (index.html, scripts, styles).
STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
INSTALL_HINT = ("the browser viewer is not installed: run `npm ci` in the tumorseg repository "
                f"({REPO_ROOT}), or pass --viewer-modules DIR (a node_modules folder holding "
                "@niivue/niivue)")


def find_niivue(viewer_modules: Path | None = None) -> Path | None:
    """The ``@niivue/niivue/dist`` folder: under ``viewer_modules`` (a ``node_modules``
    folder, or the package or dist folder itself), else ``./node_modules``, else the
    repository's ``node_modules``; None when absent."""
    candidates = []
    if viewer_modules is not None:
        v = Path(viewer_modules)
        candidates += [v / "@niivue" / "niivue" / "dist", v / "dist", v]
    else:
        candidates += [Path.cwd() / "node_modules" / "@niivue" / "niivue" / "dist",
                       REPO_ROOT / "node_modules" / "@niivue" / "niivue" / "dist"]
    for c in candidates:
        if c.is_dir() and any(c.glob("*.js")):
            return c.resolve()
    return None


def install_page() -> str:
    """The page ``/`` answers when the viewer is missing."""
    return ("<!doctype html><html><head><meta charset='utf-8'><title>tumorseg viewer not "
            "installed</title></head><body><h1>The tumorseg viewer is not installed</h1>"
            f"<p>{html.escape(INSTALL_HINT)}.</p><pre>cd {html.escape(str(REPO_ROOT))}\n"
            "npm ci</pre><p>Then restart <code>tumorseg serve</code>. The API works "
            "without it: see <a href='/docs'>/docs</a>.</p></body></html>")

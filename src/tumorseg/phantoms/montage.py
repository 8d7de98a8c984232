"""PNG montages of a few slices with label contours, to look at phantoms (and predictions)."""

from __future__ import annotations

import io as _io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tumorseg.io import Volume, to_lps
from tumorseg.io.atomic import atomic_path

__all__ = ["WINDOWS", "save_figure", "save_montage"]

#: Display windows (low, high) for common contrasts.
WINDOWS: dict[str, tuple[float, float]] = {
    "ct-abdomen": (-160.0, 240.0),
    "ct-lung": (-1350.0, 150.0),
    "ct-bone": (-450.0, 1050.0),
    "pet-suv": (0.0, 8.0),
}

_CONTOUR_COLOURS = ["#ff3030", "#30ff60", "#3080ff", "#ffd000", "#ff40ff", "#40ffff"]


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Render a matplotlib figure to PNG (black background), close it, and write it
    atomically to ``path``. Returns the path."""
    import matplotlib.pyplot as plt

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="black")
    plt.close(fig)
    out = Path(path)
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.getvalue())
    return out


def _window(image: np.ndarray, window: tuple[float, float] | None) -> tuple[float, float]:
    if window is not None:
        return window
    lo, hi = np.percentile(image, [0.5, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1)


def _pick_slices(label: np.ndarray | None, nk: int, n: int) -> list[int]:
    if label is not None and label.any():
        ks = np.flatnonzero(label.reshape(-1, nk).any(axis=0))
        picks = np.linspace(ks.min(), ks.max(), n + 2)[1:-1] if len(ks) > n else ks
        return sorted({round(k) for k in picks})[:n]
    return [round(k) for k in np.linspace(0, nk - 1, n + 2)[1:-1]]


def save_montage(
    image: Volume,
    path: str | Path,
    label: Volume | None = None,
    n_slices: int = 4,
    window: tuple[float, float] | str | None = None,
    title: str | None = None,
    overlay: Volume | None = None,
    overlay_cmap: str = "hot",
    slices: Sequence[int] | None = None,
    second_label: Volume | None = None,
) -> Path:
    """Save axial slices (through the label when given) plus a coronal view as a PNG.

    Slices are shown in radiological convention (patient right on the image left, anterior up)
    with correct pixel aspect from the spacing. Label values are drawn as coloured contours.
    ``overlay`` (e.g. PET) is blended in colour. ``second_label`` (e.g. a prediction to
    compare with the reference ``label``) is drawn as dashed yellow contours. ``window`` is
    (low, high) or a key of :data:`WINDOWS`. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = to_lps(image)
    label = None if label is None else to_lps(label)
    overlay = None if overlay is None else to_lps(overlay)
    second = None if second_label is None else to_lps(second_label).array
    arr = image.array if not image.is_multichannel else image.array[0]
    lab = None if label is None else label.array
    win = WINDOWS[window] if isinstance(window, str) else _window(arr, window)
    ks = list(slices) if slices is not None else _pick_slices(lab, image.shape[2], n_slices)
    sx, sy, sz = image.spacing
    ncols = len(ks) + 1
    fig, axes = plt.subplots(1, ncols, figsize=(3.2 * ncols, 3.6), facecolor="black")
    axes = np.atleast_1d(axes)
    values = [] if lab is None else [v for v in np.unique(lab) if v != 0]

    def draw(ax, img2d, lab2d, ov2d, aspect, name, sec2d=None):
        ax.imshow(img2d, cmap="gray", vmin=win[0], vmax=win[1], aspect=aspect,
                  interpolation="nearest")
        if ov2d is not None:
            hi = float(np.percentile(overlay.array, 99.9)) or 1.0
            ax.imshow(np.ma.masked_less(ov2d, 0.05 * hi), cmap=overlay_cmap, vmin=0, vmax=hi,
                      alpha=0.55, aspect=aspect, interpolation="nearest")
        if lab2d is not None:
            for n, v in enumerate(values):
                m = lab2d == v
                if m.any():
                    ax.contour(m.astype(float), levels=[0.5],
                               colors=_CONTOUR_COLOURS[n % len(_CONTOUR_COLOURS)],
                               linewidths=0.9)
        if sec2d is not None and sec2d.any():
            ax.contour((sec2d > 0).astype(float), levels=[0.5], colors="#ffe000",
                       linewidths=0.9, linestyles="--")
        ax.set_title(name, color="white", fontsize=9)
        ax.axis("off")

    # array[i, j, k]: axial image rows = j (anterior→posterior), columns = i (right→left).
    for ax, k in zip(axes, ks, strict=False):
        draw(ax, arr[:, :, k].T, None if lab is None else lab[:, :, k].T,
             None if overlay is None else overlay.array[:, :, k].T, sy / sx, f"axial k={k}",
             None if second is None else second[:, :, k].T)
    j = image.shape[1] // 2
    if lab is not None and lab.any():
        j = int(np.flatnonzero(lab.any(axis=(0, 2))).mean())
    cor = np.flipud(arr[:, j, :].T)  # superior at the top
    draw(axes[-1], cor, None if lab is None else np.flipud(lab[:, j, :].T),
         None if overlay is None else np.flipud(overlay.array[:, j, :].T), sz / sx,
         f"coronal j={j}", None if second is None else np.flipud(second[:, j, :].T))
    if title:
        fig.suptitle(title, color="white", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)

"""PNG figures of the report: per-lesion orthogonal views with RECIST axes, a coronal MIP.

Every figure is drawn on the LPS-reoriented volumes of a
:class:`~tumorseg.measure.CaseMeasurements` in millimetres (``imshow`` extents in mm), so
pixels keep their true aspect ratio whatever the spacing. Radiological convention: axial
and coronal views show the patient's right on the image left; axial has anterior at the top,
coronal and sagittal superior at the top, sagittal anterior on the left. Returns PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from tumorseg.measure import CaseMeasurements, LesionMeasurement
from tumorseg.phantoms.montage import WINDOWS

__all__ = ["display_window", "lesion_views_png", "mip_png", "uncertainty_png"]

LESION_COLOUR = "#ff3b30"
OTHER_COLOUR = "#ffd60a"
LONG_COLOUR = "#00e5ff"
SHORT_COLOUR = "#ff4fd8"
_BOX = dict(facecolor="black", alpha=0.55, edgecolor="none", pad=1.5)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def display_window(result: CaseMeasurements) -> tuple[float, float]:
    """Grey-level window: the abdomen CT window for CT, else the 1st–99.5th percentile."""
    if result.summary.modality == "CT":
        return WINDOWS["ct-abdomen"]
    arr = np.asarray(result.image_lps.array)
    sample = arr[:: max(1, arr.shape[0] // 64), :: max(1, arr.shape[1] // 64), :]
    lo, hi = np.percentile(sample, [1.0, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def _png(fig) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor=fig.get_facecolor(),
                bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    return buf.getvalue()


def _axes_mm(n: int, s: float) -> np.ndarray:
    return np.arange(n) * s


def _orientation(ax, letters: Sequence[str]) -> None:
    """Orientation letters (left, right, top) inside the panel."""
    style = dict(color="white", fontsize=9, transform=ax.transAxes, fontweight="bold",
                 bbox=_BOX)
    ax.text(0.02, 0.5, letters[0], ha="left", va="center", **style)
    ax.text(0.98, 0.5, letters[1], ha="right", va="center", **style)
    ax.text(0.5, 0.98, letters[2], ha="center", va="top", **style)


def _scale_bar(ax, x0: float, x1: float, y: float, inverted: bool) -> None:
    span = x1 - x0
    length = 10.0 if span < 150 else 50.0
    start = x0 + 0.05 * span
    ax.plot([start, start + length], [y, y], color="white", linewidth=2.5, solid_capstyle="butt")
    del inverted  # va="bottom" is in display space: the label sits above the bar either way
    ax.annotate(f"{length:g} mm", (start + length / 2, y), xytext=(0, 4),
                textcoords="offset points", color="white", fontsize=8, ha="center",
                va="bottom", bbox=_BOX)


def _view(ax, img2d: np.ndarray, lab2d: np.ndarray, xs: np.ndarray, ys: np.ndarray,
          lesion_id: int, window: tuple[float, float], centre: tuple[float, float],
          half: float, y_down: bool, letters: Sequence[str], title: str) -> None:
    """One panel: ``img2d`` indexed [x, y] with coordinates ``xs``, ``ys`` in mm."""
    dx = xs[1] - xs[0] if len(xs) > 1 else 1.0
    dy = ys[1] - ys[0] if len(ys) > 1 else 1.0
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
    ax.set_facecolor("black")  # outside the scan
    ax.imshow(img2d.T, cmap="gray", vmin=window[0], vmax=window[1], origin="lower",
              extent=extent, interpolation="nearest")
    others = (lab2d != 0) & (lab2d != lesion_id)
    if others.any():
        ax.contour(xs, ys, others.T.astype(float), levels=[0.5], colors=OTHER_COLOUR,
                   linewidths=1.0, linestyles="--")
    own = lab2d == lesion_id
    if own.any():
        ax.contour(xs, ys, own.T.astype(float), levels=[0.5], colors=LESION_COLOUR,
                   linewidths=1.4)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    y0, y1 = centre[1] - half, centre[1] + half
    ax.set_ylim((y1, y0) if y_down else (y0, y1))
    ax.set_aspect("equal")
    _scale_bar(ax, centre[0] - half, centre[0] + half,
               (y1 - 0.06 * 2 * half) if y_down else (y0 + 0.06 * 2 * half), y_down)
    _orientation(ax, letters)
    ax.set_title(title, color="white", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def lesion_views_png(result: CaseMeasurements, lesion: LesionMeasurement,
                     window: tuple[float, float] | None = None) -> bytes:
    """Axial, coronal and sagittal views through the lesion's centroid, zoomed on it.

    The lesion is outlined in red, other lesions dashed yellow; the axial view is the RECIST
    slice, with the long axis in cyan and the short axis in magenta.
    """
    plt = _plt()
    vol = result.image_lps
    arr = np.asarray(vol.array)
    lab = np.asarray(result.lesions_lps.array)
    sx, sy, sz = vol.spacing
    ni, nj, nk = vol.shape
    c = np.rint(vol.world_to_index(lesion.centroid_mm)).astype(int)
    c = np.clip(c, 0, np.array(vol.shape) - 1)
    ci, cj, ck = (int(v) for v in c)
    win = window or display_window(result)
    if window is None and result.summary.modality == "CT":
        r = np.maximum(np.rint(40.0 / np.asarray(vol.spacing)).astype(int), 1)
        around = arr[max(ci - r[0], 0):ci + r[0] + 1, max(cj - r[1], 0):cj + r[1] + 1, ck]
        if float(np.median(around)) < -400:  # a lesion in the lung: lung window
            win = WINDOWS["ct-lung"]
    long_idx = short_idx = None
    if lesion.recist_long_points_mm is not None and lesion.recist_short_points_mm is not None:
        long_idx = vol.world_to_index(np.asarray(lesion.recist_long_points_mm))
        short_idx = vol.world_to_index(np.asarray(lesion.recist_short_points_mm))
        ck = int(np.clip(np.rint(long_idx[:, 2].mean()), 0, nk - 1))
    half = max(40.0, 1.5 * lesion.max_diameter_3d_mm)
    xs, ys, zs = _axes_mm(ni, sx), _axes_mm(nj, sy), _axes_mm(nk, sz)
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.7), facecolor="black")
    # axial: x = i (right→left), y = j (anterior at the top)
    names = [result.file_slice((ci, cj, ck), a) for a in range(3)]  # the file's numbering
    titles = [f"{n}={v}" for n, v in names]
    _view(axes[0], arr[:, :, ck], lab[:, :, ck], xs, ys, lesion.lesion_id, win,
          (ci * sx, cj * sy), half, True, ("R", "L", "A"),
          f"axial (RECIST slice {titles[2]})")
    if long_idx is not None and short_idx is not None:
        for pts, colour in ((long_idx, LONG_COLOUR), (short_idx, SHORT_COLOUR)):
            axes[0].plot(pts[:, 0] * sx, pts[:, 1] * sy, color=colour, linewidth=1.6,
                         marker="o", markersize=3)
    # coronal: x = i, y = k (superior at the top)
    _view(axes[1], arr[:, cj, :], lab[:, cj, :], xs, zs, lesion.lesion_id, win,
          (ci * sx, ck * sz), half, False, ("R", "L", "S"), f"coronal {titles[1]}")
    # sagittal: x = j (anterior on the left), y = k
    _view(axes[2], arr[ci, :, :], lab[ci, :, :], ys, zs, lesion.lesion_id, win,
          (cj * sy, ck * sz), half, False, ("A", "P", "S"), f"sagittal {titles[0]}")
    fig.tight_layout(pad=0.6)
    return _png(fig)


def _mip_panel(ax, mip: np.ndarray, lab: np.ndarray, xs: np.ndarray, zs: np.ndarray,
               window: tuple[float, float], cmap: str, ids: Sequence[int],
               centres: Sequence[tuple[float, float]]) -> object:
    dx = xs[1] - xs[0] if len(xs) > 1 else 1.0
    dz = zs[1] - zs[0] if len(zs) > 1 else 1.0
    image = ax.imshow(mip.T, cmap=cmap, vmin=window[0], vmax=window[1], origin="lower",
                      extent=(xs[0] - dx / 2, xs[-1] + dx / 2, zs[0] - dz / 2, zs[-1] + dz / 2),
                      interpolation="bilinear")
    for lesion_id, (x, z) in zip(ids, centres, strict=True):
        proj = (lab == lesion_id).any(axis=1)
        if proj.any():
            ax.contour(xs, zs, proj.T.astype(float), levels=[0.5], colors=LESION_COLOUR,
                       linewidths=1.2)
        ax.text(x + 6 * dx, z, str(lesion_id), color=OTHER_COLOUR, fontsize=10,
                fontweight="bold", va="center", bbox=_BOX)
    ax.set_aspect("equal")
    _orientation(ax, ("R", "L", "S"))
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _projected_centres(result: CaseMeasurements) -> tuple[list[int], list[tuple[float, float]]]:
    vol = result.image_lps
    ids, centres = [], []
    for lesion in result.lesions:
        i, _, k = vol.world_to_index(lesion.centroid_mm)
        ids.append(lesion.lesion_id)
        centres.append((float(i) * vol.spacing[0], float(k) * vol.spacing[2]))
    return ids, centres


def mip_png(result: CaseMeasurements) -> bytes:
    """Coronal maximum intensity projection (of the PET when given, else of the image)
    with every lesion's projected outline and number."""
    plt = _plt()
    source = result.pet_lps if result.pet_lps is not None else result.image_lps
    arr = np.asarray(source.array, dtype=np.float32)
    mip = arr.max(axis=1)
    if result.pet_lps is not None:
        window, cmap, what = (0.0, float(max(np.percentile(mip, 99.5), 1e-3))), "gray_r", "PET"
    else:
        lo, hi = np.percentile(mip, [1.0, 99.7])
        window, cmap, what = (float(lo), float(hi if hi > lo else lo + 1)), "gray", "image"
    sx, _, sz = source.spacing
    xs, zs = _axes_mm(source.shape[0], sx), _axes_mm(source.shape[2], sz)
    width_mm, height_mm = xs[-1] + sx, zs[-1] + sz
    height = min(9.0, max(3.5, 6.0 * height_mm / width_mm))
    fig, ax = plt.subplots(figsize=(6.0, height), facecolor="black")
    ids, centres = _projected_centres(result)
    _mip_panel(ax, mip, np.asarray(result.lesions_lps.array), xs, zs, window, cmap, ids,
               centres)
    ax.set_title(f"coronal MIP of the {what}, all lesions", color="white", fontsize=10)
    fig.tight_layout(pad=0.5)
    return _png(fig)


def uncertainty_png(result: CaseMeasurements) -> bytes:
    """Coronal maximum projection of the voxel uncertainty (0–1) with the lesion outlines."""
    if result.uncertainty_lps is None:
        raise ValueError("no uncertainty map")
    plt = _plt()
    unc = np.asarray(result.uncertainty_lps.array, dtype=np.float32)
    sx, _, sz = unc_spacing = result.uncertainty_lps.spacing
    del unc_spacing
    xs, zs = _axes_mm(unc.shape[0], sx), _axes_mm(unc.shape[2], sz)
    height = min(9.0, max(3.5, 6.0 * (zs[-1] + sz) / (xs[-1] + sx)))
    fig, ax = plt.subplots(figsize=(6.6, height), facecolor="black")
    ids, centres = _projected_centres(result)
    image = _mip_panel(ax, unc.max(axis=1), np.asarray(result.lesions_lps.array), xs, zs,
                       (0.0, 1.0), "magma", ids, centres)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.ax.tick_params(colors="white", labelsize=8)
    bar.set_label("uncertainty (normalised entropy)", color="white", fontsize=8)
    ax.set_title("maximum projection of the voxel uncertainty", color="white", fontsize=10)
    fig.tight_layout(pad=0.5)
    return _png(fig)

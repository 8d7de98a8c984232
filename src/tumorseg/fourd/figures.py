"""PNG figures of an ITV run: the tumor centroid per axis against phase, and the ITV on the
maximum intensity projection. Rendered with matplotlib's Agg backend, written atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tumorseg.fourd.motion import Motion
from tumorseg.io import Volume
from tumorseg.phantoms.montage import WINDOWS, save_figure

__all__ = ["save_itv_on_mip", "save_motion_plot"]

_AXES = (("x (mm, +left)", 0), ("y (mm, +posterior)", 1), ("z (mm, +superior)", 2))


def save_motion_plot(motions: Mapping[str, Motion], path: str | Path,
                     phase_labels: Sequence[str] | None = None) -> Path:
    """Tumor centroid (LPS mm, relative to its mean) per axis against phase, one line per
    method; the peak-to-peak amplitude per axis in each panel's title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), facecolor="black")
    colours = ("#ffd000", "#30a0ff", "#ff3030")
    for (label, a), ax in zip(_AXES, axes, strict=True):
        ax.set_facecolor("black")
        title = []
        for (name, m), colour in zip(motions.items(), colours, strict=False):
            c = m.centroids_mm[:, a]
            phases = np.arange(len(c))
            ax.plot(phases, c - np.nanmean(c), "-o", color=colour, ms=3, label=name)
            title.append(f"{name} {m.amplitude_mm[a]:.1f}")
        ax.set_xlabel("phase", color="white", fontsize=8)
        ax.set_ylabel(label, color="white", fontsize=8)
        ax.set_title("amplitude mm: " + ", ".join(title), color="white", fontsize=8)
        if phase_labels is not None:
            ax.set_xticks(range(len(phase_labels)))
            ax.set_xticklabels(phase_labels, fontsize=6, rotation=45)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(colors="white", labelsize=7)
        for spine in ax.spines.values():
            spine.set_color("white")
    axes[0].legend(fontsize=7, facecolor="black", labelcolor="white")
    fig.suptitle("tumor centroid per phase (relative to its mean)", color="white", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def save_itv_on_mip(mip: Volume, itv: np.ndarray, reference_gtv: np.ndarray,
                    path: str | Path) -> Path:
    """Axial, coronal and sagittal slices of the MIP through the ITV's centre, lung window,
    with the ITV (yellow) and the reference-phase GTV (red, dashed) outlined.

    Axial: patient right on the image left, anterior up; coronal/sagittal: superior up.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ci, cj, ck = (round(float(v)) for v in np.argwhere(itv).mean(axis=0))
    sx, sy, sz = mip.spacing
    a = mip.array
    views = (
        ("axial", a[:, :, ck].T, itv[:, :, ck].T, reference_gtv[:, :, ck].T, sy / sx),
        ("coronal", np.flipud(a[:, cj, :].T), np.flipud(itv[:, cj, :].T),
         np.flipud(reference_gtv[:, cj, :].T), sz / sx),
        ("sagittal", np.flipud(a[ci, :, :].T), np.flipud(itv[ci, :, :].T),
         np.flipud(reference_gtv[ci, :, :].T), sz / sy),
    )
    lo, hi = WINDOWS["ct-lung"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), facecolor="black")
    for ax, (name, img, m_itv, m_ref, aspect) in zip(axes, views, strict=True):
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="bilinear")
        for m, colour, style in ((m_itv, "#ffd000", "-"), (m_ref, "#ff3030", "--")):
            if m.any():
                ax.contour(m.astype(float), levels=[0.5], colors=colour, linewidths=1.0,
                           linestyles=style)
        ax.set_title(f"MIP {name}: ITV (yellow), reference GTV (red)", color="white",
                     fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)

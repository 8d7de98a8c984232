"""Classical click-driven segmenters: the baselines the click-guided model is measured against.

Both work like the model: given the image and the clicks so far (positive and negative, voxel
indices ``(i, j, k)``), return a boolean mask of the object on the image's grid. Both work
inside a region of interest (ROI) around the positive clicks — their bounding box grown by
``margin_mm`` on every side, clipped to the volume; while the object reaches the ROI's
border the margin is doubled, up to ``max_margin_mm`` — and leave everything outside it
empty, so one click costs about the same on a 512×512×100 CT as on a small crop.

- :func:`random_walker_segment`: scikit-image's random walker (Grady 2006). Seeds: a ball of
  ``seed_radius_mm`` around the first click and of ``correction_radius_mm`` around later
  ones, label 1 for positive and 2 for negative clicks, painted in click order so a later
  click wins, plus the six faces of the ROI (label 2, background). The
  image is scaled to [0, 1] between the ROI's 0.5th and 99.5th percentiles; ``beta`` sets how
  strongly edges stop the walk (scikit-image divides it by 10·std of the data, so it is
  scale-free); ``mode="cg_j"`` (conjugate gradient, Jacobi preconditioner) needs no extra
  package. Anisotropic spacing is passed on, relative to the finest axis. ROIs above
  ``max_roi_voxels`` are solved on a coarser grid so one click stays within seconds.
- :func:`region_growing_segment`: SimpleITK region growing (optionally after Gaussian smoothing):
  ``ConfidenceConnected`` at the first positive click gives an intensity interval (mean ±
  ``multiplier``·std), widened to include every later positive click's intensity (negative
  clicks act in space only); ``ConnectedThreshold`` grows from every positive click; a ball
  of ``negative_radius_mm`` around each negative click is cut out, with every voxel closer
  (in mm) to a negative click than to all positive ones, and only the parts still connected
  to a positive click are kept; holes are filled. When the result still reaches the border
  of the largest ROI (a leak, not a large lesion), it is grown again with the multiplier
  scaled by the next ``backoff`` factor.

:class:`RandomWalkerSegmenter` and :class:`RegionGrowingSegmenter` wrap them in the
``start(volume, prior)`` / ``update(click)`` interface of
:class:`tumorseg.interactive.evaluation.ClickSegmenter` (they ignore the prior mask).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cc3d
import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from tumorseg.interactive.prompts import Click
from tumorseg.io import Volume

__all__ = [
    "RandomWalkerConfig",
    "RandomWalkerSegmenter",
    "RegionGrowingConfig",
    "RegionGrowingSegmenter",
    "click_roi",
    "random_walker_segment",
    "region_growing_segment",
    "scale_to_unit",
    "walk",
]

Slices = tuple[slice, slice, slice]


@dataclass(frozen=True)
class RandomWalkerConfig:
    """Parameters of :func:`random_walker_segment` (lengths in mm).

    ``beta`` and ``seed_radius_mm`` were chosen on training-stream phantoms (abdomen-ct and
    brain-mri, seed 7, "Tr"), never on test or real cases: Dice after one click rose from 0.31
    (scikit-image's default beta 130, 3 mm seeds) to 0.82 (5000, 5 mm) on 10 lesions.
    """

    margin_mm: float = 25.0
    max_margin_mm: float = 100.0
    seed_radius_mm: float = 5.0
    correction_radius_mm: float = 2.0
    beta: float = 5000.0
    mode: str = "cg_j"
    tol: float = 1e-2
    max_roi_voxels: int = 400_000


@dataclass(frozen=True)
class RegionGrowingConfig:
    """Parameters of :func:`region_growing_segment` (lengths in mm).

    No smoothing by default: on noisy synthetic spheres a 1 mm Gaussian shrank the one-click
    Dice from about 0.99 to 0.4–0.8 (the blurred rim falls outside mean ± 2.5 std). The
    ``backoff`` leak guard raised the one-click Dice on 10 training-stream phantom lesions
    (abdomen-ct and brain-mri, seed 7, "Tr") from 0.51 to 0.68.
    """

    margin_mm: float = 25.0
    max_margin_mm: float = 100.0
    multiplier: float = 2.5
    backoff: tuple[float, ...] = (1.0, 0.75, 0.5)
    iterations: int = 3
    neighborhood_radius: int = 1
    smoothing_sigma_mm: float = 0.0
    negative_radius_mm: float = 4.0
    fill_holes: bool = True


def click_roi(shape: Sequence[int], spacing: Sequence[float], clicks: Sequence[Click],
              margin_mm: float) -> Slices:
    """Slices of the bounding box of ``clicks`` grown by ``margin_mm``, clipped to ``shape``."""
    if not clicks:
        raise ValueError("a region of interest needs at least one click")
    idx = np.array([c.index for c in clicks])
    pad = np.ceil(margin_mm / np.asarray(spacing, dtype=float)).astype(int)
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = np.minimum(idx.max(axis=0) + pad + 1, np.asarray(shape))
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def _ball_offsets(radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Integer offsets (n, 3) of the voxels within ``radius_mm`` of a centre (centre included)."""
    sp = np.asarray(spacing, dtype=float)
    r = np.floor(radius_mm / sp).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-n, n + 1) for n in r], indexing="ij"), -1)
    offsets = grid.reshape(-1, 3)
    keep = (((offsets * sp) ** 2).sum(axis=1)) <= radius_mm ** 2 + 1e-9
    return offsets[keep]


def _paint_balls(shape: Sequence[int], points: np.ndarray, radius_mm: float,
                 spacing: Sequence[float]) -> np.ndarray:
    """Boolean array of ``shape`` with a ball around each point (points may lie outside)."""
    out = np.zeros(tuple(shape), dtype=bool)
    if len(points) == 0:
        return out
    coords = (points[:, None, :] + _ball_offsets(radius_mm, spacing)[None]).reshape(-1, 3)
    inside = np.all((coords >= 0) & (coords < np.asarray(shape)), axis=1)
    c = coords[inside]
    out[c[:, 0], c[:, 1], c[:, 2]] = True
    return out


def _split(clicks: Sequence[Click], roi: Slices) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative click indices relative to ``roi``, as (n, 3) int arrays."""
    lo = np.array([s.start for s in roi])
    pos = np.array([c.index for c in clicks if c.positive], dtype=int).reshape(-1, 3) - lo
    neg = np.array([c.index for c in clicks if not c.positive], dtype=int).reshape(-1, 3) - lo
    return pos, neg


def scale_to_unit(image: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """``image`` as ``dtype`` scaled to [0, 1] between its 0.5th and 99.5th percentiles (the
    random walker's input, here and in :mod:`tumorseg.interactive.refine`)."""
    lo, hi = np.percentile(image, (0.5, 99.5))
    scale = float(hi - lo) or 1.0
    return np.clip((image.astype(dtype) - lo) / scale, 0.0, 1.0)


def walk(data: np.ndarray, markers: np.ndarray, beta: float, mode: str, tol: float,
         spacing: Sequence[float] | None = None, full_prob: bool = False) -> np.ndarray:
    """scikit-image's ``random_walker`` on ``data`` (scaled to [0, 1]) with ``markers``
    (0 unlabelled, 1 object, 2 background): the labels, or with ``full_prob`` the
    probability of each label ``[2, i, j, k]``.

    Runs with one BLAS thread (:mod:`threadpoolctl`): the conjugate gradient makes hundreds
    of tiny BLAS calls, and the BLAS's own threads wait for busy cores. On the 2-core VM a
    click on a 512×512×100 CT took 0.57 s with OpenBLAS's two threads and 0.19 s with one
    (idle), 2.25 s against 0.30 s with both cores busy; the mask is the same.
    """
    from skimage.segmentation import random_walker
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", UserWarning)  # "probability outside [0, 1]": harmless
        return random_walker(data, markers, beta=beta, mode=mode, tol=tol, spacing=spacing,
                             return_full_prob=full_prob)


def _touches_inner_border(mask: np.ndarray, roi: Slices, shape: Sequence[int]) -> bool:
    """Whether ``mask`` (of ``image[roi]``) reaches within one voxel of an ROI face that is
    not the volume's own border (so a larger ROI could change the result)."""
    for axis, (s, n) in enumerate(zip(roi, shape, strict=True)):
        size = mask.shape[axis]
        if s.start > 0 and np.take(mask, range(min(2, size)), axis=axis).any():
            return True
        if s.stop < n and np.take(mask, range(max(size - 2, 0), size), axis=axis).any():
            return True
    return False


def _adaptive_roi(image: np.ndarray, spacing: Sequence[float], clicks: Sequence[Click],
                  margin_mm: float, max_margin_mm: float,
                  segment_roi: Callable[[Slices], np.ndarray]) -> tuple[np.ndarray, bool]:
    """Segment in an ROI around the positive clicks; while the object reaches the ROI's
    border, double the margin (up to ``max_margin_mm``) and segment again.

    Returns the mask on the whole grid and whether it still reaches the last ROI's border.
    """
    out = np.zeros(image.shape, dtype=bool)
    positives = [c for c in clicks if c.positive]
    if not positives:
        return out, False
    margin = margin_mm
    while True:
        roi = click_roi(image.shape, spacing, positives, margin)
        mask = segment_roi(roi)
        touching = _touches_inner_border(mask, roi, image.shape)
        if margin >= max_margin_mm or not touching:
            break
        margin = min(2 * margin, max_margin_mm)
    out[roi] = mask
    return out, touching


def _paint_clicks(shape: Sequence[int], clicks: Sequence[Click], lo: np.ndarray,
                  radii_mm: tuple[float, float], spacing: Sequence[float],
                  scale: np.ndarray) -> np.ndarray:
    """Seed labels (1 positive, 2 negative, 0 none) of balls around ``clicks``, in click order.

    The first click's ball has radius ``radii_mm[0]``, later (corrective) clicks'
    ``radii_mm[1]``. A later click's ball overrides an earlier one's; then every clicked voxel
    gets its own label again (last click wins), so a click is never contradicted by a
    neighbour's ball. ``lo`` is the ROI's corner and ``scale`` the ROI-to-grid size ratio.
    """
    seeds = np.zeros(tuple(shape), dtype=np.int32)
    centres = [np.floor((np.asarray(c.index) - lo) * scale).astype(int) for c in clicks]
    for n, (click, centre) in enumerate(zip(clicks, centres, strict=True)):
        ball = _paint_balls(shape, centre[None], radii_mm[min(n, 1)], spacing)
        seeds[ball] = 1 if click.positive else 2
    for click, centre in zip(clicks, centres, strict=True):
        if np.all((centre >= 0) & (centre < np.asarray(shape))):
            seeds[tuple(centre)] = 1 if click.positive else 2
    return seeds


def random_walker_segment(image: np.ndarray, spacing: Sequence[float], clicks: Sequence[Click],
                          config: RandomWalkerConfig | None = None) -> np.ndarray:
    """Segment the clicked object with scikit-image's random walker (see the module docstring).

    An ROI of more than ``config.max_roi_voxels`` voxels is solved on a grid coarsened by the
    same factor along every axis (linear interpolation) and its labels mapped back to the
    ROI's voxels by nearest neighbour.

    Args:
        image: 3D intensities ``[i, j, k]`` (any unit; scaled internally, not modified).
        spacing: voxel size in mm along i, j, k.
        clicks: every click so far, in order; positive ones define the ROI.
        config: parameters (defaults: :class:`RandomWalkerConfig`).

    Returns:
        Boolean mask of ``image``'s shape; empty when there is no positive click.
    """
    config = config or RandomWalkerConfig()
    return _adaptive_roi(image, spacing, clicks, config.margin_mm, config.max_margin_mm,
                         lambda roi: _random_walker_roi(image, spacing, clicks, roi, config))[0]


def _random_walker_roi(image: np.ndarray, spacing: Sequence[float], clicks: Sequence[Click],
                       roi: Slices, config: RandomWalkerConfig) -> np.ndarray:
    """The random walker's boolean mask of the ROI ``image[roi]``."""
    crop = scale_to_unit(image[roi])
    factor = max(1.0, (crop.size / config.max_roi_voxels) ** (1 / 3))
    sp = np.asarray(spacing, dtype=float)
    if factor > 1.0:
        small_shape = np.maximum(np.round(np.asarray(crop.shape) / factor).astype(int), 3)
        zoom = small_shape / np.asarray(crop.shape)
        crop = ndimage.zoom(crop, zoom, order=1, grid_mode=True, mode="nearest")
        sp = sp / zoom
    scale = np.asarray(crop.shape) / np.asarray(image[roi].shape)
    lo = np.array([s.start for s in roi])
    radii = (config.seed_radius_mm, config.correction_radius_mm)
    markers = _paint_clicks(crop.shape, clicks, lo, radii, sp, scale)
    border = np.ones(crop.shape, dtype=bool)
    border[1:-1, 1:-1, 1:-1] = False
    markers[border & (markers == 0)] = 2
    if not (markers == 2).any():  # an ROI too thin to hold background: nothing to compare
        labels = markers
    else:
        labels = walk(crop, markers, config.beta, config.mode, config.tol, sp / sp.min())
    if factor > 1.0:
        back = [np.minimum(np.floor(np.arange(n) * f).astype(int), m - 1)
                for n, f, m in zip(image[roi].shape, scale, crop.shape, strict=True)]
        labels = labels[np.ix_(*back)]
    return labels == 1


def _intensity_range(image: sitk.Image, positive_values: Sequence[float],
                     first_seed: tuple[int, int, int],
                     config: RegionGrowingConfig) -> tuple[float, float]:
    """The intensity interval of the object: ConfidenceConnected statistics at the first
    positive click, widened to hold the (smoothed) intensity of every positive click."""
    grow = sitk.ConfidenceConnectedImageFilter()
    grow.SetSeedList([first_seed])
    grow.SetNumberOfIterations(config.iterations)
    grow.SetMultiplier(config.multiplier)
    grow.SetInitialNeighborhoodRadius(config.neighborhood_radius)
    grow.Execute(image)
    mean, std = grow.GetMean(), math.sqrt(max(grow.GetVariance(), 0.0))
    lo, hi = mean - config.multiplier * std, mean + config.multiplier * std
    for value in positive_values:
        lo, hi = min(lo, value), max(hi, value)
    return lo, hi


def _nearer_to_positive(shape: Sequence[int], pos: np.ndarray, negative: np.ndarray,
                        spacing: Sequence[float]) -> np.ndarray:
    """Voxels at least as close (Euclidean, mm) to a positive click as to a negative ball."""
    seeds = np.ones(tuple(shape), dtype=bool)
    seeds[tuple(pos.T)] = False
    sampling = tuple(float(v) for v in spacing)
    to_pos = ndimage.distance_transform_edt(seeds, sampling=sampling)
    to_neg = ndimage.distance_transform_edt(~negative, sampling=sampling)
    return to_pos <= to_neg


def region_growing_segment(image: np.ndarray, spacing: Sequence[float], clicks: Sequence[Click],
                           config: RegionGrowingConfig | None = None) -> np.ndarray:
    """Segment the clicked object by SimpleITK region growing from the positive clicks.

    The intensity interval comes from ``sitk.ConfidenceConnected`` seeded at the first
    positive click (mean ± ``multiplier``·std after ``iterations`` re-estimations); every
    further positive click widens it to include its own intensity. The object is
    then what ``sitk.ConnectedThreshold`` grows from all positive clicks inside that interval,
    minus balls of ``negative_radius_mm`` around negative clicks and every voxel nearer (in mm)
    to such a ball than to a positive click, keeping only the parts connected to a positive
    click, holes filled.

    Args:
        image: 3D intensities ``[i, j, k]`` (not modified).
        spacing: voxel size in mm along i, j, k.
        clicks: every click so far, in order; positive ones seed the growth.
        config: parameters (defaults: :class:`RegionGrowingConfig`).

    Returns:
        Boolean mask of ``image``'s shape; empty when there is no positive click.
    """
    config = config or RegionGrowingConfig()
    mask = np.zeros(image.shape, dtype=bool)
    for factor in config.backoff:  # still at the largest ROI's border: a leak; narrow it
        scaled = replace(config, multiplier=config.multiplier * factor)
        mask, touching = _adaptive_roi(
            image, spacing, clicks, config.margin_mm, config.max_margin_mm,
            lambda roi, c=scaled: _region_growing_roi(image, spacing, clicks, roi, c))
        if not touching:
            break
    return mask


def _region_growing_roi(image: np.ndarray, spacing: Sequence[float], clicks: Sequence[Click],
                        roi: Slices, config: RegionGrowingConfig) -> np.ndarray:
    """The region-growing boolean mask of the ROI ``image[roi]``."""
    pos, neg = _split(clicks, roi)
    crop = np.ascontiguousarray(image[roi].astype(np.float32))
    itk = sitk.GetImageFromArray(crop.transpose(2, 1, 0))  # SimpleITK wants [k, j, i]
    itk.SetSpacing(tuple(float(s) for s in spacing))
    if config.smoothing_sigma_mm > 0:
        itk = sitk.SmoothingRecursiveGaussian(itk, config.smoothing_sigma_mm)
    smooth = sitk.GetArrayViewFromImage(itk).transpose(2, 1, 0)
    values = [float(smooth[tuple(p)]) for p in pos]
    seeds = [tuple(int(v) for v in p) for p in pos]  # SimpleITK indices are (i, j, k) too
    negative = _paint_balls(crop.shape, neg, config.negative_radius_mm, spacing)
    allowed = ~negative
    if negative.any():
        allowed &= _nearer_to_positive(crop.shape, pos, negative, spacing)
    lower, upper = _intensity_range(itk, values, seeds[0], config)
    grown = sitk.ConnectedThreshold(itk, seedList=seeds, lower=lower, upper=upper,
                                    replaceValue=1)
    mask = sitk.GetArrayFromImage(grown).transpose(2, 1, 0).astype(bool) & allowed
    mask[tuple(pos.T)] = True
    labels = cc3d.connected_components(mask.astype(np.uint8), connectivity=26)
    keep = np.unique(labels[tuple(pos.T)])
    mask = np.isin(labels, keep[keep > 0])
    if config.fill_holes:
        mask = ndimage.binary_fill_holes(mask)
    return mask


class _ClickHistory:
    """Shared state of the baseline segmenters: the volume and the clicks so far."""

    def __init__(self) -> None:
        self._image: np.ndarray | None = None
        self._spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
        self._clicks: list[Click] = []

    def start(self, volume: Volume, prior: np.ndarray | None = None) -> None:
        """Begin a new object on ``volume`` (first channel if several); ``prior`` is ignored."""
        self._image = volume.array[0] if volume.is_multichannel else volume.array
        self._spacing = volume.spacing
        self._clicks = []

    def _add(self, click: Click) -> tuple[np.ndarray, tuple[float, float, float], list[Click]]:
        if self._image is None:
            raise RuntimeError("call start(volume) before update(click)")
        self._clicks.append(click)
        return self._image, self._spacing, self._clicks


class RandomWalkerSegmenter(_ClickHistory):
    """:func:`random_walker_segment` as a click segmenter (recomputes from all clicks)."""

    name = "random-walker"

    def __init__(self, config: RandomWalkerConfig | None = None) -> None:
        super().__init__()
        self.config = config or RandomWalkerConfig()

    def update(self, click: Click) -> np.ndarray:
        """Add ``click`` and return the boolean mask of the object on the volume's grid."""
        return random_walker_segment(*self._add(click), self.config)


class RegionGrowingSegmenter(_ClickHistory):
    """:func:`region_growing_segment` as a click segmenter (recomputes from all clicks)."""

    name = "region-growing"

    def __init__(self, config: RegionGrowingConfig | None = None) -> None:
        super().__init__()
        self.config = config or RegionGrowingConfig()

    def update(self, click: Click) -> np.ndarray:
        """Add ``click`` and return the boolean mask of the object on the volume's grid."""
        return region_growing_segment(*self._add(click), self.config)

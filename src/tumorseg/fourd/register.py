"""Deformable registration of the reference phase to another phase, around the tumor.

Speed comes from working on a region of interest only: the reference GTV's bounding box
plus ``margin_mm`` (30 mm), binned to about ``working_spacing_mm`` (2 mm). Within it:

1. **Coarse translation** by normalised cross-correlation (FFT) of the tumor's box (GTV box
   + 5 mm) over every shift that keeps it inside the region — a global search, so large
   motion (≥ 20 mm) is found without a capture-range problem; sub-voxel by a parabola fit.
2. **Multi-resolution B-spline** refinement with SimpleITK (correlation metric on the
   target phase around the moved tumor + ``mask_margin_mm`` only, L-BFGS, two levels, the
   control-point mesh refined from about 2 × ``mesh_spacing_mm`` to ``mesh_spacing_mm``),
   started from that translation; outside that region the translation alone applies.

The result maps points of the target phase to the reference (ITK's fixed → moving), so a
reference label is warped onto the target phase with :func:`warp_label`: linear
interpolation of the 0/1 mask and a 0.5 threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import signal

from tumorseg.fourd.roi import Box3, box_around, crop_sitk, working_image
from tumorseg.io import Volume

__all__ = ["PhaseRegistration", "RegistrationSettings", "coarse_translation", "ncc_shift",
           "register_phase", "warp_label"]


@dataclass(frozen=True)
class RegistrationSettings:
    """How :func:`register_phase` works (mm and iteration counts).

    Attributes:
        margin_mm: region of interest = reference GTV box + this margin (must exceed the
            tumor's motion).
        working_spacing_mm: voxels are averaged in blocks to about this size.
        template_margin_mm: the cross-correlation template = GTV box + this margin.
        deformable: run the B-spline refinement (False: translation only).
        mesh_spacing_mm: B-spline control-point spacing at the finest level.
        mask_margin_mm: the B-spline region: the moved tumor's box + this margin.
        iterations: L-BFGS-B iterations per resolution level.
        sampling: fraction of the region's voxels sampled by the metric (fixed seed).
    """

    margin_mm: float = 30.0
    working_spacing_mm: float = 2.0
    template_margin_mm: float = 5.0
    deformable: bool = True
    mesh_spacing_mm: float = 20.0
    mask_margin_mm: float = 10.0
    iterations: int = 20
    sampling: float = 0.2


@dataclass(frozen=True, eq=False)
class PhaseRegistration:
    """The result of registering the reference phase to one target phase.

    Attributes:
        box: the region of interest (voxel slices, shared grid).
        translation_mm: the coarse tumor displacement reference → target (LPS mm).
        transform: SimpleITK transform mapping target-phase points to reference points (mm).
        ncc: peak normalised cross-correlation of the tumor template (−1…1).
        at_search_edge: True when the best shift lies on the border of the search range
            (the motion may be larger than the region allows).
    """

    box: Box3
    translation_mm: np.ndarray
    transform: sitk.Transform
    ncc: float
    at_search_edge: bool
    info: dict = field(default_factory=dict)


def _parabola(values: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    """Sub-voxel peak offset per axis from a 3-point parabola through the peak."""
    offset = np.zeros(3)
    for a in range(3):
        if 0 < idx[a] < values.shape[a] - 1:
            lo, hi = list(idx), list(idx)
            lo[a] -= 1
            hi[a] += 1
            f0, f1, f2 = values[tuple(lo)], values[idx], values[tuple(hi)]
            den = f0 - 2 * f1 + f2
            if den < 0:
                offset[a] = float(np.clip(0.5 * (f0 - f2) / den, -0.5, 0.5))
    return offset


def ncc_shift(fixed: np.ndarray, moving: np.ndarray, template: Box3
              ) -> tuple[np.ndarray, float, bool]:
    """Where ``moving[template]`` fits best in ``fixed`` (same shape, voxel arrays).

    Returns (shift in voxels, sub-voxel, such that ``moving[x] ≈ fixed[x + shift]`` inside the
    template; the peak normalised cross-correlation; whether the peak lies on the edge of
    the searched range). Every placement of the template inside ``fixed`` is tried, and
    placements up to half the template outside it (``fixed`` extended by repeating its
    border), so a tumor that leaves the field of view is still found.
    """
    t = moving[template].astype(np.float64)
    t = t - t.mean()
    t_norm = float(np.sqrt((t * t).sum()))
    half = [n // 2 for n in t.shape]
    f = np.pad(fixed.astype(np.float64), [(h, h) for h in half], mode="edge")
    n = t.size
    num = signal.fftconvolve(f, t[::-1, ::-1, ::-1], mode="valid")
    ones = np.ones(t.shape)
    s1 = signal.fftconvolve(f, ones, mode="valid")
    s2 = signal.fftconvolve(f * f, ones, mode="valid")
    var = np.maximum(s2 - s1 * s1 / n, 1e-6 * max(float(f.var()) * n, 1.0))
    ncc = num / (t_norm * np.sqrt(var) + 1e-12)
    peak = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    sub = _parabola(ncc, peak)
    start = np.array([s.start for s in template], dtype=float)
    shift = np.asarray(peak, dtype=float) + sub - start - np.asarray(half)
    edge = any(p == 0 or p == m - 1 for p, m in zip(peak, ncc.shape, strict=True)
               if m > 1)
    return shift, float(ncc[peak]), edge


def _index_box(image: sitk.Image, tumor: np.ndarray) -> Box3:
    """The tumor's bounding box in the voxel grid of ``image`` (``tumor`` is [i, j, k])."""
    idx = np.argwhere(tumor)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    size = image.GetSize()
    return tuple(slice(max(0, int(a)), min(int(n), int(b)))  # type: ignore[return-value]
                 for a, b, n in zip(lo, hi, size, strict=True))


def _arr(image: sitk.Image) -> np.ndarray:
    """The pixels of ``image`` as an ``[i, j, k]`` array (a copy: views die with the image)."""
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0)


def _around_moved_tumor(fixed: sitk.Image, tumor: np.ndarray, d_mm: np.ndarray,
                        margin_mm: float) -> sitk.Image:
    """The part of ``fixed`` around where the tumor (a mask on the same working grid, in the
    reference) lies after moving by ``d_mm``, plus ``margin_mm``."""
    wsp = np.asarray(fixed.GetSpacing())
    direction = np.asarray(fixed.GetDirection()).reshape(3, 3)
    shift = np.linalg.solve(direction @ np.diag(wsp), d_mm)
    idx = np.argwhere(tumor)
    pad = np.ceil(margin_mm / wsp)
    size = np.asarray(fixed.GetSize())
    lo = np.clip(np.floor(idx.min(axis=0) + shift - pad), 0, size - 1).astype(int)
    hi = np.clip(np.ceil(idx.max(axis=0) + 1 + shift + pad), lo + 1, size).astype(int)
    return sitk.RegionOfInterest(fixed, [int(v) for v in hi - lo], [int(v) for v in lo])


def _bspline(fixed: sitk.Image, moving: sitk.Image, initial: sitk.Transform,
             settings: RegistrationSettings) -> sitk.Transform:
    extent = [sz * sp for sz, sp in zip(fixed.GetSize(), fixed.GetSpacing(), strict=True)]
    mesh = [max(1, round(e / (2 * settings.mesh_spacing_mm))) for e in extent]
    bspline = sitk.BSplineTransformInitializer(fixed, mesh, order=3)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsCorrelation()
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(settings.sampling, seed=20240)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsLBFGS2(solutionAccuracy=1e-4, numberOfIterations=settings.iterations,
                             deltaConvergenceTolerance=1e-5)
    reg.SetShrinkFactorsPerLevel([2, 1])
    reg.SetSmoothingSigmasPerLevel([1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetMovingInitialTransform(initial)
    reg.SetInitialTransformAsBSpline(bspline, inPlace=True, scaleFactors=[1, 2])
    out = reg.Execute(fixed, moving)
    composite = sitk.CompositeTransform(3)
    composite.AddTransform(initial)
    composite.AddTransform(out)
    return composite


def coarse_translation(reference: Volume, target: Volume, gtv: np.ndarray,
                       settings: RegistrationSettings | None = None
                       ) -> tuple[Box3, np.ndarray, float, bool]:
    """Step 1 of :func:`register_phase`: the tumor's displacement reference → target.

    Returns (region of interest, displacement in LPS mm, peak NCC, peak on the search edge).
    """
    s = settings or RegistrationSettings()
    box, _ = box_around(gtv, reference.spacing, s.margin_mm)
    fixed = working_image(crop_sitk(reference, target.array, box), s.working_spacing_mm)
    moving = working_image(crop_sitk(reference, reference.array, box), s.working_spacing_mm)
    tumor = _tumor_on(fixed, reference, gtv, box, s)
    wsp = np.asarray(fixed.GetSpacing())
    pad = np.ceil(s.template_margin_mm / wsp).astype(int)
    tb = _index_box(fixed, tumor)
    tb = tuple(slice(max(0, b.start - p), min(n, b.stop + p))  # type: ignore[assignment]
               for b, p, n in zip(tb, pad, fixed.GetSize(), strict=True))
    shift, peak, edge = ncc_shift(_arr(fixed), _arr(moving), tb)
    direction = np.asarray(fixed.GetDirection()).reshape(3, 3)
    return box, direction @ (shift * wsp), peak, edge


def _tumor_on(image: sitk.Image, grid: Volume, gtv: np.ndarray, box: Box3,
              s: RegistrationSettings) -> np.ndarray:
    """The GTV binned like ``image`` (boolean, ``[i, j, k]`` of the working grid)."""
    frac = _arr(working_image(crop_sitk(grid, gtv, box), s.working_spacing_mm))
    return frac >= 0.5 if (frac >= 0.5).any() else frac > 0


def register_phase(reference: Volume, target: Volume, gtv: np.ndarray,
                   settings: RegistrationSettings | None = None) -> PhaseRegistration:
    """Register ``reference`` (where ``gtv`` is drawn) to ``target`` around the tumor.

    Args:
        reference, target: CT phases (HU) on one grid, arrays ``[i, j, k]``.
        gtv: the tumor in the reference phase, boolean ``[i, j, k]``, not empty.
        settings: see :class:`RegistrationSettings`.

    Returns:
        a :class:`PhaseRegistration`; warp labels with :func:`warp_label`.
    """
    s = settings or RegistrationSettings()
    box, d_mm, peak, edge = coarse_translation(reference, target, gtv, s)
    translation = sitk.TranslationTransform(3, tuple(float(-v) for v in d_mm))
    transform: sitk.Transform = translation
    info: dict = {"deformable": False}
    if s.deformable:
        fixed = working_image(crop_sitk(reference, target.array, box), s.working_spacing_mm)
        moving = working_image(crop_sitk(reference, reference.array, box), s.working_spacing_mm)
        region = _around_moved_tumor(fixed, _tumor_on(moving, reference, gtv, box, s), d_mm,
                                     s.mask_margin_mm)
        try:
            transform = _bspline(region, moving, translation, s)
            info = {"deformable": True}
        except RuntimeError as exc:  # e.g. a region too small for the mesh: keep the shift
            info = {"deformable": False, "bspline_error": str(exc).strip().splitlines()[-1]}
    return PhaseRegistration(box=box, translation_mm=d_mm, transform=transform, ncc=peak,
                             at_search_edge=edge, info=info)


def warp_label(label: np.ndarray, grid: Volume, registration: PhaseRegistration) -> np.ndarray:
    """Warp a reference-phase label (boolean ``[i, j, k]`` on ``grid``) onto the target phase
    of ``registration``: linear interpolation of the mask, then ≥ 0.5. Outside the region
    of interest the result is empty."""
    box = registration.box
    ref = crop_sitk(grid, label.astype(np.float32), box)
    warped = sitk.Resample(ref, ref, registration.transform, sitk.sitkLinear, 0.0,
                           sitk.sitkFloat32)
    out = np.zeros(grid.shape, dtype=bool)
    out[box] = _arr(warped) >= 0.5
    return out

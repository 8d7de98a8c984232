"""PET uptake per lesion in SUV: SUVmax, SUVmean, SUVpeak, MTV and TLG.

Definitions (SUV volumes in g/mL body-weight SUV; arrays ``[i, j, k]``, spacing in mm):

``suv_max`` / ``suv_mean``  maximum / mean SUV over the lesion's voxels.
``suv_peak``  PERCIST-style: the highest mean SUV inside a 1 mL sphere (radius
              :data:`SUV_PEAK_RADIUS_MM` ≈ 6.2 mm) whose centre may be any voxel of the lesion.
              The sphere is the set of voxel centres within that radius of the centre (in mm,
              so anisotropic voxels are handled); the mean is a convolution with that kernel
              (FFT). Near the image edge the mean is over the part of the sphere inside.
``mtv_ml``    metabolic tumour volume: the lesion's volume in mL (the mask *is* the metabolic
              volume; no threshold is applied here).
``tlg``       total lesion glycolysis = SUVmean × MTV (SUV·mL).

A PET on another grid than the mask is resampled onto the mask's grid with SimpleITK linear
interpolation by :func:`pet_on_grid`, which says whether it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy.signal import fftconvolve

from tumorseg.io import Volume
from tumorseg.io.grid import grid_differences

__all__ = ["MAX_PLAUSIBLE_SUV", "SUV_PEAK_RADIUS_MM", "PetStats", "check_suv", "pet_on_grid",
           "pet_stats", "sphere_kernel"]

#: Radius of a 1 mL sphere in mm: (3 / (4π) · 1000 mm³)^(1/3) ≈ 6.2035 mm.
SUV_PEAK_RADIUS_MM: float = float((3.0 * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0))


#: Above this a "SUV" image holds activity (Bq/mL) or counts: even the bladder and the
#: hottest tumours stay well below 100 g/mL body-weight SUV.
MAX_PLAUSIBLE_SUV = 200.0
#: Below this it is no PET at all (a CT reaches −1000 HU); reconstruction noise gives PETs
#: slightly negative voxels, so a little below zero is accepted.
MIN_PLAUSIBLE_SUV = -5.0


def check_suv(pet: Volume, path: object) -> None:
    """Refuse (``InputError`` naming ``path``) an image that cannot be a PET in SUV: recorded
    as CT or MR, values far below zero (a CT), or values above :data:`MAX_PLAUSIBLE_SUV`
    (activity in Bq/mL or counts: DICOM PET folders are converted to SUV when read)."""
    from tumorseg.errors import InputError

    if pet.modality in ("CT", "MR"):
        raise InputError(f"{path}: recorded as {pet.modality}, not a PET in SUV")
    arr = pet.array if not pet.is_multichannel else pet.array[0]
    low, high = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if low < MIN_PLAUSIBLE_SUV:
        raise InputError(f"{path}: values down to {low:.0f}: not a PET in SUV (a CT?)")
    if high > MAX_PLAUSIBLE_SUV:
        raise InputError(f"{path}: values up to {high:.0f}: not SUV (activity in Bq/mL or "
                         "counts?); give the SUV image, or the DICOM PET folder, which is "
                         "converted to SUV when read")


@dataclass(frozen=True)
class PetStats:
    """SUV statistics of one lesion (see the module docstring)."""

    suv_max: float
    suv_mean: float
    suv_peak: float
    mtv_ml: float
    tlg: float


def sphere_kernel(spacing: Sequence[float], radius_mm: float = SUV_PEAK_RADIUS_MM) -> np.ndarray:
    """Binary ball of voxel centres within ``radius_mm`` of the centre voxel (odd shape)."""
    sp = np.asarray(spacing, dtype=float)
    half = np.floor(radius_mm / sp).astype(int)
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, sp, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    return (x * x + y * y + z * z) <= radius_mm * radius_mm + 1e-9


def pet_on_grid(pet: Volume, reference: Volume) -> tuple[Volume, np.ndarray | None]:
    """``pet`` on ``reference``'s grid: as is when the grids match, else resampled with
    SimpleITK linear interpolation (outside the PET: 0).

    Returns ``(volume, inside)``: ``inside`` is None when nothing was resampled, else which
    voxels of ``reference``'s grid lie in the PET's field of view (bool ``[i, j, k]``: the
    voxel centres within half a voxel of the PET's outer voxel centres, the ones the
    resampling took from the PET rather than filling with 0).
    """
    if not grid_differences(pet, reference):
        return pet, None
    image = pet.to_sitk()
    if image.GetPixelID() not in (sitk.sitkFloat32, sitk.sitkFloat64):
        image = sitk.Cast(image, sitk.sitkFloat32)
    ones = sitk.Image(image.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(image)
    grid = ([int(n) for n in reference.shape], sitk.Transform())
    where = ([float(v) for v in reference.origin], [float(v) for v in reference.spacing],
             [float(v) for v in np.asarray(reference.direction).reshape(-1)])
    out = sitk.Resample(image, *grid, sitk.sitkLinear, *where, 0.0, sitk.sitkFloat32)
    inside = sitk.Resample(ones, *grid, sitk.sitkNearestNeighbor, *where, 0, sitk.sitkUInt8)
    return (Volume.from_sitk(out, modality=pet.modality, source=pet.source),
            Volume.from_sitk(inside).array > 0)


def pet_stats(suv: np.ndarray, lesion: np.ndarray, spacing: Sequence[float],
              radius_mm: float = SUV_PEAK_RADIUS_MM) -> PetStats:
    """SUV statistics of the lesion ``lesion`` (binary ``[i, j, k]``) in ``suv`` (same shape).

    Only a crop around the lesion (padded by the sphere radius) is convolved.
    """
    lesion = np.asarray(lesion, dtype=bool)
    if not lesion.any():
        raise ValueError("empty lesion")
    kernel = sphere_kernel(spacing, radius_mm)
    pad = np.array(kernel.shape) // 2
    idx = np.argwhere(lesion)
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = np.minimum(idx.max(axis=0) + pad + 1, lesion.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    values = np.asarray(suv[box], dtype=np.float64)
    inside = lesion[box]
    k = kernel.astype(np.float64)
    sums = fftconvolve(values, k, mode="same")
    counts = fftconvolve(np.ones_like(values), k, mode="same")
    means = sums / np.maximum(counts, 1e-9)
    voxels = values[inside]
    mtv = float(inside.sum()) * float(np.prod(spacing)) / 1000.0
    mean = float(voxels.mean())
    return PetStats(suv_max=float(voxels.max()), suv_mean=mean,
                    suv_peak=float(means[inside].max()), mtv_ml=mtv, tlg=mean * mtv)

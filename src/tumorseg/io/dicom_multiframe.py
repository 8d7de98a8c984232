"""Enhanced (multi-frame) CT, MR and PET DICOM objects → :class:`Volume`.

One file holds every slice as a frame; geometry is per frame in the functional groups
(PlanePositionSequence, PlaneOrientationSequence, PixelMeasuresSequence — shared or per
frame). Frames are sorted along the slice normal; their spacing must be even.
Values are rescaled with each frame's PixelValueTransformationSequence when present.
Built on pydicom: SimpleITK/GDCM 2.x reads such a file but takes the first *stored* frame as
the origin without sorting, so frames stored top-down come out mirrored (checked with a
highdicom legacy-converted enhanced CT). Enhanced PET is read in its stored units (no SUV).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from tumorseg.errors import InputError
from tumorseg.io.dicom_pet import multiframe_suv_factors, parse_dicom_datetime
from tumorseg.io.volume import Volume

__all__ = ["is_enhanced_multiframe", "read_enhanced_multiframe", "slice_positions_problem"]

log = logging.getLogger(__name__)


def is_enhanced_multiframe(ds: Dataset) -> bool:
    """True for a multi-frame object with per-frame functional groups."""
    return int(ds.get("NumberOfFrames", 1) or 1) > 1 and "PerFrameFunctionalGroupsSequence" in ds


def _group(ds: Dataset, frame: Dataset, keyword: str) -> Dataset | None:
    """A functional-group macro for one frame: per-frame first, then shared."""
    if keyword in frame and len(frame[keyword].value):
        return frame[keyword].value[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared and keyword in shared[0] and len(shared[0][keyword].value):
        return shared[0][keyword].value[0]
    return None


def slice_positions_problem(offsets: np.ndarray, rel_tol: float = 0.01) -> str | None:
    """Describe a problem in sorted slice offsets along the normal (mm), or None.

    Duplicates, a gap (a step about twice the usual one: a missing slice) and uneven steps
    are problems; a tolerance of ``rel_tol`` of the median step is allowed.
    """
    if len(offsets) < 2:
        return None
    steps = np.diff(offsets)
    median = float(np.median(steps))
    if np.any(steps < 1e-4) or median <= 0:
        k = int(np.argmin(steps))
        return f"two slices at the same position ({offsets[k]:.3f} mm along the normal)"
    bad = np.flatnonzero(np.abs(steps - median) > rel_tol * median)
    if bad.size == 0:
        return None
    k = int(bad[0])
    ratio = steps[k] / median
    kind = (f"a gap (missing {round(ratio) - 1} slice(s))" if abs(ratio - round(ratio)) < 0.05
            and ratio > 1.5 else "uneven slice spacing")
    return (f"{kind}: step {steps[k]:.3f} mm between slices {k} and {k + 1} "
            f"(at {offsets[k]:.3f} and {offsets[k + 1]:.3f} mm) where the others are "
            f"{median:.3f} mm")


def read_enhanced_multiframe(path: str | Path, modality: str | None = None,
                             suv: bool = True) -> Volume:
    """Read one enhanced multi-frame DICOM file into a 3D volume ``array[i, j, k]``.

    A PET object (Modality PT) is returned in SUV body weight unless ``suv=False``
    (:func:`tumorseg.io.dicom_pet.multiframe_suv_factors`; each frame's own rescale).

    Raises:
        InputError: not an enhanced multi-frame object, missing geometry, frames with
            different orientation, uneven or duplicated frame positions.
    """
    where = str(path)
    try:
        ds = pydicom.dcmread(where)
    except Exception as exc:  # pydicom raises many types for corrupt files
        raise InputError(f"{where}: cannot read DICOM ({exc})") from exc
    if not is_enhanced_multiframe(ds):
        raise InputError(f"{where}: not an enhanced multi-frame DICOM object")
    frames = ds.PerFrameFunctionalGroupsSequence
    positions, orientations, spacings = [], [], []
    for n, frame in enumerate(frames):
        pos = _group(ds, frame, "PlanePositionSequence")
        ori = _group(ds, frame, "PlaneOrientationSequence")
        meas = _group(ds, frame, "PixelMeasuresSequence")
        if pos is None or ori is None or meas is None or "PixelSpacing" not in meas:
            raise InputError(f"{where}: frame {n + 1} lacks PlanePosition, PlaneOrientation "
                             "or PixelMeasures (PixelSpacing)")
        positions.append([float(v) for v in pos.ImagePositionPatient])
        orientations.append([float(v) for v in ori.ImageOrientationPatient])
        spacings.append([float(v) for v in meas.PixelSpacing])
    orientations_a = np.asarray(orientations)
    if not np.allclose(orientations_a, orientations_a[0], atol=1e-4):
        raise InputError(f"{where}: frames have different orientations (not one volume)")
    if not np.allclose(spacings, spacings[0], atol=1e-4):
        raise InputError(f"{where}: frames have different pixel spacings (not one volume)")
    row_dir, col_dir = orientations_a[0, :3], orientations_a[0, 3:]
    normal = np.cross(row_dir, col_dir)
    offsets = np.asarray(positions) @ normal
    order = np.argsort(offsets, kind="stable")
    sorted_offsets = offsets[order]
    problem = slice_positions_problem(sorted_offsets)
    if problem:
        raise InputError(f"{where}: {problem}")
    pixels = ds.pixel_array  # (frames, rows, cols)
    if pixels.ndim != 3:
        raise InputError(f"{where}: expected one grey value per pixel (got shape {pixels.shape})")
    out = np.empty((pixels.shape[2], pixels.shape[1], len(frames)), dtype=np.float64)
    any_rescale = False
    for k, n in enumerate(order):
        trans = _group(ds, frames[n], "PixelValueTransformationSequence")
        slope = float(trans.get("RescaleSlope", 1.0)) if trans is not None else 1.0
        inter = float(trans.get("RescaleIntercept", 0.0)) if trans is not None else 0.0
        any_rescale |= slope != 1.0 or inter != 0.0
        out[:, :, k] = (pixels[n].astype(np.float64) * slope + inter).T
    if any_rescale and np.all(np.equal(np.mod(out, 1), 0)) and np.abs(out).max() < 32768:
        array = out.astype(np.int16)
    elif any_rescale:
        array = out.astype(np.float32)
    else:
        array = pixels.transpose(2, 1, 0)[:, :, order].copy()
    if str(ds.get("Modality", "")) == "PT" and suv:
        times = []
        for n in order:
            content = _group(ds, frames[n], "FrameContentSequence")
            stamp = content.get("FrameAcquisitionDateTime") if content is not None else None
            times.append(parse_dicom_datetime(str(stamp)) if stamp else None)
        array = (out * multiframe_suv_factors(ds, times, where)[None, None, :]).astype(np.float32)
    dz = float(np.median(np.diff(sorted_offsets))) if len(frames) > 1 else float(
        _group(ds, frames[0], "PixelMeasuresSequence").get("SliceThickness", 1.0) or 1.0)
    direction = np.stack([row_dir, col_dir, normal], axis=1)
    return Volume(
        array=array,
        spacing=(spacings[0][1], spacings[0][0], dz),  # PixelSpacing is (row, column) step
        origin=tuple(positions[int(order[0])]),
        direction=direction,
        modality=modality or str(ds.get("Modality", "") or "unknown"),
        source=where,
    )

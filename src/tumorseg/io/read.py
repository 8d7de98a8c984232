"""Read NIfTI, NRRD, MHA/MHD files and DICOM series folders into :class:`Volume`.

Every failure raises :class:`~tumorseg.errors.InputError` with one line naming the path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from tumorseg.errors import InputError
from tumorseg.io.dicom_multiframe import (
    is_enhanced_multiframe,
    read_enhanced_multiframe,
    slice_positions_problem,
)
from tumorseg.io.dicom_pet import pet_slices_to_suv
from tumorseg.io.grid import check_same_grid
from tumorseg.io.nifti_check import check_nifti_complete
from tumorseg.io.volume import Volume

__all__ = [
    "IMAGE_SUFFIXES",
    "is_image_path",
    "looks_like_dicom",
    "modality_from_header",
    "read_channels",
    "read_dicom_series",
    "read_volume",
    "strip_image_suffix",
]

log = logging.getLogger(__name__)

#: File endings read (and written) through SimpleITK.
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

#: Metadata key under which tumorseg stores the modality in NRRD/MHA headers; NIfTI files
#: carry ``tumorseg_modality=CT`` (etc.) in their 80-character ``descrip`` field instead.
MODALITY_KEY = "tumorseg_modality"

#: SimpleITK's metadata key written to the NIfTI ``descrip`` field.
NIFTI_NOTES_KEY = "ITK_FileNotes"


def dicom_series_in(folder: str | os.PathLike[str]) -> list[tuple[str, list[str]]]:
    """``(series UID, files)`` of every DICOM series in ``folder`` and its sub-folders, in the
    order of their folders and then of GDCM's series ids (empty when there is none). GDCM's
    console warnings ("No Series were found") are silenced: the caller says what is wrong."""
    root = Path(folder)
    found: list[tuple[str, list[str]]] = []
    warnings = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        for d in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            try:
                ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(d))
            except RuntimeError:
                continue
            for sid in ids:
                files = list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(d), sid))
                if files:
                    found.append((sid, files))
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(warnings)
    return found


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` ends with one of :data:`IMAGE_SUFFIXES` (case-insensitive)."""
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def strip_image_suffix(name: str) -> str:
    """``"case_001.nii.gz"`` → ``"case_001"``; names without an image suffix are unchanged."""
    lower = name.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_values(volume: Volume, path: str) -> Volume:
    arr = volume.array
    if arr.size == 0:
        raise InputError(f"{path}: the image has no voxels (size {arr.shape})")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        n_bad = int(bad.sum())
        if n_bad:
            n_nan = int(np.isnan(arr).sum())
            raise InputError(
                f"{path}: contains {n_nan} NaN and {n_bad - n_nan} infinite voxel values"
            )
    if np.iscomplexobj(arr):
        raise InputError(f"{path}: complex-valued voxels are not supported")
    return volume


def read_volume(path: str | os.PathLike[str], modality: str | None = None) -> Volume:
    """Read one image file or DICOM series folder.

    Args:
        path: a ``.nii``/``.nii.gz``/``.nrrd``/``.nhdr``/``.mha``/``.mhd`` file, a folder
            holding a DICOM series (the series with the most slices is read; the others are
            listed in a warning), or a single DICOM file (its whole series is read).
        modality: "CT", "MR", "PT", … when known; overrides what the file says.

    Returns:
        A :class:`Volume`; a 4D file or vector-valued pixels become channels.

    Raises:
        InputError: missing path, unreadable or corrupt file, not 3D, NaN/Inf values.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_dir():
        return read_dicom_series(p, modality=modality)
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: permission denied")
    if not is_image_path(p):
        if looks_like_dicom(p):
            if _is_enhanced_file(p):
                return _check_values(read_enhanced_multiframe(p, modality), str(p))
            return read_dicom_series(p.parent, modality=modality, series_of=p)
        raise InputError(
            f"{p}: unsupported file type (expected {', '.join(IMAGE_SUFFIXES)} "
            "or a DICOM series folder)"
        )
    try:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(p))
        reader.ReadImageInformation()
        dim = reader.GetDimension()
        if dim < 3:
            raise InputError(f"{p}: not a 3D image ({dim}D, size {reader.GetSize()})")
        if dim > 4:
            raise InputError(f"{p}: {dim}D images are not supported (3D, or 4D as channels)")
        check_nifti_complete(p)  # ITK reads a truncated NIfTI as zeros, without an error
        image = reader.Execute()
    except InputError:
        raise
    except RuntimeError as exc:
        raise InputError(f"{p}: cannot read image ({_first_line(exc)})") from exc
    if image.GetDimension() == 3 and 1 in image.GetSize()[:3] and image.GetSize()[2] == 1:
        log.warning("%s: a single slice; treated as a 3D volume one voxel thick", p)
    file_modality = modality_from_header(image)
    try:
        volume = Volume.from_sitk(
            image, modality=modality or file_modality or "unknown", source=str(p)
        )
    except ValueError as exc:
        raise InputError(f"{p}: {exc}") from exc
    if volume.is_multichannel and volume.n_channels == 1:
        volume = volume.with_array(volume.array[0])
    if p.name.lower().endswith((".nii", ".nii.gz")) and np.issubdtype(volume.array.dtype,
                                                                      np.floating):
        _check_nifti_finite(p)
    return _check_values(volume, str(p))


def _check_nifti_finite(path: Path) -> None:
    """ITK's NIfTI reader silently turns NaN and Inf into 0; look at the stored values."""
    import nibabel

    data = np.asanyarray(nibabel.load(str(path)).dataobj)
    n_nan = int(np.isnan(data).sum())
    n_inf = int(np.isinf(data).sum())
    if n_nan or n_inf:
        raise InputError(f"{path}: contains {n_nan} NaN and {n_inf} infinite voxel values")


def read_channels(
    paths: Sequence[str | os.PathLike[str]],
    modality: str | None = None,
    channel_names: Sequence[str] | None = None,
) -> Volume:
    """Read several single-channel files on one grid into one multi-channel volume.

    One path is the same as :func:`read_volume`. The grids must match exactly.
    """
    if len(paths) == 0:
        raise InputError("no input files given")
    if len(paths) == 1:
        return read_volume(paths[0], modality=modality)
    volumes = [read_volume(p, modality=modality) for p in paths]
    for v in volumes[1:]:
        if v.is_multichannel:
            raise InputError(f"{v.source}: a multi-channel file cannot be stacked with others")
        check_same_grid(volumes[0], v)
    if volumes[0].is_multichannel:
        raise InputError(f"{volumes[0].source}: a multi-channel file cannot be stacked")
    dtype = np.result_type(*[v.array.dtype for v in volumes])
    stacked = np.stack([v.array.astype(dtype, copy=False) for v in volumes])
    names = tuple(channel_names) if channel_names else tuple(
        strip_image_suffix(Path(str(p)).name) for p in paths
    )
    return volumes[0].with_array(stacked, channel_names=names,
                                 source=os.pathsep.join(str(p) for p in paths))


def looks_like_dicom(path: Path) -> bool:
    """True when ``path`` is a file with the DICOM preamble (``DICM`` at byte 128)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # SimpleITK errors end with the useful sentence; keep it short.
    useful = [ln for ln in lines if "Description" in ln or "ERROR" in ln.upper()]
    line = (useful or lines or ["unknown error"])[-1]
    return line.split("Description:")[-1].strip()[:200]


def _metadata(image: sitk.Image | sitk.ImageFileReader, key: str) -> str | None:
    return image.GetMetaData(key).strip() if image.HasMetaDataKey(key) else None


def modality_from_header(header: sitk.Image | sitk.ImageFileReader) -> str | None:
    """The modality tumorseg wrote into a file's header, or None.

    ``header`` is an image read through SimpleITK, or an :class:`sitk.ImageFileReader` after
    ``ReadImageInformation()`` (no voxels read). NRRD/MHA carry :data:`MODALITY_KEY`; NIfTI
    carries ``tumorseg_modality=CT`` in its ``descrip`` field.
    """
    return _metadata(header, MODALITY_KEY) or _nifti_modality(header)


def _nifti_modality(image: sitk.Image | sitk.ImageFileReader) -> str | None:
    """The modality tumorseg wrote into a NIfTI ``descrip`` (``tumorseg_modality=CT``), or
    None (other descriptions are not guessed from)."""
    notes = _metadata(image, "descrip") or ""
    prefix = f"{MODALITY_KEY}="
    if not notes.startswith(prefix):
        return None
    return notes[len(prefix):].split()[0] if notes[len(prefix):].strip() else None


def read_dicom_series(
    folder: str | os.PathLike[str],
    modality: str | None = None,
    series_of: str | os.PathLike[str] | None = None,
    suv: bool = True,
) -> Volume:
    """Read the DICOM series with the most slices in ``folder`` (searched recursively).

    Other series found are listed in a warning. The modality comes from the DICOM
    Modality tag (0008,0060) unless ``modality`` is given. Pixel values are rescaled
    (RescaleSlope/Intercept), so CT is in HU. A PET series (Modality PT) is returned in
    SUV body weight (:mod:`tumorseg.io.dicom_pet`; each slice's own RescaleSlope), unless
    ``suv=False`` (then activity in the stored units, e.g. Bq/mL). An enhanced multi-frame
    object (one file) is read with :mod:`tumorseg.io.dicom_multiframe`. Slices that are
    duplicated, missing (a gap) or unevenly spaced raise :class:`InputError`.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    candidates = [(len(files), sid, files) for sid, files in dicom_series_in(root)]
    if series_of is not None:
        target = str(Path(series_of).resolve())
        candidates = [c for c in candidates if target in {str(Path(f).resolve()) for f in c[2]}]
    if not candidates:
        raise InputError(f"{root}: no DICOM series found in this folder")
    candidates.sort(key=lambda c: -c[0])
    n_files, series_id, files = candidates[0]
    if len(candidates) > 1:
        others = ", ".join(f"{sid or '<no UID>'} ({n} files)" for n, sid, _ in candidates[1:])
        log.warning(
            "%s: %d DICOM series found; reading %s (%d files); others: %s",
            root, len(candidates), series_id or "<no UID>", n_files, others,
        )
    if len(files) == 1 and _is_enhanced_file(Path(files[0])):
        return _check_values(read_enhanced_multiframe(files[0], modality, suv=suv), files[0])
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    reader.LoadPrivateTagsOn()
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"{root}: cannot read DICOM series ({_first_line(exc)})") from exc
    if image.GetDimension() != 3:
        raise InputError(f"{root}: the DICOM series is not a 3D volume")
    tag_modality = None
    if reader.HasMetaDataKey(0, "0008|0060"):
        tag_modality = reader.GetMetaData(0, "0008|0060").strip() or None
    volume = Volume.from_sitk(image, modality=modality or tag_modality or "unknown",
                              source=str(root))
    if volume.is_multichannel:
        raise InputError(f"{root}: multi-component DICOM pixels are not supported")
    _check_slice_positions(reader, len(files), root)
    if suv and tag_modality == "PT":
        volume = volume.with_array(pet_slices_to_suv(files, str(root)), modality="PT")
    return _check_values(volume, str(root))


def _is_enhanced_file(path: Path) -> bool:
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True,
                             specific_tags=["NumberOfFrames", "PerFrameFunctionalGroupsSequence"])
    except Exception:  # not DICOM, or unreadable: the normal readers report it
        return False
    return is_enhanced_multiframe(ds)


def _check_slice_positions(reader: sitk.ImageSeriesReader, n: int, root: Path) -> None:
    """Refuse a series whose slices are duplicated, missing or unevenly spaced."""
    if n < 2:
        return
    try:
        orientation = [float(v) for v in reader.GetMetaData(0, "0020|0037").split("\\")]
        positions = np.array([[float(v) for v in reader.GetMetaData(k, "0020|0032").split("\\")]
                              for k in range(n)])
    except (RuntimeError, ValueError):
        log.warning("%s: slice positions could not be checked (ImagePositionPatient missing)",
                    root)
        return
    normal = np.cross(orientation[:3], orientation[3:])
    problem = slice_positions_problem(np.sort(positions @ normal))
    if problem:
        raise InputError(f"{root}: inconsistent DICOM series: {problem}")

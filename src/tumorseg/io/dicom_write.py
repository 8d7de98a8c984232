"""Write a CT volume as a single-frame DICOM series (one CT Image Storage file per slice).

For scans that exist only as NIfTI/NRRD/MHA (phantoms, research datasets) and must go where
DICOM is expected: a PACS, a planning system, or ``tumorseg export`` (which writes DICOM SEG
and RTSTRUCT objects that reference a DICOM series).

Geometry: slice ``k`` is ``array[:, :, k]``, stored with rows along ``j`` and columns along
``i`` (DICOM ``PixelData`` is row-major, so the stored frame is ``array[:, :, k].T``).
``ImageOrientationPatient`` is the first two direction columns (the directions of ``i`` and
``j`` in LPS), ``PixelSpacing`` is ``(spacing_j, spacing_i)``, and ``ImagePositionPatient`` is
the LPS position of voxel ``(0, 0, k)``. Reading the series back gives the same voxels at the
same LPS positions (in the other ``k`` order when the direction is left-handed, because
readers sort slices along the normal ``i × j``).

Values: CT in HU, rounded to whole HU and stored as signed 16-bit integers with
``RescaleSlope`` 1 and ``RescaleIntercept`` 0; values outside −32768…32767 are refused.
The images are marked ``DERIVED\\SECONDARY`` with a ``DerivationDescription`` naming the
source file: they were not acquired by a scanner. UIDs are new (``pydicom.uid.generate_uid``)
unless given.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.io.atomic import atomic_folder
from tumorseg.io.volume import Volume

__all__ = ["write_dicom_phases", "write_dicom_series"]


def _ds(value: float) -> str:
    """A DICOM Decimal String (at most 16 characters) for ``value``."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.6e}"


def _study_header(volume: Volume, patient_name: str, patient_id: str, description: str,
                  study_uid: str, series_uid: str, frame_uid: str, when: dt.datetime
                  ) -> Dataset:
    """The attributes every slice shares (patient, study, series, frame of reference,
    equipment, image plane orientation, pixel format)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CTImageStorage
    ds.PatientName, ds.PatientID = patient_name, patient_id
    ds.PatientBirthDate, ds.PatientSex = "", ""
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_uid, ""
    date, time = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = "", "", "1"
    ds.StudyDescription = ds.SeriesDescription = description[:64]
    ds.Modality, ds.SeriesNumber = "CT", 1
    ds.Laterality, ds.PatientPosition = "", ""  # unknown: empty, as Type 2C allows
    ds.Manufacturer = "tumorseg"
    ds.SoftwareVersions = __version__[:64]
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    source = Path(volume.source).name if volume.source else "an image"
    ds.DerivationDescription = f"converted from {source} by tumorseg"[:1024]
    ds.KVP, ds.AcquisitionNumber = "", 1
    direction = np.asarray(volume.direction, dtype=float)
    ds.ImageOrientationPatient = [_ds(v) for v in (*direction[:, 0], *direction[:, 1])]
    ds.PixelSpacing = [_ds(volume.spacing[1]), _ds(volume.spacing[0])]
    ds.SliceThickness = _ds(volume.spacing[2])
    ds.Rows, ds.Columns = volume.shape[1], volume.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
    return ds


def _hu_int16(volume: Volume) -> np.ndarray:
    """The CT ``volume`` as whole HU in int16; ``InputError`` when it is no one-channel CT or
    its values do not fit."""
    where = volume.source or "volume"
    if volume.is_multichannel:
        raise InputError(f"{where}: DICOM output takes one channel, this has "
                         f"{volume.n_channels}")
    if volume.modality != "CT":
        raise InputError(f"{where}: DICOM output is written for CT only; the modality is "
                         f"{volume.modality!r} (set it with --modality CT if it is a CT)")
    hu = np.rint(np.asarray(volume.array, dtype=np.float64))
    if hu.size and (hu.min() < -32768 or hu.max() > 32767):
        raise InputError(f"{where}: values {hu.min():.0f}..{hu.max():.0f} HU do not fit "
                         "16-bit DICOM pixels")
    return hu.astype(np.int16)


def _write_slices(volume: Volume, stored: np.ndarray, header: Dataset, folder: Path
                  ) -> list[str]:
    """One CT Image Storage file per slice ``k`` of ``stored`` into ``folder``; the names."""
    names = []
    for k in range(volume.shape[2]):
        ds = Dataset()
        ds.update(header)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in volume.index_to_world([0, 0, k])]
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        name = f"slice_{k:04d}.dcm"
        ds.save_as(folder / name, enforce_file_format=True)
        names.append(name)
    return names


def _require_new_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: the DICOM series goes into a new or empty folder")


def write_dicom_series(
    volume: Volume,
    folder: str | os.PathLike[str],
    patient_name: str = "Anonymous^",
    patient_id: str = "TUMORSEG",
    description: str = "tumorseg conversion",
    study_uid: str | None = None,
) -> list[Path]:
    """Write the CT ``volume`` (HU, ``[i, j, k]``) into ``folder`` as one series, one file
    per slice (``slice_0000.dcm``, …); returns the paths in ``k`` order.

    ``folder`` must not exist or be empty; the series is written into a temporary folder
    beside it and renamed when complete, so a failure leaves nothing.

    Raises:
        InputError: not a single-channel CT volume, values outside int16, or ``folder`` is
            a file or a non-empty folder.
    """
    out = Path(folder)
    stored = _hu_int16(volume)
    _require_new_folder(out)
    header = _study_header(volume, patient_name, patient_id, description,
                           study_uid or generate_uid(), generate_uid(), generate_uid(),
                           dt.datetime.now())
    with atomic_folder(out) as tmp:
        names = _write_slices(volume, stored, header, tmp)
    return [out / n for n in names]


def write_dicom_phases(
    phases: Sequence[Volume],
    folder: str | os.PathLike[str],
    patient_name: str = "Anonymous^",
    patient_id: str = "TUMORSEG",
    description: str = "4DCT",
) -> list[Path]:
    """Write the phases of a 4D CT (breathing order, one grid) into ``folder``, one series
    per phase in ``phase_00/``, ``phase_01/``, …: one study and one frame of reference for all
    (they were acquired together), series number ``p + 1``, and the phase's share of the
    breathing cycle in the description ("4DCT phase 03 30%": what ``tumorseg itv`` orders
    DICOM phases by). Returns the phase folders. All or nothing, like
    :func:`write_dicom_series`.

    Raises:
        InputError: fewer than two phases, phases on different grids, or as
            :func:`write_dicom_series`.
    """
    from tumorseg.io.grid import check_same_grid

    if len(phases) < 2:
        raise InputError(f"a 4D CT needs at least two phases, got {len(phases)}")
    first = phases[0]
    for v in phases[1:]:
        check_same_grid(first, v, first.source or "phase 0", v.source or "a phase")
    stored = [_hu_int16(v) for v in phases]
    out = Path(folder)
    _require_new_folder(out)
    study, frame, when = generate_uid(), generate_uid(), dt.datetime.now()
    n = len(phases)
    folders = []
    with atomic_folder(out) as tmp:
        for p, (volume, hu) in enumerate(zip(phases, stored, strict=True)):
            percent = 100.0 * p / n
            header = _study_header(volume, patient_name, patient_id,
                                   f"{description} phase {p:02d} {percent:g}%", study,
                                   generate_uid(), frame, when)
            header.StudyDescription = description[:64]
            header.SeriesNumber = p + 1
            name = f"phase_{p:02d}"
            (tmp / name).mkdir()
            _write_slices(volume, hu, header, tmp / name)
            folders.append(name)
    return [out / name for name in folders]

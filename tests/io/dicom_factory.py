"""Small single-frame DICOM series written with pydicom, for tests (CT and PET)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    PositronEmissionTomographyImageStorage,
)

ROOT = "1.2.826.0.1.3680043.8.498."


def _uid(seed: str) -> str:
    return pydicom.uid.generate_uid(prefix=ROOT, entropy_srcs=[seed])


def write_series(
    folder: Path,
    stored: np.ndarray,
    modality: str = "CT",
    spacing: tuple[float, float, float] = (0.8, 0.7, 2.5),
    origin: tuple[float, float, float] = (-10.0, 20.0, -30.0),
    slopes: np.ndarray | None = None,
    intercept: float = -1024.0,
    z_positions: list[float] | None = None,
    extra: dict | None = None,
    seed: str = "s",
) -> list[Path]:
    """Write ``stored[i, j, k]`` (uint16) as one slice file per k; returns the paths.

    Axial, identity orientation: i → +x (column), j → +y (row), k → +z at ``origin[2] +
    k * spacing[2]`` (or ``z_positions``). ``slopes`` gives a RescaleSlope per slice.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ni, nj, nk = stored.shape
    study, series, frame = _uid(seed + "study"), _uid(seed + "series"), _uid(seed + "for")
    sop_class = CTImageStorage if modality == "CT" else PositronEmissionTomographyImageStorage
    paths = []
    for k in range(nk):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPInstanceUID = _uid(f"{seed}sop{k}")
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = modality
        ds.PatientName, ds.PatientID = "Test^Phantom", "TS0001"
        ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240102"
        ds.StudyTime, ds.SeriesTime, ds.ContentTime = "100000", "110000", "110000"
        ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = "A1", "Doe^John", "1"
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.Manufacturer = "tumorseg-tests"
        ds.PositionReferenceIndicator = ""
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        z = z_positions[k] if z_positions is not None else origin[2] + k * spacing[2]
        ds.ImagePositionPatient = [origin[0], origin[1], z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceThickness = spacing[2]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # (row step = j, column step = i)
        ds.Rows, ds.Columns = nj, ni
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope = float(slopes[k]) if slopes is not None else 1
        ds.RescaleIntercept = intercept
        if modality == "CT":
            ds.KVP = 120
            ds.RescaleType = "HU"
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T.astype(np.uint16)).tobytes()
        path = folder / f"slice_{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def pet_tags(
    weight_kg: float = 70.0,
    dose_bq: float = 350e6,
    injection: dt.datetime = dt.datetime(2024, 1, 2, 10, 0, 0),
    half_life_s: float = 6586.2,
    decay: str = "START",
    units: str = "BQML",
) -> dict:
    """PET-specific tags (series reference time 11:00 on 2024-01-02, see write_series)."""
    info = Dataset()
    info.RadionuclideTotalDose = dose_bq
    info.RadionuclideHalfLife = half_life_s
    info.RadiopharmaceuticalStartDateTime = injection.strftime("%Y%m%d%H%M%S")
    return {
        "Units": units,
        "PatientWeight": weight_kg,
        "DecayCorrection": decay,
        "CorrectedImage": ["ATTN", "DECY"],
        "RadiopharmaceuticalInformationSequence": pydicom.Sequence([info]),
    }

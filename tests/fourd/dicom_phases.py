"""Write tiny CT phases as DICOM series (SimpleITK/GDCM) with phase tags, for the fourd tests."""

from __future__ import annotations

import locale
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tumorseg.io import Volume

STUDY_UID = "1.2.826.0.1.3680043.8.498.1"


def write_dicom_phase(volume: Volume, folder: Path, description: str, series_uid: str,
                      frame_uid: str, temporal_index: int | None = None) -> Path:
    """Write ``volume`` (int16 HU, identity direction) as one axial CT series in ``folder``.

    SimpleITK's GDCM DICOM writer sets the process locale to "C" and leaves it there, which
    turns Python's default text encoding into ASCII for every later test in the worker; the
    locale is restored afterwards.
    """
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        return _write_dicom_phase(volume, folder, description, series_uid, frame_uid,
                                  temporal_index)
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def _write_dicom_phase(volume: Volume, folder: Path, description: str, series_uid: str,
                       frame_uid: str, temporal_index: int | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    image = volume.to_sitk()
    image = sitk.Cast(image, sitk.sitkInt16)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    direction = np.asarray(volume.direction)
    orientation = "\\".join(f"{v:.6f}" for v in (*direction[:, 0], *direction[:, 1]))
    for k in range(volume.shape[2]):
        sl = image[:, :, k]
        pos = volume.index_to_world([0, 0, k])
        tags = {
            "0008|0060": "CT",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"{series_uid}.{k + 1}",
            "0020|000d": STUDY_UID,
            "0020|000e": series_uid,
            "0020|0052": frame_uid,
            "0008|103e": description,
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.4f}" for v in pos),
            "0020|0037": orientation,
            "0018|0050": f"{volume.spacing[2]:.4f}",
            "0028|1052": "0",
            "0028|1053": "1",
        }
        if temporal_index is not None:
            tags["0020|9128"] = str(temporal_index)
        for key, value in tags.items():
            sl.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"slice_{k:03d}.dcm"))
        writer.Execute(sl)
    return folder

"""Write :class:`Volume` objects as NIfTI, NRRD or MHA, atomically and with full geometry."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tumorseg.errors import InputError
from tumorseg.io.atomic import atomic_path
from tumorseg.io.read import IMAGE_SUFFIXES, MODALITY_KEY, NIFTI_NOTES_KEY, is_image_path
from tumorseg.io.volume import Volume

__all__ = ["write_volume"]


def write_volume(
    volume: Volume,
    path: str | os.PathLike[str],
    dtype: np.dtype | type | None = None,
    compress: bool = True,
) -> Path:
    """Write ``volume`` to ``path``; the format follows the extension.

    ``.nii.gz``/``.nii`` (NIfTI), ``.nrrd``/``.nhdr`` (NRRD), ``.mha``/``.mhd`` (MetaImage).
    Spacing, origin and direction are written exactly; a multi-channel volume becomes a 4D
    image. The file appears under its final name only when complete (temp file + rename).
    The modality is kept in NRRD/MHA headers and in the NIfTI ``descrip`` field (as
    ``tumorseg_modality=CT``). Returns the path written.
    """
    out = Path(path)
    if not is_image_path(out):
        raise InputError(f"{out}: unsupported output type (use one of {', '.join(IMAGE_SUFFIXES)})")
    if out.suffix.lower() in (".mhd", ".nhdr"):
        raise InputError(f"{out}: detached-header formats are not written; use .mha or .nrrd")
    if dtype is not None:
        volume = volume.with_array(volume.array.astype(dtype, copy=False))
    elif volume.array.dtype == bool:
        volume = volume.with_array(volume.array.astype(np.uint8))
    elif volume.array.dtype == np.float16:
        volume = volume.with_array(volume.array.astype(np.float32))
    image = volume.to_sitk()
    if volume.modality and volume.modality != "unknown":
        image.SetMetaData(MODALITY_KEY, volume.modality)
        if out.name.lower().endswith((".nii", ".nii.gz")):  # NIfTI keeps it in "descrip"
            image.SetMetaData(NIFTI_NOTES_KEY, f"{MODALITY_KEY}={volume.modality}")
    try:
        with atomic_path(out) as tmp:
            sitk.WriteImage(image, str(tmp), useCompression=compress)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise InputError(f"{out}: cannot write image ({reason})") from exc
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from exc
    return out

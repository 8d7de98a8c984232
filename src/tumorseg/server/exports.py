"""Exports of a session's mask, served through one-off download tokens.

Every export holds the session's current mask, lesions not yet accepted included.
Formats: ``nifti`` (the instance map on the image grid, uint8 — uint16 beyond 255
lesions, as :func:`mask_dtype` says), ``seg`` (DICOM
Segmentation) and ``rtstruct`` (RT Structure Set) through :mod:`tumorseg.export` — both
need a DICOM study as their reference — and ``report`` (the HTML lesion report of
:mod:`tumorseg.report`). Files go to ``STATE/exports/<token>/``; the download URL is
``/api/downloads/<token>/<file>``, the token being 128 random bits.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.io import Volume, strip_image_suffix, write_volume
from tumorseg.server.errors import Conflict, NotFound
from tumorseg.server.security import confine
from tumorseg.server.store import Store

__all__ = ["EXPORT_FORMATS", "download_path", "export_mask", "mask_dtype"]

EXPORT_FORMATS = ("nifti", "seg", "rtstruct", "report")
logging.getLogger("highdicom").setLevel(logging.WARNING)


def mask_dtype(mask: np.ndarray) -> type:
    """The type a mask is served and exported in: uint8 when every lesion number is below
    256, else uint16."""
    return np.uint8 if int(mask.max(initial=0)) < 256 else np.uint16


def _stem(name: str) -> str:
    stem = strip_image_suffix(Path(name).name) or "study"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def export_mask(fmt: str, volume: Volume, mask: np.ndarray, study_name: str,
                study_path: Path, session_id: str, state_dir: Path, store: Store,
                model: dict[str, Any] | None = None) -> str:
    """Write ``mask`` in ``fmt`` and register a download; returns its URL path.

    Raises:
        Conflict: SEG/RTSTRUCT of a study that is not a DICOM series, or of an empty mask.
        InputError: the export itself failed on bad input.
    """
    if fmt not in EXPORT_FORMATS:
        raise Conflict(f"unknown export format {fmt!r} (use {', '.join(EXPORT_FORMATS)})")
    token = secrets.token_urlsafe(16)
    folder = Path(state_dir) / "exports" / token
    stem = _stem(study_name)
    mask_volume = volume.with_array(mask.astype(np.uint16), modality="SEG")
    if fmt == "nifti":
        path = write_volume(mask_volume, folder / f"{stem}_mask.nii.gz",
                            dtype=mask_dtype(mask))
    elif fmt in ("seg", "rtstruct"):
        if not study_path.is_dir():
            raise Conflict(f"{fmt.upper()} export needs a DICOM study as its reference; "
                           f"{study_name} is not a DICOM series (export nifti instead)")
        if not mask.any():
            raise Conflict(f"{fmt.upper()} export: the mask is empty (no lesion)")
        from tumorseg.export import (
            load_reference,
            mask_on_reference,
            mask_segments,
            write_dicom_seg,
            write_rtstruct,
        )

        ref = load_reference(study_path)
        parts = mask_segments(mask_on_reference(mask_volume, ref), "lesions")
        writer = write_dicom_seg if fmt == "seg" else write_rtstruct
        path = writer(ref, parts, folder / f"{stem}_{fmt}.dcm")
    else:
        from tumorseg.measure import measure_case
        from tumorseg.report import write_report

        result = measure_case(volume, mask_volume, instances="yes")
        path = write_report(result, folder / f"{stem}_report.html",
                            inputs={"image": study_name, "mask": f"session {session_id}"},
                            model=model).html
    rel = Path(path).relative_to(state_dir).as_posix()
    store.add_download(token, session_id, rel, Path(path).name)
    return f"/api/downloads/{token}/{Path(path).name}"


def download_path(store: Store, state_dir: Path, token: str, name: str) -> Path:
    """The file behind a download URL (:class:`NotFound` for an unknown token or name)."""
    row = store.download(token)
    if row is None or row["name"] != name:
        raise NotFound("no such download")
    path = confine(state_dir, row["path"])
    if not path.is_file():
        raise NotFound("the download is gone")
    return path

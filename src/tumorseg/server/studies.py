"""Studies: the scans under the data folder, and uploaded ones.

A study is one image file (NIfTI, NRRD, MHA) or one folder of DICOM files, found under the
data folder (read-only) or stored by an upload under ``STATE/uploads`` (a NIfTI file, or a
zip of one DICOM series, unpacked safely). Its id is derived from where it lives
(``root`` + relative path) so it is stable across restarts, and a client can only name a
study by that id, never by a path.

Discovery walks the folder without following symlinks; a symlink is listed only when its
target lies inside the same folder. Hidden entries (``.name``) are skipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pydicom
import SimpleITK as sitk

from tumorseg.errors import InputError
from tumorseg.io import (
    IMAGE_SUFFIXES,
    Volume,
    looks_like_dicom,
    modality_from_header,
    read_volume,
)
from tumorseg.server.security import PathRefused, confine

__all__ = [
    "UPLOAD_SUFFIXES",
    "StudyRef",
    "TooLarge",
    "discover",
    "save_upload",
    "study_id",
    "study_path",
]

log = logging.getLogger(__name__)

#: Uploads accepted: a NIfTI file, or a zip holding one DICOM series.
UPLOAD_SUFFIXES = (".nii.gz", ".nii", ".zip")
#: Most members a zip may hold.
MAX_ZIP_MEMBERS = 20000
_CHUNK = 1 << 20


class TooLarge(InputError):
    """An upload (or the unpacked zip) exceeds the size limit."""


@dataclass(frozen=True)
class StudyRef:
    """Where a study lives and what its header says.

    Attributes:
        id: stable id (``root`` + relative path, hashed).
        name: shown name (relative path, or the uploaded file name).
        root: "data" or "uploads"; rel_path: POSIX path relative to that root.
        modality: "CT", "MR", "PT", … or "unknown"; shape: voxels (i, j, k);
        spacing: mm (i, j, k).
    """

    id: str
    name: str
    root: str
    rel_path: str
    modality: str
    shape: tuple[int, int, int] | None
    spacing: tuple[float, float, float] | None

    def as_row(self) -> dict:
        return {"id": self.id, "name": self.name, "root": self.root, "rel_path": self.rel_path,
                "modality": self.modality,
                "shape": None if self.shape is None else list(self.shape),
                "spacing": None if self.spacing is None else list(self.spacing)}


def study_id(root: str, rel_path: str) -> str:
    """The id of the study at ``rel_path`` under ``root`` (16 hex digits)."""
    return hashlib.sha256(f"{root}:{rel_path}".encode()).hexdigest()[:16]


def study_path(roots: dict[str, Path], root: str, rel_path: str) -> Path:
    """The file or folder of a study, confined to its root (:class:`PathRefused` if not)."""
    if root not in roots:
        raise InputError(f"unknown study root {root!r}")
    return confine(roots[root], rel_path)


def _is_dicom_file(path: Path) -> bool:
    return path.suffix.lower() == ".dcm" or looks_like_dicom(path)


def _file_header(path: Path) -> tuple[str, tuple[int, int, int] | None,
                                      tuple[float, float, float] | None]:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return "unknown", None, None
    size, spacing = reader.GetSize(), reader.GetSpacing()
    modality = modality_from_header(reader) or "unknown"
    if len(size) < 3:
        return modality, None, None
    return (modality, tuple(int(v) for v in size[:3]),  # type: ignore[return-value]
            tuple(float(v) for v in spacing[:3]))


def _dicom_header(files: list[Path]) -> tuple[str, tuple[int, int, int] | None,
                                              tuple[float, float, float] | None]:
    """Modality, approximate size and spacing from the first file of a DICOM folder
    (exact values replace them once the study is opened)."""
    try:
        ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    except Exception:  # any unreadable header just gives no metadata
        return "unknown", None, None
    modality = str(getattr(ds, "Modality", "") or "unknown")
    try:
        ps = [float(v) for v in ds.PixelSpacing]
        dz = float(getattr(ds, "SpacingBetweenSlices", 0) or getattr(ds, "SliceThickness", 0)
                   or 1.0)
        frames = int(getattr(ds, "NumberOfFrames", 0) or 0)
        shape = (int(ds.Columns), int(ds.Rows), frames if len(files) == 1 and frames
                 else len(files))
        return modality, shape, (ps[1], ps[0], dz)
    except (AttributeError, TypeError, ValueError, IndexError):
        return modality, None, None


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _walk(root: Path) -> Iterator[tuple[str, Path, list[Path] | None]]:
    """(relative path, path, DICOM files or None) of every study under ``root``."""
    if not root.is_dir():
        return
    for here, dirs, files in os.walk(root, followlinks=False):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (base / d).is_symlink())
        names = sorted(f for f in files if not f.startswith("."))
        paths = [base / f for f in names if not (base / f).is_symlink()
                 or _inside(root, base / f)]
        dicom = [p for p in paths if not p.name.lower().endswith(IMAGE_SUFFIXES)
                 and _is_dicom_file(p)]
        if dicom:
            yield base.relative_to(root).as_posix(), base, dicom
            dirs[:] = []  # a series folder is one study (sub-folders belong to it)
            continue
        for p in paths:
            if p.name.lower().endswith(IMAGE_SUFFIXES) and p.suffix.lower() != ".raw":
                yield p.relative_to(root).as_posix(), p, None


def discover(root_name: str, root: Path) -> list[StudyRef]:
    """Every study under ``root`` (``root_name`` is "data" or "uploads"), sorted by path."""
    out = []
    for rel, path, dicom in _walk(Path(root)):
        if dicom is not None:
            modality, shape, spacing = _dicom_header(dicom)
        else:
            modality, shape, spacing = _file_header(path)
        out.append(StudyRef(study_id(root_name, rel), _study_name(root_name, rel, root),
                            root_name, rel, modality, shape, spacing))
    return out


def _study_name(root_name: str, rel: str, root: Path) -> str:
    """The shown name: the path under the data folder, an upload's file or folder name."""
    if rel == ".":
        return Path(root).name
    return rel if root_name == "data" else PurePosixPath(rel).parts[-1]


# ------------------------------------------------------------------------- uploads
def _upload_name(filename: str | None) -> str:
    name = (filename or "").strip()
    if not name:
        raise InputError("upload: the file has no name")
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise PathRefused(f"upload {name}: a file name must not contain a path")
    if name.startswith("."):  # hidden: the study list would never show it
        raise InputError(f"upload {name}: a file name must not start with a dot")
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise InputError(f"upload {name}: expected a .nii, .nii.gz or a .zip of one DICOM "
                         "series")
    return name


def _copy_limited(src: BinaryIO, dst: Path, limit: int, what: str) -> int:
    n = 0
    with open(dst, "wb") as out:
        while chunk := src.read(_CHUNK):
            n += len(chunk)
            if n > limit:
                raise TooLarge(f"{what}: larger than the upload limit of "
                               f"{limit / 2**20:.0f} MiB")
            out.write(chunk)
    return n


def _unzip(archive: Path, dest: Path, limit: int, upload: str) -> None:
    """Unpack ``archive`` (uploaded as ``upload``) into ``dest`` member by member: no
    absolute paths, no ``..``, no symlinks, at most ``limit`` bytes unpacked and
    :data:`MAX_ZIP_MEMBERS` members. Messages name the zip as uploaded."""
    what = f"upload {upload}"
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{what}: not a valid zip file") from exc
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise InputError(f"{what}: more than {MAX_ZIP_MEMBERS} files")
        total = 0
        for info in members:
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PathRefused(f"{what}: {info.filename} is a symlink; "
                                  "links are not unpacked")
            try:
                target = confine(dest, info.filename)
            except PathRefused as exc:
                raise PathRefused(f"{what}: {exc}") from exc
            total += info.file_size
            if total > limit:
                raise TooLarge(f"{what}: unpacks to more than the upload limit "
                               f"of {limit / 2**20:.0f} MiB")
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src:
                    _copy_limited(src, target, limit, what)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise InputError(f"{what}: the zip is damaged ({info.filename} cannot be "
                                 "unpacked)") from exc
            except NotImplementedError as exc:
                raise InputError(f"{what}: {info.filename} is compressed with a method that "
                                 "is not supported (use ordinary zip compression)") from exc
            except RuntimeError as exc:  # zipfile's "File … is encrypted, password required"
                raise InputError(f"{what}: {info.filename} is encrypted; password-protected "
                                 "zips are not supported") from exc
            except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
                raise InputError(f"{what}: {info.filename} cannot be unpacked (a name in the "
                                 "zip is both a file and a folder)") from exc


def _unzipped_series(unpacked: Path, upload: str) -> Path:
    """The one DICOM series folder in an unpacked zip, found as :func:`discover` will find
    it (so the upload and the study list agree on the study)."""
    found = list(_walk(unpacked))
    if not any(dicom is not None for _, _, dicom in found):
        raise InputError(f"upload {upload}: no DICOM series found in the zip")
    if len(found) > 1:
        names = ", ".join(rel for rel, _, _ in found[:3]) + (", …" if len(found) > 3 else "")
        raise InputError(f"upload {upload}: the zip holds {len(found)} studies ({names}); "
                         "zip one DICOM series per upload")
    return found[0][1]


def _read_upload(path: Path, upload: str) -> Volume:
    """:func:`read_volume` of a staged upload, its errors told in the user's terms: the file
    name as uploaded and the problem in plain words (no staging path, no raw ITK text)."""
    dicom = path.is_dir()
    unreadable = ("the DICOM series cannot be read (damaged or unsupported DICOM files)"
                  if dicom else "not a readable NIfTI image (damaged, or not a NIfTI file)")
    try:
        return read_volume(path)
    except InputError as exc:
        reason = str(exc)
        if reason.startswith(f"{path}: "):
            reason = reason[len(f"{path}: "):]
        reason = reason.replace(f"{path}/", "").replace(str(path), upload)
        if reason.startswith(("cannot read image", "cannot read DICOM series")) \
                or "::" in reason or str(path.parent) in reason:
            reason = unreadable  # raw ITK text, or a path we could not take out
        elif reason.startswith("no DICOM series found"):
            reason = "no readable DICOM series in the zip"
        raise InputError(f"upload {upload}: {reason}") from exc
    except MemoryError:
        raise
    except Exception as exc:  # a reader failing on odd bytes: the user's file, not a 500
        log.warning("upload %s (%s) could not be read", upload, path, exc_info=True)
        raise InputError(f"upload {upload}: {unreadable}") from exc


def save_upload(stream: BinaryIO, filename: str | None, uploads: Path, limit: int
                ) -> StudyRef:
    """Store an uploaded NIfTI or zipped DICOM series under ``uploads`` and return its study.

    The upload is written to a hidden staging folder, checked (size limit, safe unzip, the
    image reads), and only then renamed into place: a failed upload leaves nothing behind.
    A NIfTI is stored as ``<key>/<name>``; a zip's DICOM series folder (wherever it lies in
    the zip) as ``<key>/<name without .zip>``, its other files dropped. The study returned
    is the one :func:`discover` lists (same id and name).

    Raises:
        TooLarge: over ``limit`` bytes (compressed or unpacked).
        PathRefused: a path in the name or in the zip (absolute, ``..``, symlink).
        InputError: wrong type, not a zip, no readable image or not one DICOM series.
    """
    name = _upload_name(filename)
    uploads = Path(uploads)
    uploads.mkdir(parents=True, exist_ok=True)
    key = uuid.uuid4().hex[:12]
    stage = uploads / f".stage-{key}"
    stage.mkdir()
    try:
        if name.lower().endswith(".zip"):
            archive = stage / ".upload.zip"
            _copy_limited(stream, archive, limit, f"upload {name}")
            unpacked = stage / ".unpacked"
            unpacked.mkdir()
            _unzip(archive, unpacked, limit, name)
            archive.unlink()
            stored = name[: -len(".zip")]
            os.replace(_unzipped_series(unpacked, name), stage / stored)
            shutil.rmtree(unpacked, ignore_errors=True)
        else:
            stored = name
            _copy_limited(stream, stage / stored, limit, f"upload {name}")
        volume = _read_upload(stage / stored, name)
        os.replace(stage, uploads / key)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    rel = f"{key}/{stored}"
    return StudyRef(study_id("uploads", rel), _study_name("uploads", rel, uploads), "uploads",
                    rel, volume.modality, volume.shape,
                    tuple(float(s) for s in volume.spacing))  # type: ignore[arg-type]

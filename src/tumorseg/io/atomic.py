"""Write files and folders atomically: to a temporary name beside the destination, then
rename.

A crash or an error half-way never leaves a half-written output under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["atomic_folder", "atomic_path", "atomic_write_text", "replaceable_folder",
           "require_empty_folder", "require_folder_name"]


def _suffixes(path: Path) -> str:
    """Return the full suffix of ``path`` (``.nii.gz`` stays one suffix)."""
    name = path.name
    for multi in (".nii.gz", ".tar.gz"):
        if name.lower().endswith(multi):
            return name[-len(multi):]
    return path.suffix


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    The temporary name keeps the suffix of ``path`` so that writers which pick the format
    from the extension (SimpleITK) still do. On any exception the temporary file is removed
    and ``path`` is untouched. Parent folders are created.

    Example:
        >>> with atomic_path("out/mask.nii.gz") as tmp:   # doctest: +SKIP
        ...     sitk.WriteImage(image, str(tmp))
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=f".tmp{_suffixes(final)}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the final path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def require_empty_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` when it does not exist or is an empty folder, else ``InputError``."""
    from tumorseg.errors import InputError

    dest = Path(path)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest}: exists and is not an empty folder")
    return dest


#: Endings that name a file, not a folder (``-o metrics.csv`` where a folder goes is a
#: mistake, not a folder to make); other dotted names ("models/liver.v2") are folders.
FILE_SUFFIXES = frozenset({
    "csv", "tsv", "json", "txt", "md", "html", "htm", "pdf", "png", "jpg", "jpeg", "svg",
    "nii", "gz", "nrrd", "nhdr", "mha", "mhd", "dcm", "zip", "tar", "npy", "npz", "pt",
    "pth", "ckpt", "pkl", "h5", "hdf5", "xlsx", "yaml", "yml", "log"})


def require_folder_name(path: str | os.PathLike[str], option: str, files: str) -> Path:
    """``path`` when it is an existing folder, or a new one not named like a file (see
    :data:`FILE_SUFFIXES`); else ``InputError``. ``files``: what a file name given to
    ``option`` would look like (e.g. "an image file name (.nii.gz, .nii, .nrrd, .mha)"), or
    "" when only a folder goes there."""
    from tumorseg.errors import InputError

    dest = Path(path)
    if dest.exists():
        if not dest.is_dir():
            raise InputError(f"{dest}: exists and is not a folder ({option})")
        return dest
    if dest.suffix[1:].lower() in FILE_SUFFIXES:
        what = f"not {files}; " if files else ""
        raise InputError(f"{dest}: {what}{option} takes a folder here, named without a file "
                         f"suffix such as {dest.suffix}")
    return dest


def replaceable_folder(path: str | os.PathLike[str], overwrite: bool,
                       ours: Callable[[Path], bool], what: str, option: str) -> Path:
    """``path`` when it is new or empty, or, with ``overwrite``, when ``ours(path)`` says it
    holds an earlier output of the same kind (``what``, e.g. "phantom dataset"); else
    ``InputError`` naming the folder, ``option`` and ``--overwrite``. Nothing is deleted."""
    from tumorseg.errors import InputError

    dest = Path(path)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: exists and is not a folder ({option})")
    if not dest.exists() or not any(dest.iterdir()):
        return dest
    if not overwrite:
        raise InputError(f"{dest}: folder is not empty; choose a new {option}, or add "
                         f"--overwrite to replace an earlier {what} there")
    if not ours(dest):
        raise InputError(f"{dest}: --overwrite replaces only an earlier {what}; this folder "
                         "is something else, left untouched")
    return dest


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], replace: bool = False) -> Iterator[Path]:
    """Yield a fresh hidden folder beside ``path``; on success rename it to ``path``, on any
    exception remove it. ``path`` must not exist or be an empty folder (``InputError``
    otherwise) unless ``replace``: then a folder already at ``path`` is swapped out for the
    new one and deleted only after the new one is in place. Parent folders are created."""
    dest = Path(path) if replace else require_empty_folder(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
    old = None
    try:
        yield tmp
        if dest.exists() and replace and any(dest.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / dest.name)
        elif dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

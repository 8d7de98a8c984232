"""Write files atomically: to a temporary file in the destination folder, then rename.

A crash or an error half-way never leaves a half-written output under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text"]


def _suffixes(path: Path) -> str:
    """Return the full suffix of ``path`` (``.nii.gz`` stays one suffix)."""
    name = path.name
    for multi in (".nii.gz", ".tar.gz"):
        if name.lower().endswith(multi):
            return name[-len(multi):]
    return path.suffix


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
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
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

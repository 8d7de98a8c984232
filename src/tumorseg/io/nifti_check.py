"""Is a NIfTI file complete? ITK reads a truncated ``.nii`` or ``.nii.gz`` without an error and
fills the missing voxels with zeros (a half-copied file, an interrupted download); this check
refuses such a file before it is measured, segmented or converted.

NIfTI-1 and NIfTI-2 headers give the voxel data's offset (``vox_offset``) and size (the
dimensions × ``bitpix``), so the file (or, for ``.nii.gz``, the decompressed stream) must hold
at least ``vox_offset + nbytes`` bytes. For ``.nii.gz`` the gzip trailer's ISIZE (the
decompressed size modulo 2³²) is compared first, which costs nothing; only when it disagrees
(a truncated file, or a file of several gzip members) is the stream decompressed to be sure.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

from tumorseg.errors import InputError

__all__ = ["check_nifti_complete"]

_CHUNK = 1 << 22


def _layout(head: bytes) -> tuple[int, int] | None:
    """``(vox_offset, data bytes)`` from the first bytes of a NIfTI-1/2 header; None when the
    header is not NIfTI (then ITK's own reader decides)."""
    for endian in "<>":
        if len(head) >= 348 and struct.unpack(f"{endian}i", head[:4])[0] == 348:
            dim = struct.unpack(f"{endian}8h", head[40:56])
            bitpix = struct.unpack(f"{endian}h", head[72:74])[0]
            offset = int(struct.unpack(f"{endian}f", head[108:112])[0])
            break
        if len(head) >= 540 and struct.unpack(f"{endian}i", head[:4])[0] == 540:
            dim = struct.unpack(f"{endian}8q", head[16:80])
            bitpix = struct.unpack(f"{endian}h", head[14:16])[0]
            offset = int(struct.unpack(f"{endian}q", head[168:176])[0])
            break
    else:
        return None
    n_dims = int(dim[0])
    if not 1 <= n_dims <= 7 or bitpix <= 0:
        return None
    voxels = 1
    for d in dim[1:n_dims + 1]:
        voxels *= max(int(d), 1)
    return offset, voxels * int(bitpix) // 8


def _decompressed_size(path: Path) -> int:
    """Bytes in the whole gzip stream; ``InputError`` when it is cut short or corrupt."""
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(_CHUNK):
                total += len(block)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: truncated or corrupt gzip data ({exc}); the file is "
                         "incomplete, copy or download it again") from None
    return total


def check_nifti_complete(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` naming ``path`` when the NIfTI file holds fewer voxel bytes
    than its header announces (or its gzip stream is cut short). Other files: no check."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".nii"):
        with p.open("rb") as fh:
            layout = _layout(fh.read(544))
        size = p.stat().st_size
    elif name.endswith(".nii.gz"):
        try:
            with gzip.open(p, "rb") as fh:
                layout = _layout(fh.read(544))
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError):
            return  # not readable as gzip at all: ITK's reader reports it
        if layout is None:
            return
        with p.open("rb") as fh:
            fh.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", fh.read(4))[0]
        if isize == (layout[0] + layout[1]) % (1 << 32):
            return
        size = _decompressed_size(p)
    else:
        return
    if layout is None:
        return
    offset, nbytes = layout
    if size < offset + nbytes:
        raise InputError(f"{p}: truncated: the header announces {nbytes} bytes of voxels but "
                         f"the file holds {max(size - offset, 0)}; the file is incomplete, "
                         "copy or download it again")

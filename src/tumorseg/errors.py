"""Exceptions raised by tumorseg.

Library code raises these; only the CLI turns them into a one-line message and a
non-zero exit status. Every message names the file (when there is one) and the problem.
"""

from __future__ import annotations

__all__ = ["GeometryMismatchError", "InputError", "TumorsegError"]


class TumorsegError(Exception):
    """Base class of every error tumorseg raises on purpose."""


class InputError(TumorsegError):
    """An input file or argument is missing, unreadable or invalid."""


class GeometryMismatchError(InputError):
    """Two volumes that must share a voxel grid do not (size, spacing, origin or direction)."""

"""Who may call the API and which files it may touch.

* **Token.** Bound to loopback (127.0.0.1, ::1, localhost) the server needs no token unless
  one is given; bound anywhere else it always needs one (:func:`ensure_token` makes one).
  Requests carry it as ``Authorization: Bearer <token>`` or ``?token=<token>``.
* **Path confinement.** Clients never send paths; the few file names that reach the server
  (upload names, zip members, download names) go through :func:`confine`, which rejects
  absolute paths, ``..`` parts, and anything whose resolved path (symlinks followed) is
  not inside the root.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path, PurePosixPath, PureWindowsPath

from tumorseg.errors import InputError

__all__ = ["PathRefused", "confine", "ensure_token", "is_loopback", "token_matches"]


class PathRefused(InputError):
    """A client-supplied name points outside the folder it must stay in."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ensure_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """The token the server will require, and whether it was generated here.

    Loopback without ``token``: ``(None, False)``. Any other host without ``token``: a new
    random URL-safe token (32 bytes of entropy), ``(token, True)``.
    """
    if token is not None:
        if not token.strip():
            raise InputError("--token: an empty token is not allowed")
        return token, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(32), True


def token_matches(expected: str | None, authorization: str | None, query: str | None) -> bool:
    """Whether a request's ``Authorization: Bearer`` header or ``?token=`` carries the token
    (always True when no token is required). Constant-time comparison."""
    if expected is None:
        return True
    given = None
    if authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    elif query:
        given = query
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def confine(root: str | os.PathLike[str], name: str) -> Path:
    """``root / name`` when it stays inside ``root``, else :class:`PathRefused`.

    Refused: empty names, absolute paths (POSIX or Windows, drive letters), backslashes,
    NUL bytes, any ``..`` part, and names whose resolved path (following symlinks) leaves
    ``root``. The path need not exist.
    """
    if not name or "\x00" in name or "\\" in name:
        raise PathRefused(f"{name!r}: not an allowed file name")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise PathRefused(f"{name}: absolute paths are not allowed")
    if any(part == ".." for part in posix.parts):
        raise PathRefused(f"{name}: '..' is not allowed in a path")
    base = Path(root).resolve()
    target = (base / posix).resolve()
    if not target.is_relative_to(base):
        raise PathRefused(f"{name}: leads outside its folder")
    return target

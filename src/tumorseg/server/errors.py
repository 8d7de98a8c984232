"""Server-side errors and the HTTP status each one answers with.

Library errors keep their meaning: :class:`~tumorseg.errors.InputError` is bad input (400),
:class:`~tumorseg.server.security.PathRefused` a path outside its folder (403),
:class:`~tumorseg.server.studies.TooLarge` an upload over the limit (413).
"""

from __future__ import annotations

from tumorseg.errors import InputError, TumorsegError

__all__ = ["Conflict", "NotFound", "status_of"]


class NotFound(TumorsegError):
    """An unknown study, session, lesion or download."""


class Conflict(TumorsegError):
    """The request is valid but cannot be done in the current state (e.g. SEG of a NIfTI
    study, no interactive model loaded, nothing to undo)."""


def status_of(exc: BaseException) -> int:
    """The HTTP status code of an error (500 for anything unexpected)."""
    from tumorseg.server.security import PathRefused
    from tumorseg.server.studies import TooLarge

    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, PathRefused):
        return 403
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, InputError | TumorsegError):
        return 400
    return 500

"""Where the reference-phase GTV comes from: a given mask, clicks, or automatic detection
(:mod:`tumorseg.fourd.detect`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tumorseg.errors import GeometryMismatchError, InputError, TumorsegError
from tumorseg.io import Volume, check_same_grid, read_volume

__all__ = ["click_session_factory", "gtv_from_clicks", "gtv_from_mask"]


def gtv_from_mask(path: str | os.PathLike[str], grid: Volume) -> np.ndarray:
    """The reference GTV from a label file on the phases' grid: every nonzero voxel (boolean
    ``[i, j, k]``). A file on another grid or an empty one is an :class:`InputError`."""
    mask = read_volume(path)
    if mask.is_multichannel:
        raise InputError(f"{path}: the reference mask must be 3D, got {mask.n_channels} channels")
    try:
        check_same_grid(grid, mask, what_a="the phases", what_b=str(path))
    except GeometryMismatchError as exc:
        raise GeometryMismatchError(f"reference mask {exc}") from None
    gtv = mask.array > 0
    if not gtv.any():
        raise InputError(f"{path}: the reference mask is empty")
    return gtv


def click_session_factory(device: str = "cpu") -> Callable[[Volume], Any]:
    """``f(volume) -> InteractiveSession`` of the bundled click-guided model, loaded once here.

    Raises an :class:`InputError` (one line) when the click-guided session or its model is not
    installed.
    """
    try:
        from tumorseg.interactive.model import InteractiveModel
        from tumorseg.interactive.session import InteractiveSession
    except ImportError as exc:
        raise InputError("--click needs the click-guided session "
                         "(tumorseg.interactive.session), which this installation does not "
                         f"have ({exc}); give the GTV with --mask FILE instead") from None
    try:
        model = InteractiveModel.load(None, device=device)
    except TumorsegError as exc:
        raise InputError(f"the click-guided model is not available ({exc}); give the GTV "
                         "with --mask FILE instead") from None

    def make(volume: Volume) -> Any:
        return InteractiveSession(volume, model=model, device=device)

    return make


def gtv_from_clicks(volume: Volume, clicks: Sequence[tuple[int, int, int]],
                    device: str = "cpu") -> np.ndarray:
    """The reference GTV from positive clicks (voxel indices ``(i, j, k)``) on ``volume``,
    replayed in order through the click-guided session; boolean ``[i, j, k]``."""
    from tumorseg.interactive.prompts import Click

    session = click_session_factory(device)(volume)
    mask = None
    for c in clicks:
        mask = session.add_click(Click(tuple(c)))
    gtv = np.asarray(mask) > 0
    if not gtv.any():
        raise InputError(f"the click-guided model found no tumor at the click(s) {list(clicks)}")
    return gtv

"""Where the reference-phase GTV comes from: a given mask, clicks, or automatic detection
(:mod:`tumorseg.fourd.detect`).

Clicks are segmented by one of :data:`CLICK_METHODS`: ``"random-walker"`` (the default) and
``"region-growing"`` are the classical baselines of :mod:`tumorseg.interactive.baselines`;
``"model"`` is the bundled click-guided network. The default is the random walker because it
was the most accurate after one click on lung tumors: on 12 ``lung-4dct`` "full" test
phantoms (seed 2026, "Ts", phase 0, one click at :func:`tumorseg.interactive.robot.first_click`;
``benchmarks/bench_lung_click.py``) its mean Dice was 0.791, against 0.707 for the click model
(trained on abdomen, PET and brain phantoms; 0.579 for its network without the random-walker
refinement) and 0.520 for region growing;
see ``benchmarks/RESULTS.md``, "4D CT / ITV".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tumorseg.errors import GeometryMismatchError, InputError, TumorsegError
from tumorseg.fourd.reference import AIR_HU
from tumorseg.io import Volume, align_to_grid, label_map_array, read_volume

__all__ = [
    "CLICK_METHODS",
    "DEFAULT_CLICK_METHOD",
    "click_session_factory",
    "gtv_from_clicks",
    "gtv_from_mask",
]

#: Segmenters of the reference GTV from clicks (``tumorseg itv --click-method``).
CLICK_METHODS: tuple[str, ...] = ("random-walker", "region-growing", "model")
#: The most accurate of :data:`CLICK_METHODS` after one click on lung-4dct phantoms.
DEFAULT_CLICK_METHOD = "random-walker"


def gtv_from_mask(path: str | os.PathLike[str], grid: Volume) -> np.ndarray:
    """The reference GTV from a label file on the phases' grid: every nonzero voxel (boolean
    ``[i, j, k]``). A file on another grid or an empty one is an :class:`InputError`."""
    mask = read_volume(path)
    if mask.is_multichannel:
        raise InputError(f"{path}: the reference mask must be 3D, got {mask.n_channels} channels")
    try:
        mask = align_to_grid(mask, grid, str(path), "the phases")  # flipped saves too
    except GeometryMismatchError as exc:
        raise GeometryMismatchError(f"reference mask {exc}") from None
    gtv = label_map_array(mask, path) > 0
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


def _click_step(volume: Volume, method: str, device: str) -> Callable[[Any], np.ndarray]:
    """``f(click) -> mask`` of ``method`` started on ``volume``: each call adds one click and
    returns the object's mask so far (nonzero = object)."""
    from tumorseg.interactive.baselines import RandomWalkerSegmenter, RegionGrowingSegmenter

    if method == "model":
        return click_session_factory(device)(volume).add_click
    segmenters = {"random-walker": RandomWalkerSegmenter, "region-growing": RegionGrowingSegmenter}
    if method not in segmenters:
        raise InputError(f"click method {method!r}: unknown; choose one of "
                         f"{', '.join(CLICK_METHODS)}")
    segmenter = segmenters[method]()
    segmenter.start(volume)
    return segmenter.update


def gtv_from_clicks(volume: Volume, clicks: Sequence[tuple[int, int, int]],
                    method: str = DEFAULT_CLICK_METHOD, device: str = "cpu") -> np.ndarray:
    """The reference GTV from positive clicks (voxel indices ``(i, j, k)``) on ``volume``,
    replayed in order through ``method`` (one of :data:`CLICK_METHODS`); boolean ``[i, j, k]``.

    ``device`` is used by ``"model"`` only. An unknown method, a missing click-guided model
    (``"model"``), no click, a click on air (below :data:`AIR_HU`: lung or outside the body,
    never a tumor) or an empty result is an :class:`InputError` (one line).
    """
    from tumorseg.interactive.prompts import Click

    if not clicks:
        raise InputError("no click given for the reference GTV")
    hu = volume.array if volume.array.ndim == 3 else volume.array[0]
    for c in clicks:
        value = float(hu[tuple(int(v) for v in c)])
        if value < AIR_HU:
            raise InputError(f"{volume.source or 'reference phase'}: the click at voxel "
                             f"{tuple(int(v) for v in c)} is on air ({value:.0f} HU < "
                             f"{AIR_HU:.0f}); click inside the tumor")
    step = _click_step(volume, method, device)
    mask = None
    for c in clicks:
        mask = step(Click(tuple(int(v) for v in c)))
    gtv = np.asarray(mask) > 0
    if not gtv.any():
        raise InputError(f"the {method} segmenter found no tumor at the click(s) {list(clicks)}")
    return gtv

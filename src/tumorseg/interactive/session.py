"""``InteractiveSession``: click-guided segmentation of one volume, several lesions, undo/redo.

The session holds an instance map ``mask`` (uint16 ``[i, j, k]`` on the image's own grid:
0 background, 1…n lesions) and the prompts given for each lesion. Every prompt refines the
**active** lesion only:

* the guided network runs on a region of interest (ROI) around the lesion's clicks, box and
  current mask, resampled to the model spacing (:mod:`tumorseg.interactive.roi`) and back;
  voxels outside the ROI are never touched;
* a positive click in a missed part *extends* the active lesion (kept: the connected
  components of the prediction that contain a positive click or overlap the lesion as it
  was); it never starts a new lesion — that is
  :meth:`new_lesion` (or :meth:`select_lesion`);
* other lesions are never overwritten and enter the negative guidance channel as constraints;
* the clicked voxels themselves are always honoured (positive in, negative out);
* prompts are monotone (``monotone``, the default): a positive click only adds to the
  active lesion, a negative click only removes from it, a box only adds inside itself;
* a box trims the part of the active lesion it is drawn on (a leak out of the box goes) but
  never deletes a separate part of the lesion that does not touch it, nor what a positive
  click outside the box asks for;
* a negative click on a lesion that no positive click or box supports (an unconfirmed
  detection, e.g. a component of the automatic prior) **rejects** it when the network removes
  most of it: if at most :data:`REJECT_FRACTION` of its voxels in the ROI survive, the rest
  goes too (the residue would be a stray false positive needing more clicks). When the
  network keeps more — a negative click that trims a leak — the trimmed lesion stays.

The normalised ROI image is cached, and the ROI kept while the lesion fits inside it, so later
clicks only pay for the network. Every prompt is one step on an undo stack holding the mask
voxels it changed (not whole masks).

Example:
    >>> s = InteractiveSession(volume)                        # doctest: +SKIP
    >>> mask = s.add_click((120, 88, 40))                     # lesion 1
    >>> s.add_click((131, 90, 41), positive=False)            # trim a leak
    >>> s.new_lesion(); s.add_click(Click((60, 70, 33)))      # lesion 2
    >>> s.undo(); s.results                                   # per-lesion volumes
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cc3d
import numpy as np

from tumorseg.errors import InputError
from tumorseg.interactive.guidance import encode_box, encode_clicks
from tumorseg.interactive.model import (
    InteractiveModel,
    InteractiveModelSpec,
    guide_image,
    roi_image_channels,
)
from tumorseg.interactive.prompts import Box, Click, Prompts
from tumorseg.interactive.roi import Roi, extract, make_roi, paste_probability
from tumorseg.io import Volume

__all__ = ["DEFAULT_FIRST_PROMPT_PASSES", "REJECT_FRACTION", "GuidedModel", "InteractiveSession",
           "LesionResult"]

Index = tuple[int, int, int]

#: A negative click on a lesion with no positive click or box removes the whole lesion (in
#: the ROI) when the network kept at most this fraction of its voxels there.
REJECT_FRACTION = 0.2
#: Network passes for a lesion's first prompt (no mask, no box): each pass after the first
#: feeds the previous pass's mask back as the prior channel. Measured on validation phantoms
#: (benchmarks/RESULTS.md, "self-prior passes"): 2 passes raise the Dice after one click
#: (0.48 → 0.53) but lower it after 3–5, the same mean over 1–5 clicks; so 1 by default.
DEFAULT_FIRST_PROMPT_PASSES = 1
#: A positive click (or a box, inside it) never removes voxels from its lesion and a negative
#: click never adds any (see :class:`InteractiveSession`, ``monotone``).
DEFAULT_MONOTONE = True


class GuidedModel(Protocol):
    """What the session needs from a model (:class:`InteractiveModel`, or a fake in tests)."""

    spec: InteractiveModelSpec

    def predict(self, roi_image: np.ndarray, pos: np.ndarray, neg: np.ndarray,
                prior: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LesionResult:
    """One lesion of the session's mask.

    Attributes:
        label: its value in the mask (1…n).
        voxels: voxel count; volume_ml: volume in mL.
        centroid_mm: centre of mass, LPS mm.
        bbox: inclusive voxel bounds ``((i0, j0, k0), (i1, j1, k1))``.
        clicks: clicks given for it (positive, negative).
    """

    label: int
    voxels: int
    volume_ml: float
    centroid_mm: tuple[float, float, float]
    bbox: tuple[Index, Index]
    clicks: tuple[int, int]


@dataclass
class _Step:
    """One undoable change: the prompts before/after and the mask voxels it rewrote."""

    prompts_before: dict[int, Prompts]
    prompts_after: dict[int, Prompts]
    active_before: int
    active_after: int
    slices: tuple[slice, ...] | None = None
    old: np.ndarray | None = None
    new: np.ndarray | None = None


class InteractiveSession:
    """Click-guided segmentation of one volume (see the module docstring).

    Args:
        volume: the image (3D, or 4D channel-first: ``channel`` is used).
        model: None (the bundled interactive model), a bundled name, a model folder, or a
            loaded model (anything with ``spec`` and ``predict``, see :class:`GuidedModel`).
        device: "cpu" or "cuda" (for a model loaded here).
        prior: an initial mask on the volume's grid (e.g. the automatic model's): an instance
            map (each value a lesion) or a binary mask (each connected component a lesion).
        channel: the image channel of a multi-channel volume to segment on.
        first_prompt_passes: network passes for the first prompt of a lesion that has no
            mask yet and no box (an empty prior channel); passes after the first use the
            previous pass's mask as the prior
            (:data:`DEFAULT_FIRST_PROMPT_PASSES`). Each pass costs one more network run.
        monotone: a positive click only adds to the active lesion and a negative click only
            removes from it; a box only adds inside itself (and trims the part of the lesion
            it touches to itself; parts that do not touch it stay).
            Without it, a click re-segments the whole ROI: the refinement's walker restarts
            from the click cores, and a positive click on a lesion the automatic model had
            found could shrink it to a blob (742 → 71 voxels in a README walk-through).
            Chosen on validation phantoms (``benchmarks/RESULTS.md``).
        threads: torch CPU threads while a model loaded here runs (default 1: on this
            project's busy 2-core CPU one thread is ~5× faster per click than two, see
            :class:`~tumorseg.interactive.model.InteractiveModel`); None = torch's setting.

    Attributes:
        volume: the image; model: the guided network; last_seconds: wall time of the last
        prompt (click to updated mask); last_changed: array slices outside which the last
        mask-changing call (prompt, undo, redo, reset) left the mask untouched — None before
        the first — so a caller can diff or redraw that box instead of the whole volume.
    """

    def __init__(self, volume: Volume, model: Any = None, device: str = "cpu",
                 prior: np.ndarray | None = None, channel: int = 0,
                 threads: int | None = 1,
                 first_prompt_passes: int = DEFAULT_FIRST_PROMPT_PASSES,
                 monotone: bool = DEFAULT_MONOTONE) -> None:
        self.monotone = bool(monotone)
        if first_prompt_passes < 1:
            raise ValueError(f"first_prompt_passes must be ≥ 1, got {first_prompt_passes}")
        self.first_prompt_passes = int(first_prompt_passes)
        self.volume = volume
        if model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
            model = InteractiveModel.load(model, device=device, threads=threads)
        self.model: GuidedModel = model
        arr = np.asarray(volume.array)
        if arr.ndim == 4:
            if not 0 <= channel < arr.shape[0]:
                raise InputError(f"{volume.source or 'volume'}: no channel {channel} "
                                 f"(it has {arr.shape[0]})")
            arr = arr[channel]
        self._image = arr
        self.shape: Index = volume.shape
        self._initial = self._initial_mask(prior)
        self._mask = self._initial.copy()
        self._prompts: dict[int, Prompts] = {}
        self._bbox = self._bboxes(self._mask)
        self._active = 1
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._rois: dict[int, Roi] = {}
        self._cache: OrderedDict[Roi, np.ndarray] = OrderedDict()
        self.last_seconds: float | None = None
        self.last_changed: tuple[slice, slice, slice] | None = None

    # ------------------------------------------------------------------ state
    @property
    def mask(self) -> np.ndarray:
        """The instance map (uint16 ``[i, j, k]``, 0 background); a read-only view."""
        view = self._mask.view()
        view.flags.writeable = False
        return view

    @property
    def active_lesion(self) -> int:
        """The lesion the next prompt refines."""
        return self._active

    @property
    def prompts(self) -> dict[int, Prompts]:
        """Prompts given so far, per lesion."""
        return dict(self._prompts)

    @property
    def results(self) -> list[LesionResult]:
        """Per-lesion volume, centroid and box (lesions with at least one voxel).

        Computed inside each lesion's tracked bounding box (a superset of its voxels), not
        over the whole volume: on a 512×512×100 mask that is milliseconds instead of ~0.2 s.
        """
        vox_ml = float(np.prod(self.volume.spacing)) / 1000.0
        out = []
        for label in sorted(self._bbox):
            start, stop = self._bbox[label]
            region = tuple(slice(int(a), int(b) + 1) for a, b in zip(start, stop, strict=True))
            idx = np.argwhere(self._mask[region] == label)
            n = len(idx)
            if n == 0:
                continue
            idx += np.asarray(start, dtype=idx.dtype)
            lo = tuple(int(v) for v in idx.min(axis=0))
            hi = tuple(int(v) for v in idx.max(axis=0))
            centroid = self.volume.index_to_world(idx.mean(axis=0))
            p = self._prompts.get(label, Prompts())
            out.append(LesionResult(label, n, n * vox_ml,
                                    tuple(float(v) for v in centroid),  # type: ignore[arg-type]
                                    (lo, hi), (len(p.positive), len(p.negative))))  # type: ignore[arg-type]
        return out

    # ---------------------------------------------------------------- prompts
    def add_click(self, click: Click | Sequence[int], positive: bool = True) -> np.ndarray:
        """Add a click to the active lesion and update the mask.

        Args:
            click: a :class:`Click` (its ``positive`` is used; its ``lesion`` is replaced by
                the active lesion) or a voxel index ``(i, j, k)``.
            positive: for an index: lesion (True) or not lesion (False).

        Returns:
            The updated instance map (:attr:`mask`).

        Raises:
            InputError: the index lies outside the volume.
        """
        t0 = time.perf_counter()
        if isinstance(click, Click):
            index, positive = click.index, click.positive
        else:
            index = tuple(int(v) for v in click)  # type: ignore[assignment]
        self._check_index(index)
        new = Click(index, positive, self._active)  # type: ignore[arg-type]
        before = dict(self._prompts)
        current = self._prompts.get(self._active, Prompts())
        self._prompts[self._active] = current.add(new)
        self._run(before, sign=bool(positive))
        self.last_seconds = time.perf_counter() - t0
        return self.mask

    def set_box(self, box: Box) -> np.ndarray:
        """Set (replace) the active lesion's box and update the mask; returns :attr:`mask`."""
        t0 = time.perf_counter()
        for corner in (box.lo, box.hi):
            self._check_index(corner)
        before = dict(self._prompts)
        current = self._prompts.get(self._active, Prompts())
        self._prompts[self._active] = Prompts(current.clicks,
                                              Box(box.lo, box.hi, self._active))
        self._run(before, sign=True,
                  latest=(np.array(box.lo, float) + np.array(box.hi, float)) / 2.0)
        self.last_seconds = time.perf_counter() - t0
        return self.mask

    def new_lesion(self) -> int:
        """Start a new lesion (one more than any lesion so far) and make it active."""
        used = [int(self._mask.max()) if self._mask.size else 0, *self._prompts, self._active]
        self._active = max(used) + 1
        return self._active

    def select_lesion(self, lesion: int) -> None:
        """Make ``lesion`` (≥ 1) the active lesion; later prompts refine it."""
        if int(lesion) < 1 or int(lesion) > np.iinfo(np.uint16).max:
            raise InputError(f"lesion numbers are 1…65535, got {lesion}")
        self._active = int(lesion)

    def undo(self) -> bool:
        """Undo the last prompt (or reset); False when there is nothing to undo."""
        if not self._undo:
            return False
        step = self._undo.pop()
        self._apply(step, forward=False)
        self._redo.append(step)
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is nothing to redo."""
        if not self._redo:
            return False
        step = self._redo.pop()
        self._apply(step, forward=True)
        self._undo.append(step)
        return True

    def reset(self) -> None:
        """Back to the initial mask (the prior, or empty) with no prompts; undoable."""
        step = _Step(dict(self._prompts), {}, self._active, 1, (slice(None),) * 3,
                     self._mask.copy(), self._initial.copy())
        self._apply(step, forward=True)
        self._undo.append(step)
        self._redo.clear()

    # --------------------------------------------------------------- internals
    def _initial_mask(self, prior: np.ndarray | None) -> np.ndarray:
        if prior is None:
            return np.zeros(self.shape, np.uint16)
        prior = np.asarray(prior)
        if prior.shape != self.shape:
            raise InputError(f"prior mask of size {prior.shape} does not match the image "
                             f"size {self.shape}")
        if prior.dtype == bool or int(prior.max(initial=0)) <= 1:
            return cc3d.connected_components((prior > 0).astype(np.uint8),
                                             connectivity=26).astype(np.uint16)
        return prior.astype(np.uint16)

    @staticmethod
    def _bboxes(mask: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        stats = cc3d.statistics(mask)
        out = {}
        for label, box in enumerate(stats["bounding_boxes"]):
            if label == 0 or stats["voxel_counts"][label] == 0:
                continue
            out[label] = (np.array([s.start for s in box]), np.array([s.stop - 1 for s in box]))
        return out

    def _check_index(self, index: Sequence[int]) -> None:
        if len(index) != 3 or any(not 0 <= int(v) < n for v, n in zip(index, self.shape,
                                                                         strict=True)):
            raise InputError(f"voxel {tuple(index)} is outside the image of size {self.shape}")

    def _apply(self, step: _Step, forward: bool) -> None:
        if step.slices is not None:
            self._mask[step.slices] = step.new if forward else step.old
            self.last_changed = step.slices
        self._prompts = dict(step.prompts_after if forward else step.prompts_before)
        self._active = step.active_after if forward else step.active_before
        self._bbox = self._bboxes(self._mask)
        self._rois.clear()

    def _roi_for(self, lesion: int, points: list[np.ndarray], latest: np.ndarray) -> Roi:
        """The ROI for ``lesion``: kept from its previous prompt while its mask and
        ``points`` fit inside, else centred on them (on ``latest`` when they do not fit)."""
        spec = self.model.spec
        lo = np.min(points, axis=0)
        hi = np.max(points, axis=0)
        if lesion in self._bbox:
            lo = np.minimum(lo, self._bbox[lesion][0])
            hi = np.maximum(hi, self._bbox[lesion][1])
        previous = self._rois.get(lesion)
        if previous is not None and previous.contains(lo, 0.1) and previous.contains(hi, 0.1):
            return previous
        size = np.array([m * ms / s for m, ms, s in
                         zip(spec.patch_size, spec.spacing_mm, self.volume.spacing, strict=True)])
        centre = (lo + hi) / 2.0
        too_big = (hi - lo + 1) > 0.8 * size
        centre = np.where(too_big, latest, centre)
        roi = make_roi(centre, self.volume.spacing, spec.spacing_mm, spec.patch_size)
        self._rois[lesion] = roi
        return roi

    def _roi_image(self, roi: Roi) -> np.ndarray:
        cached = self._cache.get(roi)
        if cached is not None:
            self._cache.move_to_end(roi)
            return cached
        image = roi_image_channels(extract(self._image, roi),
                                   self.model.spec.normalization_scheme)
        self._cache[roi] = image
        while len(self._cache) > 8:
            self._cache.popitem(last=False)
        return image

    def _run(self, prompts_before: dict[int, Prompts], sign: bool | None = None,
             latest: np.ndarray | None = None) -> None:
        """Run the model for the active lesion and record the change as an undo step;
        ``sign``: the new prompt says "lesion" (True: a positive click or a box) or "not
        lesion" (False: a negative click); ``latest``: where the new prompt is (default its
        last click), the ROI's centre when the lesion's prompts do not fit in one."""
        lesion = self._active
        prompts = self._prompts[lesion]
        positive = [np.array(c.index, float) for c in prompts.positive]
        negative = [np.array(c.index, float) for c in prompts.negative]
        box = prompts.box
        if box is not None and not any(box.contains(p) for p in positive):
            # the box's centre stands for a click inside it (none given there)
            positive.append((np.array(box.lo, float) + np.array(box.hi, float)) / 2.0)
        step = _Step(prompts_before, dict(self._prompts), lesion, lesion)
        if positive or lesion in self._bbox:
            anchors = positive + ([np.array(box.lo, float), np.array(box.hi, float)]
                                  if box is not None else []) + negative[-1:]
            if latest is None:
                latest = (np.array(prompts.clicks[-1].index, float) if prompts.clicks
                          else anchors[0])
            self._update(lesion, self._roi_for(lesion, anchors, latest), positive, negative,
                         box, step, sign if self.monotone else None)
        self._undo.append(step)
        self._redo.clear()

    def _update(self, lesion: int, roi: Roi, positive: list[np.ndarray],
                negative: list[np.ndarray], box: Box | None, step: _Step,
                sign: bool | None = None) -> None:
        spec = self.model.spec
        image = self._roi_image(roi)
        shape = roi.shape
        sp = spec.spacing_mm
        current = extract(self._mask, roi, label=True)
        guide = guide_image(image)
        pos = encode_clicks(shape, sp, [roi.to_model(p) for p in positive], spec.guidance, guide)
        neg = encode_clicks(shape, sp, [roi.to_model(p) for p in negative], spec.guidance, guide)
        others = (current > 0) & (current != lesion)
        np.maximum(neg, others.astype(np.float32), out=neg)
        prior = (current == lesion).astype(np.float32)
        if box is not None:
            in_box = encode_box(shape, roi.to_model(box.lo), roi.to_model(box.hi))
            if not (prior * in_box).any():  # the box is on no part of the lesion yet
                np.maximum(prior, in_box, out=prior)
        prob = self.model.predict(image, pos, neg, prior)
        if not prior.any():  # a new lesion: optionally refine from the network's own mask
            for _ in range(self.first_prompt_passes - 1):
                prob = self.model.predict(image, pos, neg, (prob > 0.5).astype(np.float32))
        slices, values = paste_probability(prob, roi, self.shape)
        new = values > 0.5
        offset = np.array([s.start for s in slices])
        region = self._mask[slices]
        for p in negative:
            q = np.round(p).astype(int) - offset
            if np.all(q >= 0) and np.all(q < new.shape):
                new[tuple(q)] = False
        if box is not None:
            keep = _box_keep(new, region == lesion, box, offset, positive)
            new &= keep
        seeds = []
        for p in positive:
            q = np.round(p).astype(int) - offset
            if np.all(q >= 0) and np.all(q < new.shape):
                new[tuple(q)] = True
                seeds.append(tuple(q))
        new &= (region == 0) | (region == lesion)
        if not seeds and box is None and negative:
            before = int((region == lesion).sum())
            if before and int(new.sum()) <= REJECT_FRACTION * before:
                new[:] = False  # the network rejected an unconfirmed detection
        if seeds:
            labels = cc3d.connected_components(new.astype(np.uint8), connectivity=26)
            keep_ids = {int(labels[s]) for s in seeds}
            keep_ids |= {int(v) for v in np.unique(labels[region == lesion])}  # earlier parts
            keep_ids -= {0}
            new = np.isin(labels, list(keep_ids)) if keep_ids else np.zeros_like(new)
        if sign is True:  # monotone: a positive click (or a box, inside it) only adds ...
            new |= (region == lesion) & (keep if box is not None else True)
        elif sign is False:  # ... and a negative one only removes
            new &= region == lesion
        old = region.copy()
        updated = np.where(region == lesion, 0, region).astype(np.uint16)
        updated[new] = lesion
        self._mask[slices] = updated
        self.last_changed = slices
        step.slices, step.old, step.new = slices, old, updated
        found = np.argwhere(updated == lesion)
        if lesion in self._bbox or found.size:
            lo_hi = [found.min(0) + offset, found.max(0) + offset] if found.size else []
            if lesion in self._bbox:
                lo_hi = lo_hi or list(self._bbox[lesion])
                lo_hi = [np.minimum(lo_hi[0], self._bbox[lesion][0]),
                         np.maximum(lo_hi[1], self._bbox[lesion][1])]
            self._bbox[lesion] = (lo_hi[0], lo_hi[1])


def _box_keep(predicted: np.ndarray, lesion_before: np.ndarray, box: Box,
              offset: np.ndarray, positive: list[np.ndarray]) -> np.ndarray:
    """Where a lesion with ``box`` may have voxels, on the pasted region's grid (origin
    ``offset``, voxel indices of the whole image): inside the box (one voxel of margin),
    plus the parts of the lesion as it was that do not touch the box (a box trims the part
    it is drawn on, e.g. a leak out of it, and never deletes a separate part drawn
    elsewhere), plus the components of the ``predicted`` mask that hold a positive click
    outside the box (the click says the lesion goes beyond it)."""
    keep = np.zeros(predicted.shape, bool)
    lo = np.maximum(np.array(box.lo) - 1 - offset, 0)
    hi = np.array(box.hi) + 2 - offset
    keep[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    inside = keep.copy()
    if lesion_before.any():
        parts = cc3d.connected_components(lesion_before.astype(np.uint8), connectivity=26)
        touching = np.unique(parts[inside & (parts > 0)])
        keep |= (parts > 0) & ~np.isin(parts, touching)
    outside = []
    for p in positive:
        q = tuple(np.round(p).astype(int) - offset)
        if all(0 <= v < n for v, n in zip(q, keep.shape, strict=True)) and not inside[q]:
            outside.append(q)
    if outside:
        with_click = predicted.copy()
        for q in outside:
            with_click[q] = True
        parts = cc3d.connected_components(with_click.astype(np.uint8), connectivity=26)
        keep |= np.isin(parts, [int(parts[q]) for q in outside])
    return keep

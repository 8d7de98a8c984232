"""Preprocess a dataset once into a cache folder of .npy files, for fast patch sampling.

For every training case ``NAME`` the folder holds::

    NAME.npy       float32 [c, i, j, k]: the image after preprocess_case (crop, normalise,
                   resample to the plan's spacing)
    NAME_seg.npy   uint8 [i, j, k]: the label map on the same grid
    NAME_fg.npy    int32 [n, 4]: rows (label, i, j, k) — up to ``max_fg_samples`` random voxels
                   per foreground label, for foreground oversampling (nnU-Net's class_locations)
    NAME.json      grids and crop box (PreprocessedCase.properties()), shape, cache key;
                   written last, so a case is complete exactly when its .json carries the key

The cache key is a SHA-256 of the plan's preprocessing settings and the dataset's file names
and sizes: a different plan or changed files invalidate the cache. Files are written
atomically, so an interrupted run resumes with the cases already done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io import atomic_path, atomic_write_text, to_lps
from tumorseg.planning import DatasetInfo, Plan, load_case
from tumorseg.preprocessing import preprocess_case

__all__ = ["CachedCase", "cache_key", "open_cache", "preprocess_dataset"]

log = logging.getLogger(__name__)

#: Called after each case with (cases done, cases in total, case name).
CacheProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CachedCase:
    """One preprocessed case on disk.

    Attributes:
        name: the case name.
        folder: the cache folder.
        shape: spatial size (i, j, k) of the preprocessed arrays, in voxels.
        n_channels: image channels.
    """

    name: str
    folder: Path
    shape: tuple[int, int, int]
    n_channels: int

    @property
    def image_path(self) -> Path:
        """``NAME.npy``."""
        return self.folder / f"{self.name}.npy"

    @property
    def label_path(self) -> Path:
        """``NAME_seg.npy``."""
        return self.folder / f"{self.name}_seg.npy"

    @property
    def foreground_path(self) -> Path:
        """``NAME_fg.npy``."""
        return self.folder / f"{self.name}_fg.npy"

    def image(self, mmap: bool = True) -> np.ndarray:
        """float32 [c, i, j, k] (memory-mapped read-only by default)."""
        return np.load(self.image_path, mmap_mode="r" if mmap else None)

    def label(self, mmap: bool = True) -> np.ndarray:
        """uint8 [i, j, k] (memory-mapped read-only by default)."""
        return np.load(self.label_path, mmap_mode="r" if mmap else None)

    def foreground(self) -> dict[int, np.ndarray]:
        """Label value → int [n, 3] voxel indices sampled from that label (may be empty)."""
        rows = np.load(self.foreground_path)
        return {int(v): rows[rows[:, 0] == v, 1:] for v in np.unique(rows[:, 0])}


def cache_key(plan: Plan, dataset: DatasetInfo) -> str:
    """SHA-256 of what determines the cache content (see the module docstring)."""
    d = plan.to_dict()
    settings = {k: d[k] for k in ("channel_names", "labels", "target_spacing", "normalization",
                                  "crop_to_nonzero", "resampling")}
    files = []
    for case in dataset.cases:
        paths = [*case.images, *([case.label] if case.label is not None else [])]
        files.append([case.name, *[(p.name, p.stat().st_size) for p in paths]])
    text = json.dumps({"settings": settings, "files": files, "version": 2}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def _foreground_rows(label: np.ndarray, max_samples: int, rng: np.random.Generator
                     ) -> np.ndarray:
    rows = [np.zeros((0, 4), dtype=np.int32)]
    flat = label.reshape(-1)
    for v in np.unique(flat):
        if v == 0:
            continue
        idx = np.flatnonzero(flat == v)
        if idx.size > max_samples:
            idx = rng.choice(idx, size=max_samples, replace=False)
        ijk = np.stack(np.unravel_index(np.sort(idx), label.shape), axis=1)
        rows.append(np.concatenate([np.full((len(ijk), 1), v), ijk], axis=1).astype(np.int32))
    return np.concatenate(rows)


def _read_entry(folder: Path, name: str, key: str) -> CachedCase | None:
    meta = folder / f"{name}.json"
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if doc.get("cache_key") != key:
        return None
    case = CachedCase(name, folder, tuple(doc["shape"]), int(doc["n_channels"]))  # type: ignore[arg-type]
    ok = all(p.is_file() for p in (case.image_path, case.label_path, case.foreground_path))
    return case if ok else None


def preprocess_dataset(dataset: DatasetInfo, plan: Plan, folder: str | os.PathLike[str],
                       max_fg_samples: int = 10_000, seed: int = 1234,
                       progress: CacheProgress | None = None) -> dict[str, CachedCase]:
    """Preprocess every training case of ``dataset`` into ``folder`` (cases already cached
    with the same key are kept).

    Args:
        dataset: from :func:`tumorseg.planning.read_dataset`.
        plan: the plan whose preprocessing to apply.
        folder: the cache folder (created).
        max_fg_samples: foreground voxels remembered per label and case.
        seed: seed for choosing those voxels (case *n* uses ``[seed, n]``).
        progress: called as ``progress(done, total, name)`` after each case.

    Returns:
        Case name → :class:`CachedCase`, in dataset order.

    Raises:
        InputError: unreadable cases (from :func:`tumorseg.planning.load_case`) or a cache
            folder that cannot be written.
    """
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the cache folder ({exc.strerror})") from exc
    key = cache_key(plan, dataset)
    cases: dict[str, CachedCase] = {}
    total = len(dataset.cases)
    for n, files in enumerate(dataset.cases):
        cached = _read_entry(out, files.name, key)
        if cached is None:
            image, label = load_case(files, dataset)
            if label is None:
                raise InputError(f"{files.images[0]}: training case {files.name} has no label")
            # the network sees every volume in the LPS-closest axis order, as at inference
            image, label = to_lps(image), to_lps(label)
            pre = preprocess_case(image, plan, label)
            assert pre.label is not None
            rng = np.random.default_rng([seed, n])
            try:
                _save_npy(out / f"{files.name}.npy", pre.array.astype(np.float32, copy=False))
                _save_npy(out / f"{files.name}_seg.npy", pre.label.astype(np.uint8, copy=False))
                _save_npy(out / f"{files.name}_fg.npy",
                          _foreground_rows(pre.label, max_fg_samples, rng))
                meta = {"name": files.name, "shape": list(pre.grid.shape),
                        "n_channels": int(pre.array.shape[0]), "cache_key": key,
                        "properties": pre.properties()}
                atomic_write_text(out / f"{files.name}.json", json.dumps(meta, indent=1) + "\n")
            except OSError as exc:
                raise InputError(f"{out}: cannot write the cache ({exc.strerror})") from exc
            cached = CachedCase(files.name, out, pre.grid.shape, int(pre.array.shape[0]))
            log.debug("cached %s %s", files.name, cached.shape)
        cases[files.name] = cached
        if progress is not None:
            progress(n + 1, total, files.name)
    return cases


def open_cache(dataset: DatasetInfo, plan: Plan, folder: str | os.PathLike[str]
               ) -> dict[str, CachedCase]:
    """The cached cases of ``dataset`` in ``folder`` without preprocessing anything.

    Raises:
        InputError: a case is missing or was cached with another plan or other files.
    """
    key = cache_key(plan, dataset)
    cases = {}
    for files in dataset.cases:
        cached = _read_entry(Path(folder), files.name, key)
        if cached is None:
            raise InputError(f"{Path(folder) / files.name}.json: case not in the cache "
                             "(or cached with another plan)")
        cases[files.name] = cached
    return cases

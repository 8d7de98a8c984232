"""Generate a whole phantom dataset of one kind on disk, deterministically from one seed.

Case *k* of split ``Tr`` (training) or ``Ts`` (test) uses the integer seed
``case_seed(seed, k, split)``: different splits never share a seed, and adding cases never
changes earlier ones. Kinds are listed in :data:`KINDS`. ``workers`` > 1 makes the cases in
parallel processes; the files are the same as with one.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io.atomic import replaceable_folder
from tumorseg.phantoms.dataset import PhantomCase, write_case, write_dataset_json

__all__ = ["KINDS", "PhantomKind", "case_seed", "generate_dataset", "iter_cases", "make_case"]


@dataclass(frozen=True)
class PhantomKind:
    """How to make one kind of phantom (plain data: loads without importing the generator)."""

    name: str
    description: str
    module: str
    factory: str
    channel_names: dict[str, str]
    labels: dict[str, int]
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)
    layout: str = "msd"  # "msd" (imagesTr/labelsTr) or "4d" (case_XXX/phase_YY)
    extra_labels_attr: dict[str, str] = field(default_factory=dict)

    def load(self) -> Callable[..., Any]:
        """Import and return the case factory function."""
        return getattr(importlib.import_module(self.module), self.factory)


KINDS: dict[str, PhantomKind] = {
    "abdomen-ct": PhantomKind(
        "abdomen-ct",
        "Abdominal CT with 0-5 liver, kidney or pancreas lesions; organ labels in organsTr/Ts.",
        "tumorseg.phantoms.abdomen_ct", "make_abdomen_ct",
        {"0": "CT"}, {"background": 0, "lesion": 1},
        sizes={"full": {"shape": None, "spacing": (0.8, 0.8, 2.5)},
               "small": {"shape": (128, 128, 64), "spacing": (3.0, 3.0, 4.0)}},
        extra_labels_attr={"organs": "ORGAN_LABELS"},
    ),
    "pet-ct": PhantomKind(
        "pet-ct",
        "PET/CT: CT plus PET in SUV with physiological uptake and avid lesions.",
        "tumorseg.phantoms.pet_ct", "make_pet_ct",
        {"0": "CT", "1": "PET"}, {"background": 0, "lesion": 1},
        sizes={"full": {}, "small": {"shape": (96, 96, 80), "spacing": (4.0, 4.0, 6.0)}},
        extra_labels_attr={"organs": "ORGAN_LABELS"},
    ),
    "brain-mri": PhantomKind(
        "brain-mri",
        "Brain MRI (T1, T1c, T2, FLAIR) with a glioma: 1 necrosis, 2 edema, 3 enhancing tumor.",
        "tumorseg.phantoms.brain_mri", "make_brain_mri",
        {"0": "T1", "1": "T1c", "2": "T2", "3": "FLAIR"},
        {"background": 0, "NCR": 1, "ED": 2, "ET": 3},
        sizes={"full": {}, "small": {"shape": (80, 96, 72), "spacing": (2.0, 2.0, 2.0)}},
    ),
    "lung-4dct": PhantomKind(
        "lung-4dct",
        "4D thorax CT over a breathing cycle with one moving lung tumor; per-phase GTV and ITV.",
        "tumorseg.phantoms.lung_4dct", "make_lung_4dct",
        {"0": "CT"}, {"background": 0, "gtv": 1},
        sizes={"full": {}, "small": {"shape": (96, 96, 48), "spacing": (4.0, 4.0, 5.0)}},
        layout="4d",
    ),
}


def _kind(kind: str) -> PhantomKind:
    if kind not in KINDS:
        raise InputError(f"unknown phantom kind {kind!r} (choose from {', '.join(KINDS)})")
    return KINDS[kind]


def case_seed(seed: int, index: int, split: str = "Tr") -> int:
    """The seed of case ``index`` in ``split`` ("Tr" or "Ts") of a dataset made with ``seed``."""
    stream = {"Tr": 0, "Ts": 1}[split]
    return int(np.random.SeedSequence([int(seed), stream, int(index)]).generate_state(1)[0])


def _size_kwargs(kind: PhantomKind, size: str) -> dict[str, Any]:
    if size not in kind.sizes:
        raise InputError(f"unknown size {size!r} for {kind.name} (choose from "
                         f"{', '.join(kind.sizes)})")
    return {k: v for k, v in kind.sizes[size].items() if v is not None}


def make_case(kind: str, seed: int, name: str = "case_000", size: str = "full",
              **overrides: Any) -> Any:
    """Make one case of ``kind`` (a :class:`PhantomCase`, or a 4D case for ``lung-4dct``)."""
    k = _kind(kind)
    kwargs = _size_kwargs(k, size) | overrides
    return k.load()(seed=seed, name=name, **kwargs)


def iter_cases(kind: str, n_cases: int, seed: int = 0, split: str = "Tr", size: str = "full",
               start: int = 0, **overrides: Any) -> Iterator[Any]:
    """Yield cases ``start … start+n_cases-1`` of a split, one at a time."""
    for index in range(start, start + n_cases):
        yield _indexed_case(kind, seed, split, size, overrides, index)


def _indexed_case(kind: str, seed: int, split: str, size: str, overrides: dict[str, Any],
                  index: int) -> Any:
    """Case ``index`` of ``split``, named ``case_XXX`` (Tr) or ``test_XXX`` (Ts)."""
    prefix = "case" if split == "Tr" else "test"
    return make_case(kind, case_seed(seed, index, split), f"{prefix}_{index:03d}", size,
                     **overrides)


def _write_one(kind: str, seed: int, split: str, size: str, out: Path,
               overrides: dict[str, Any], index: int) -> Any:
    """Make and write case ``index`` of ``split``; the MSD entry (or the 4D case folder)."""
    case = _indexed_case(kind, seed, split, size, overrides, index)
    if _kind(kind).layout == "4d":
        from tumorseg.phantoms.lung_4dct import write_lung_4dct_case

        return write_lung_4dct_case(case, out)
    assert isinstance(case, PhantomCase)
    entry = write_case(case, out, split)
    entry["seed"] = case.info.get("seed")
    return entry


#: ``dataset.json["reference"]`` of every phantom dataset starts with this.
_PHANTOM_REFERENCE = "tumorseg synthetic phantom"


def _is_phantom_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a phantom dataset (its dataset.json names it)."""
    try:
        doc = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
        return str(doc.get("reference", "")).startswith(_PHANTOM_REFERENCE)
    except (OSError, ValueError, AttributeError):
        return False


def _prepare_output(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty ``out``; with ``overwrite``, empty it when it is a phantom dataset."""
    replaceable_folder(out, overwrite, _is_phantom_dataset,
                       "phantom dataset (its dataset.json names tumorseg synthetic phantom)",
                       "--out")
    if out.exists() and any(out.iterdir()):
        shutil.rmtree(out)


def generate_dataset(
    kind: str,
    out: str | Path,
    n_cases: int,
    seed: int = 0,
    n_test: int = 0,
    size: str = "full",
    progress: Callable[[Iterator[Any], int, str], Iterator[Any]] | None = None,
    workers: int = 1,
    overwrite: bool = False,
    **overrides: Any,
) -> Path:
    """Write ``n_cases`` training and ``n_test`` test cases of ``kind`` into ``out``.

    MSD kinds get the nnU-Net raw layout (see :mod:`tumorseg.phantoms.dataset`);
    ``lung-4dct`` writes ``out/case_XXX/phase_YY.nii.gz`` etc. (see its module).
    ``progress(iterator, total, description)`` may wrap the case loop (e.g. a progress bar).
    ``workers``: processes making cases in parallel (1: in this process). Returns ``out``.

    ``out`` must be new or empty, so no case of an earlier run is left beside the new ones;
    ``overwrite`` first deletes a folder that holds an earlier phantom dataset (one whose
    dataset.json says so), and nothing else.
    """
    k = _kind(kind)
    if n_cases < 0 or n_test < 0 or n_cases + n_test == 0:
        raise InputError(f"--cases {n_cases} / --test-cases {n_test}: need at least one case")
    if workers < 1:
        raise InputError(f"--workers {workers}: need at least one")
    _size_kwargs(k, size)  # an unknown size fails here, not in a worker
    out = Path(out)
    _prepare_output(out, overwrite)
    wrap = progress or (lambda it, total, desc: it)
    written: dict[str, list[Any]] = {"Tr": [], "Ts": []}
    pool = ProcessPoolExecutor(workers) if workers > 1 and n_cases + n_test > 1 else None
    try:
        for split, n in (("Tr", n_cases), ("Ts", n_test)):
            if n == 0:
                continue
            one = partial(_write_one, kind, seed, split, size, out, overrides)
            results = pool.map(one, range(n)) if pool is not None else map(one, range(n))
            written[split].extend(wrap(iter(results), n, f"{kind} {split}"))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if k.layout == "4d":
        from tumorseg.phantoms.lung_4dct import write_lung_4dct_layout_json

        write_lung_4dct_layout_json(out, [p.name for p in written["Tr"] + written["Ts"]],
                                    seed=seed)
        return out
    extra_labels = {}
    if k.extra_labels_attr:
        module = importlib.import_module(k.module)
        extra_labels = {stem: dict(getattr(module, attr))
                        for stem, attr in k.extra_labels_attr.items()}
    write_dataset_json(out, f"tumorseg-{kind}", f"{k.description} Seed {seed}, size {size}.",
                       k.channel_names, k.labels, written["Tr"], written["Ts"],
                       extra_labels or None)
    return out

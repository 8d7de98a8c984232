"""Synthetic CT, MRI and PET scans with tumors and exact labels, deterministic by seed.

Kinds (see :data:`KINDS`): ``abdomen-ct``, ``pet-ct``, ``brain-mri`` (MSD / nnU-Net raw
layout) and ``lung-4dct`` (one folder per case with every respiratory phase).

Example:
    >>> from tumorseg.phantoms import make_case
    >>> case = make_case("abdomen-ct", seed=1, size="small")   # doctest: +SKIP
    >>> case.channels[0].shape, int(case.label.array.max())     # doctest: +SKIP
"""

from __future__ import annotations

from tumorseg.phantoms.dataset import PhantomCase, write_case, write_dataset_json
from tumorseg.phantoms.generate import (
    KINDS,
    PhantomKind,
    case_seed,
    generate_dataset,
    iter_cases,
    make_case,
)
from tumorseg.phantoms.montage import WINDOWS, save_montage

__all__ = [
    "KINDS",
    "WINDOWS",
    "PhantomCase",
    "PhantomKind",
    "case_seed",
    "generate_dataset",
    "iter_cases",
    "make_case",
    "save_montage",
    "write_case",
    "write_dataset_json",
]

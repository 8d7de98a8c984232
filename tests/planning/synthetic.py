"""Tiny synthetic MSD / nnU-Net datasets for the planning and preprocessing tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tumorseg.io import Volume, write_volume
from tumorseg.phantoms.dataset import PhantomCase, write_case, write_dataset_json


@dataclass(frozen=True)
class CaseSpec:
    """Geometry of one synthetic case: size (i, j, k) in voxels, spacing in mm."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (-10.0, 20.0, -30.0)


def sphere(shape: tuple[int, int, int], spacing: tuple[float, float, float],
           center_mm: np.ndarray, radius_mm: float) -> np.ndarray:
    """Boolean ball of ``radius_mm`` around ``center_mm`` (mm from voxel 0)."""
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                        indexing="ij")
    d2 = sum((g - c) ** 2 for g, c in zip(grids, center_mm, strict=True))
    return d2 <= radius_mm**2


def make_arrays(spec: CaseSpec, seed: int, channels: tuple[str, ...] = ("CT",),
                radius_mm: float = 6.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Channel arrays and a uint8 label (1 = sphere) for one case.

    CT: air -1000 outside a body ellipsoid (so nothing is cropped), soft tissue ~40 HU,
    tumor ~100 HU. Other channels (MR/PET-like): 0 outside the body (so the crop bites).
    """
    rng = np.random.default_rng(seed)
    extent = np.array(spec.shape) * np.array(spec.spacing)
    center = extent / 2 + rng.uniform(-1.5, 1.5, size=3)
    body = sphere(spec.shape, spec.spacing, extent / 2, 0.45 * float(extent.min()) * 1.6)
    body &= np.ones(spec.shape, dtype=bool)
    # keep a zero margin around the body so cropping to nonzero does something
    margin = np.zeros(spec.shape, dtype=bool)
    margin[2:-2, 2:-2, 1:-1] = True
    body &= margin
    label = sphere(spec.shape, spec.spacing, center, radius_mm) & body
    arrays = []
    for c, name in enumerate(channels):
        noise = rng.normal(size=spec.shape)
        if name.upper() == "CT":
            a = np.where(body, 40 + 10 * noise, -1000.0)
            a = np.where(label, 100 + 20 * noise, a)
            arrays.append(np.round(a).astype(np.int16))
        else:
            a = np.where(body, 300 + 30 * noise + 50 * c, 0.0)
            a = np.where(label, 600 + 40 * noise, a)
            arrays.append(a.astype(np.float32))
    return arrays, label.astype(np.uint8)


def write_v2(root: Path, specs: list[CaseSpec], channels: tuple[str, ...] = ("CT",),
             n_test: int = 0, seed: int = 0) -> Path:
    """An nnU-Net v2 raw dataset (one file per channel) written with tumorseg.phantoms."""
    training, test = [], []
    for i, spec in enumerate(specs):
        arrays, label = make_arrays(spec, seed + i, channels)
        vols = tuple(Volume(a, spec.spacing, spec.origin, modality=name)
                     for a, name in zip(arrays, channels, strict=True))
        case = PhantomCase(f"case_{i:03d}", vols, Volume(label, spec.spacing, spec.origin))
        split = "Ts" if i >= len(specs) - n_test else "Tr"
        (test if split == "Ts" else training).append(write_case(case, root, split))
    write_dataset_json(root, "synthetic", "tiny test dataset",
                       {str(c): n for c, n in enumerate(channels)},
                       {"background": 0, "tumor": 1}, training, test)
    return root


def write_v1(root: Path, specs: list[CaseSpec], channels: tuple[str, ...] = ("FLAIR", "T1w"),
             seed: int = 0) -> Path:
    """An MSD v1 dataset: multi-channel cases as 4D NIfTI, labels {"0": "background"}."""
    training = []
    for i, spec in enumerate(specs):
        arrays, label = make_arrays(spec, seed + i, channels)
        image = Volume(np.stack(arrays).astype(np.float32), spec.spacing, spec.origin,
                       channel_names=channels)
        name = f"BRATS_{i:03d}.nii.gz"
        write_volume(image, root / "imagesTr" / name)
        write_volume(Volume(label, spec.spacing, spec.origin), root / "labelsTr" / name)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    doc = {"name": "BrainTumour", "tensorImageSize": "4D",
           "modality": {str(c): n for c, n in enumerate(channels)},
           "labels": {"0": "background", "1": "tumour"},
           "numTraining": len(training), "numTest": 0, "training": training, "test": []}
    (root / "dataset.json").write_text(json.dumps(doc), encoding="utf-8")
    return root


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks (1 when both are empty)."""
    a, b = a.astype(bool), b.astype(bool)
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * float((a & b).sum()) / float(s)


#: Anisotropic CT-like specs: two spacings, (0.8, 0.8, 2.5) and (1.0, 1.0, 3.0).
ANISO_SPECS = [
    CaseSpec((40, 36, 12), (0.8, 0.8, 2.5)),
    CaseSpec((32, 30, 10), (1.0, 1.0, 3.0)),
    CaseSpec((40, 40, 12), (0.8, 0.8, 2.5)),
]

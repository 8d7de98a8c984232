"""Tiny synthetic MSD datasets and plans for the training and model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tumorseg.io import Volume
from tumorseg.phantoms import PhantomCase, write_case, write_dataset_json
from tumorseg.planning import Plan, PlannerConfig, compute_fingerprint, make_plan, read_dataset

SPACING = (1.5, 1.5, 2.0)


def sphere_case(name: str, seed: int, shape: tuple[int, int, int] = (32, 32, 24)
                ) -> PhantomCase:
    """CT-like noise with one bright sphere (label 1) at a random place."""
    rng = np.random.default_rng(seed)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    centre = rng.uniform(0.3, 0.7, size=3) * np.asarray(shape)
    radius = rng.uniform(3.0, 5.0)
    label = (np.linalg.norm(ijk - centre, axis=-1) <= radius).astype(np.uint8)
    image = 40 + 15 * rng.normal(size=shape) + 120 * label
    image[:2] = -1000  # a little air so that the image is not constant
    vol = Volume(np.round(image).astype(np.int16), SPACING, modality="CT")
    return PhantomCase(name, (vol,), Volume(label, SPACING, modality="SEG"))


def write_sphere_dataset(root: Path, n_cases: int = 4, seed: int = 0,
                         shape: tuple[int, int, int] = (32, 32, 24)) -> Path:
    """An nnU-Net v2 dataset of ``n_cases`` sphere cases (one CT channel, label 'tumor')."""
    entries = [write_case(sphere_case(f"case_{i:03d}", seed + i, shape), root)
               for i in range(n_cases)]
    write_dataset_json(root, "spheres", "tiny sphere dataset", {"0": "CT"},
                       {"background": 0, "tumor": 1}, entries, [])
    return root


def tiny_plan(dataset: Path, path: Path | None = None) -> Plan:
    """A CPU plan with a 3-stage (4, 8, 16)-feature U-Net and a small patch."""
    info = read_dataset(dataset)
    config = PlannerConfig(base_features=4, max_features=16, max_pool_steps=2,
                           cpu_max_patch_voxels=24 * 24 * 16, target_spacing=SPACING)
    plan = make_plan(compute_fingerprint(info, samples_per_case=500), info, 2.0, "cpu", config)
    if path is not None:
        plan.save(path)
    return plan

"""An endless, seeded stream of augmented training patches from the preprocessing cache.

Each stream (one per process rank and data-loader worker, per epoch) draws cases uniformly
and cuts patches (:mod:`~tumorseg.training.patches`). Exactly ``oversample_foreground`` of the
patches, evenly interleaved (sample *n* is a foreground patch when
``floor((n + 1) * f) > floor(n * f)``), are centred on a random foreground voxel; the rest are
placed at random. A case without foreground gives a random patch instead.

Determinism: stream ``(seed, epoch, rank, worker)`` seeds its own generator
(``numpy.random.SeedSequence``) and the augmentation, so a run is reproducible for a given
number of workers, and a resumed run sees exactly the patches an uninterrupted one would.
Different ranks get different streams (this is how sampling is sharded under DDP).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from tumorseg.training.augment import Augmenter
from tumorseg.training.cache import CachedCase
from tumorseg.training.config import AugmentationConfig
from tumorseg.training.patches import choose_patch, crop_with_padding

__all__ = ["PatchDataset", "is_foreground_sample", "make_loader"]


def is_foreground_sample(n: int, fraction: float) -> bool:
    """Whether sample ``n`` (from 0) of a stream is a forced-foreground patch."""
    return math.floor((n + 1) * fraction + 1e-9) > math.floor(n * fraction + 1e-9)


class PatchDataset(IterableDataset):
    """Endless stream of ``{"image": float32 [c, *patch], "label": uint8 [1, *patch]}``.

    Args:
        cases: the cases to sample from (a fold's training cases).
        patch_size: patch size in voxels (i, j, k).
        augmentation: the augmentation settings (:meth:`AugmentationConfig.off` for none).
        oversample_foreground: fraction of foreground-centred patches.
        seed: base seed; ``rank``: this process's DDP rank.
    """

    def __init__(self, cases: Sequence[CachedCase], patch_size: Sequence[int],
                 augmentation: AugmentationConfig, oversample_foreground: float = 1 / 3,
                 seed: int = 0, rank: int = 0) -> None:
        super().__init__()
        if not cases:
            raise ValueError("PatchDataset needs at least one case")
        self.cases = list(cases)
        self.patch_size = tuple(int(p) for p in patch_size)
        self.augmenter = Augmenter(self.patch_size, augmentation)
        self.oversample_foreground = float(oversample_foreground)
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the stream of ``epoch`` (call before creating the data-loader iterator)."""
        self.epoch = int(epoch)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Sample number ``n`` of a stream driven by ``rng`` (no augmentation seeding)."""
        case = self.cases[int(rng.integers(len(self.cases)))]
        fg = case.foreground() if is_foreground_sample(n, self.oversample_foreground) else None
        lower = choose_patch(case.shape, self.patch_size, rng, fg)
        region = np.asarray(self.augmenter.region)
        start = lower - (region - np.asarray(self.patch_size)) // 2
        image = crop_with_padding(case.image(), start, region)
        label = crop_with_padding(case.label(), start, region)[None]
        img, lab = self.augmenter(image, label)
        return {"image": img, "label": lab}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker = 0 if info is None else info.id
        seq = np.random.SeedSequence([self.seed, self.epoch, self.rank, worker])
        rng = np.random.default_rng(seq)
        self.augmenter.set_seed(int(seq.generate_state(1)[0]))
        n = 0
        while True:
            yield self.sample(n, rng)
            n += 1


def make_loader(dataset: PatchDataset, batch_size: int, num_workers: int = 0,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader of batches ``{"image": [b, c, *patch], "label": [b, 1, *patch]}``.

    Workers are not persistent: call ``dataset.set_epoch(e)`` and then ``iter(loader)`` once
    per epoch (the workers start with that epoch's streams).
    """
    return DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                      pin_memory=pin_memory, persistent_workers=False,
                      prefetch_factor=2 if num_workers > 0 else None)

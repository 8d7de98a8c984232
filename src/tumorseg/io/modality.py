"""The modality of a volume whose file does not record it (most NIfTI files): a CT is known by
its air at about −1000 HU."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tumorseg.io.volume import Volume

__all__ = ["KNOWN_MODALITIES", "with_guessed_modality"]

#: Modalities tumorseg reads, measures and writes.
KNOWN_MODALITIES = ("CT", "MR", "PT")


def with_guessed_modality(volume: Volume) -> tuple[Volume, str | None]:
    """``volume`` with modality CT when none is recorded and its values reach −1000 (the
    0.5th percentile ≤ −500: air in HU), and the note saying so; else ``volume`` unchanged
    and None."""
    if volume.modality in KNOWN_MODALITIES:
        return volume, None
    arr = volume.array if not volume.is_multichannel else volume.array[0]
    if arr.size and float(np.percentile(arr[::4, ::4, :], 0.5)) <= -500:
        return (replace(volume, modality="CT"),
                f"{volume.source}: modality not recorded; treated as CT (values reach -1000 "
                "HU, air); use --modality to say otherwise")
    return volume, None

"""Write phantom cases as a Medical Segmentation Decathlon / nnU-Net raw dataset.

Layout::

    OUT/dataset.json
    OUT/imagesTr/case_000_0000.nii.gz   (one file per channel: _0000, _0001, …)
    OUT/labelsTr/case_000.nii.gz
    OUT/imagesTs/…, OUT/labelsTs/…      (test cases, when any)
    OUT/organsTr/case_000.nii.gz        (extra label maps, e.g. organs, when any)

``dataset.json`` holds ``channel_names``, ``labels``, ``numTraining``, ``file_ending`` (nnU-Net
v2 keys) plus the MSD keys ``modality``, ``training`` and ``test`` lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tumorseg.io import Volume, atomic_write_text, write_volume

__all__ = ["PhantomCase", "write_case", "write_dataset_json"]

FILE_ENDING = ".nii.gz"


@dataclass(frozen=True, eq=False)
class PhantomCase:
    """One synthetic case.

    Attributes:
        name: case identifier, e.g. ``"case_000"``.
        channels: one single-channel :class:`Volume` per input channel, all on one grid.
        label: the ground-truth label map (uint8) on the same grid.
        extras: further label maps by folder stem, e.g. ``{"organs": volume}``.
        info: per-case facts for the dataset.json / tests (lesion list, seed, …).
    """

    name: str
    channels: tuple[Volume, ...]
    label: Volume
    extras: dict[str, Volume] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def write_case(case: PhantomCase, out: Path, split: str = "Tr") -> dict:
    """Write one case into ``out`` (``split`` is "Tr" or "Ts"); return its dataset.json entry."""
    out = Path(out)
    images = []
    for c, channel in enumerate(case.channels):
        path = out / f"images{split}" / f"{case.name}_{c:04d}{FILE_ENDING}"
        write_volume(channel, path)
        images.append(str(path.relative_to(out)))
    label_path = out / f"labels{split}" / f"{case.name}{FILE_ENDING}"
    write_volume(case.label, label_path)
    entry = {"image": f"./images{split}/{case.name}{FILE_ENDING}",
             "label": f"./labels{split}/{case.name}{FILE_ENDING}",
             "channels": images}
    for stem, extra in case.extras.items():
        path = out / f"{stem}{split}" / f"{case.name}{FILE_ENDING}"
        write_volume(extra, path)
        entry[stem] = str(path.relative_to(out))
    return entry


def write_dataset_json(
    out: Path,
    name: str,
    description: str,
    channel_names: dict[str, str],
    labels: dict[str, int],
    training: list[dict],
    test: list[dict],
    extra_labels: dict[str, dict[str, int]] | None = None,
) -> Path:
    """Write ``dataset.json`` (nnU-Net v2 and MSD keys) atomically and return its path."""
    doc = {
        "name": name,
        "description": description,
        "reference": "tumorseg synthetic phantom (tumorseg.phantoms); exact labels",
        "licence": "CC0 (synthetic)",
        "tensorImageSize": "3D",
        "channel_names": channel_names,
        "modality": channel_names,
        "labels": labels,
        "numTraining": len(training),
        "numTest": len(test),
        "file_ending": FILE_ENDING,
        "training": training,
        "test": test,
    }
    if extra_labels:
        doc["extra_labels"] = extra_labels
    path = Path(out) / "dataset.json"
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return path

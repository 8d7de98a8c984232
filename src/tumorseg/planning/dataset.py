"""Read a Medical Segmentation Decathlon (v1) or nnU-Net v2 raw dataset folder.

nnU-Net v2 layout (what :mod:`tumorseg.phantoms` writes)::

    ROOT/dataset.json     {"channel_names": {"0": "CT"}, "labels": {"background": 0, ...},
                           "numTraining": N, "file_ending": ".nii.gz"}
    ROOT/imagesTr/CASE_0000.nii.gz, CASE_0001.nii.gz, …   one file per channel
    ROOT/labelsTr/CASE.nii.gz
    ROOT/imagesTs/…, ROOT/labelsTs/…                       optional test cases

An optional ``"dataset"`` key ({case: {"images": [...], "label": ...}}) lists the files
instead of the folder scan, as nnU-Net v2 allows.

MSD v1 layout: ``{"modality": {"0": "CT"}, "labels": {"0": "background", "1": "tumour"},
"training": [{"image": "./imagesTr/x.nii.gz", "label": "./labelsTr/x.nii.gz"}], "test":
["./imagesTs/y.nii.gz"]}``; a multi-channel image is one 4D file (channels on the 4th axis).

When ``dataset.json`` has ``channel_names`` it is read as v2, otherwise as v1. Labels must be
the integers 0 (background), 1, …, n-1. :func:`read_dataset` checks that every file exists and,
from the file headers alone, that each label lies on its image's grid.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import SimpleITK as sitk

from tumorseg.errors import GeometryMismatchError, InputError
from tumorseg.io import Volume, check_same_grid, read_channels, read_volume, strip_image_suffix

__all__ = ["CaseFiles", "DatasetInfo", "load_case", "read_dataset"]

log = logging.getLogger(__name__)

Layout = Literal["nnunet-v2", "msd-v1"]


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case.

    Attributes:
        name: case identifier (file name without channel suffix and extension).
        images: one file per channel (v2), or a single file holding every channel on its
            4th axis (MSD v1 multi-channel).
        label: the label map, or None (test cases without labels).
    """

    name: str
    images: tuple[Path, ...]
    label: Path | None


@dataclass(frozen=True)
class DatasetInfo:
    """What a raw dataset folder holds.

    Attributes:
        root: the dataset folder.
        name: the dataset's name (dataset.json ``name``, else the folder name).
        channel_names: input channel names in channel order, e.g. ``("CT",)``, ``("PET", "CT")``.
        labels: label name → value; values are 0 (background), 1, …, n-1.
        cases: training cases (with labels), sorted by name.
        test_cases: test cases (labels when present), sorted by name.
        file_ending: image file ending, e.g. ".nii.gz".
        layout: "nnunet-v2" or "msd-v1".
    """

    root: Path
    name: str
    channel_names: tuple[str, ...]
    labels: dict[str, int]
    cases: tuple[CaseFiles, ...]
    test_cases: tuple[CaseFiles, ...]
    file_ending: str
    layout: Layout

    @property
    def num_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def num_classes(self) -> int:
        """Number of output classes, background included."""
        return len(self.labels)


# ------------------------------------------------------------------ parsing helpers
def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: no dataset.json (is this an MSD / nnU-Net raw dataset folder?)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot parse dataset.json ({exc})") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{path}: dataset.json must hold a JSON object")
    return doc


def _channels(doc: dict[str, Any], path: Path) -> tuple[str, ...]:
    key = "channel_names" if "channel_names" in doc else "modality"
    raw = doc.get(key)
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}: needs 'channel_names' (or MSD 'modality'), "
                         'e.g. {"0": "CT"}')
    try:
        items = sorted((int(k), str(v)) for k, v in raw.items())
    except ValueError as exc:
        raise InputError(f"{path}: '{key}' keys must be channel numbers 0, 1, …") from exc
    if [i for i, _ in items] != list(range(len(items))):
        raise InputError(f"{path}: '{key}' must number channels 0 … {len(items) - 1}")
    return tuple(name for _, name in items)


def _labels(doc: dict[str, Any], path: Path) -> dict[str, int]:
    raw = doc.get("labels")
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}: needs 'labels', e.g. {{\"background\": 0, \"tumor\": 1}}")
    msd_style = all(str(k).lstrip("-").isdigit() for k in raw) and all(
        isinstance(v, str) for v in raw.values())
    if msd_style:
        pairs = [(str(v), int(k)) for k, v in raw.items()]  # MSD v1: {"0": "background"}
    else:
        pairs = []
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(f"{path}: label {k!r} has value {v!r}; only integer labels are "
                                 "supported (no region-based training)")
            pairs.append((str(k), int(v)))
    labels = dict(sorted(pairs, key=lambda p: p[1]))
    values = sorted(labels.values())
    if values != list(range(len(values))):
        raise InputError(f"{path}: label values must be 0 (background), 1, …, n-1; got {values}")
    return labels


def _resolve(root: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else (root / p).resolve()


def _scan_split(root: Path, split: str, n_channels: int, ending: str,
                require_labels: bool) -> list[CaseFiles]:
    folder = root / f"images{split}"
    if not folder.is_dir():
        if require_labels:
            raise InputError(f"{folder}: no such folder (the training images)")
        return []
    first = f"_0000{ending}"
    names = sorted(p.name[: -len(first)] for p in folder.iterdir()
                   if p.name.endswith(first) and not p.name.startswith("."))
    cases = []
    for name in names:
        images = tuple(folder / f"{name}_{c:04d}{ending}" for c in range(n_channels))
        label: Path | None = root / f"labels{split}" / f"{name}{ending}"
        if not label.exists() and not require_labels:  # type: ignore[union-attr]
            label = None
        cases.append(CaseFiles(name, images, label))
    if require_labels and not cases:
        raise InputError(f"{folder}: no images named CASE_0000{ending}")
    return cases


def _explicit_cases(root: Path, doc: dict[str, Any], path: Path) -> list[CaseFiles]:
    raw = doc["dataset"]
    if not isinstance(raw, dict):
        raise InputError(f"{path}: 'dataset' must map case names to {{images, label}}")
    cases = []
    for name, entry in sorted(raw.items()):
        try:
            images = tuple(_resolve(root, p) for p in entry["images"])
            label = _resolve(root, entry["label"])
        except (KeyError, TypeError) as exc:
            raise InputError(f"{path}: case {name!r} needs 'images' and 'label'") from exc
        cases.append(CaseFiles(str(name), images, label))
    return cases


def _msd_cases(root: Path, doc: dict[str, Any], path: Path) -> tuple[list[CaseFiles],
                                                                      list[CaseFiles]]:
    training = doc.get("training")
    if not isinstance(training, list) or not training:
        raise InputError(f"{path}: MSD dataset.json needs a non-empty 'training' list")
    cases = []
    for entry in training:
        if not isinstance(entry, dict) or "image" not in entry or "label" not in entry:
            raise InputError(f"{path}: each 'training' entry needs 'image' and 'label'")
        image = _resolve(root, entry["image"])
        cases.append(CaseFiles(strip_image_suffix(image.name), (image,),
                               _resolve(root, entry["label"])))
    tests = []
    for entry in doc.get("test") or []:
        rel = entry.get("image") if isinstance(entry, dict) else entry
        image = _resolve(root, str(rel))
        label = (_resolve(root, entry["label"])
                 if isinstance(entry, dict) and entry.get("label") else None)
        tests.append(CaseFiles(strip_image_suffix(image.name), (image,), label))
    return sorted(cases, key=lambda c: c.name), sorted(tests, key=lambda c: c.name)


# -------------------------------------------------------------------- header checks
@dataclass(frozen=True)
class _Header:
    size: tuple[int, ...]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    channels: int


def _header(path: Path) -> _Header:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read image header") from exc
    dim = reader.GetDimension()
    if dim not in (3, 4):
        raise InputError(f"{path}: expected a 3D image (or 4D with channels), got {dim}D")
    direction = np.asarray(reader.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    channels = reader.GetSize()[3] if dim == 4 else reader.GetNumberOfComponents()
    return _Header(tuple(reader.GetSize()[:3]), tuple(reader.GetSpacing()[:3]),
                   tuple(reader.GetOrigin()[:3]), direction, int(channels))


def _header_differences(a: _Header, b: _Header) -> list[str]:
    diffs = []
    if a.size != b.size:
        diffs.append(f"size {a.size} vs {b.size}")
    if not np.allclose(a.spacing, b.spacing, atol=1e-3, rtol=0):
        diffs.append(f"spacing {np.round(a.spacing, 4).tolist()} vs "
                     f"{np.round(b.spacing, 4).tolist()} mm")
    if not np.allclose(a.origin, b.origin, atol=max(1e-3, 1e-3 * min(a.spacing)), rtol=0):
        diffs.append(f"origin {np.round(a.origin, 4).tolist()} vs "
                     f"{np.round(b.origin, 4).tolist()} mm")
    if not np.allclose(a.direction, b.direction, atol=1e-4, rtol=0):
        diffs.append("direction differs")
    return diffs


def _check_case(case: CaseFiles, n_channels: int) -> None:
    headers = [_header(p) for p in case.images]
    if len(case.images) == 1:
        if headers[0].channels != n_channels:
            raise InputError(f"{case.images[0]}: {headers[0].channels} channel(s), "
                             f"dataset.json names {n_channels}")
    else:
        for p, h in zip(case.images, headers, strict=True):
            if h.channels != 1:
                raise InputError(f"{p}: {h.channels} channels in one file; expected 1")
    for p, h in zip(case.images[1:], headers[1:], strict=True):
        diffs = _header_differences(h, headers[0])
        if diffs:
            raise GeometryMismatchError(f"{p}: grid differs from {case.images[0]}: "
                                        + "; ".join(diffs))
    if case.label is not None:
        h = _header(case.label)
        diffs = _header_differences(h, headers[0])
        if diffs:
            raise GeometryMismatchError(f"{case.label}: label grid differs from image "
                                        f"{case.images[0]}: " + "; ".join(diffs))


# ------------------------------------------------------------------------- public API
def read_dataset(root: str | os.PathLike[str], check_files: bool = True) -> DatasetInfo:
    """Parse ``root/dataset.json`` and find every case's files.

    Args:
        root: the dataset folder (holding dataset.json, imagesTr/, labelsTr/, …).
        check_files: read every image and label header: the files must exist, hold the
            expected number of channels, and each case's label and channels must share one
            grid (size, spacing 1e-3 mm, origin, direction). Voxels are not read.

    Raises:
        InputError: missing or malformed dataset.json, missing files, a channel count or
            grid mismatch (:class:`~tumorseg.errors.GeometryMismatchError`), each with one
            line naming the offending file.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such dataset folder")
    json_path = root / "dataset.json"
    doc = _load_json(json_path)
    channel_names = _channels(doc, json_path)
    labels = _labels(doc, json_path)
    ending = str(doc.get("file_ending", ".nii.gz"))
    if "channel_names" in doc:
        layout: Layout = "nnunet-v2"
        if "dataset" in doc:
            cases = _explicit_cases(root, doc, json_path)
        else:
            cases = _scan_split(root, "Tr", len(channel_names), ending, require_labels=True)
        tests = _scan_split(root, "Ts", len(channel_names), ending, require_labels=False)
        expected = doc.get("numTraining")
        if isinstance(expected, int) and expected != len(cases):
            raise InputError(f"{json_path}: numTraining is {expected} but "
                             f"{len(cases)} training cases were found in {root / 'imagesTr'}")
    else:
        layout = "msd-v1"
        cases, tests = _msd_cases(root, doc, json_path)
    info = DatasetInfo(root=root, name=str(doc.get("name") or root.name),
                       channel_names=channel_names, labels=labels, cases=tuple(cases),
                       test_cases=tuple(tests), file_ending=ending, layout=layout)
    if check_files:
        for case in info.cases:
            _check_case(case, info.num_channels)
        for case in info.test_cases:
            _check_case(case, info.num_channels)
    log.debug("%s: %s dataset, %d training and %d test cases", root, layout, len(cases),
              len(tests))
    return info


def load_case(case: CaseFiles, dataset: DatasetInfo) -> tuple[Volume, Volume | None]:
    """Read one case's image and label.

    Returns:
        The image as a channel-first volume [c, i, j, k] (c ≥ 1, ``channel_names`` set) and
        the label map as uint8 [i, j, k] on the same grid (None when the case has none).

    Raises:
        InputError: unreadable files, wrong channel count, label values that are not whole
            numbers in ``dataset.labels``, or a label on a different grid (names the file).
    """
    names = dataset.channel_names
    if len(case.images) == 1:
        image = read_volume(case.images[0])
    else:
        image = read_channels(case.images, channel_names=names)
    array = image.array if image.is_multichannel else image.array[None]
    if array.shape[0] != len(names):
        raise InputError(f"{case.images[0]}: {array.shape[0]} channel(s), dataset.json names "
                         f"{len(names)}")
    modality = names[0] if len(names) == 1 else "unknown"
    image = image.with_array(array, channel_names=names, modality=modality)
    if case.label is None:
        return image, None
    label = read_volume(case.label, modality="SEG")
    if label.is_multichannel:
        raise InputError(f"{case.label}: a label map must be 3D, not {label.n_channels} channels")
    check_same_grid(image, label, what_a=str(case.images[0]), what_b=str(case.label))
    return image, label.with_array(_label_values(label.array, dataset, case.label))


def _label_values(array: np.ndarray, dataset: DatasetInfo, path: Path) -> np.ndarray:
    if np.issubdtype(array.dtype, np.floating):
        rounded = np.rint(array)
        if not np.array_equal(rounded, array):
            raise InputError(f"{path}: label map holds non-integer values")
        array = rounded
    values = np.unique(array)
    allowed = set(dataset.labels.values())
    unknown = [int(v) for v in values if int(v) not in allowed]
    if unknown:
        raise InputError(f"{path}: label values {unknown} are not in dataset.json labels "
                         f"{sorted(allowed)}")
    if max(allowed) > 255:
        raise InputError(f"{path}: more than 255 label values are not supported")
    return array.astype(np.uint8)

"""The organ a lesion lies in, from an organ label map on the lesion mask's grid.

The organ of a lesion is the **most frequent nonzero organ label among its voxels**
(``organ_fraction``: the share of the lesion's voxels with that label). A lesion with no
organ voxel at all gets label 0 and the name ``"outside organs"``.

Organ names, in order of precedence:

1. ``--organ-names FILE.json``: ``{"liver": 1, …}`` or ``{"1": "liver", …}``, or a
   ``dataset.json`` whose ``extra_labels.organs`` (tumorseg phantom datasets) or ``labels``
   holds such a map;
2. a sidecar ``ORGANS.json`` beside the organ file (same name, ``.json`` suffix);
3. a ``dataset.json`` one folder up with ``extra_labels.organs`` (a tumorseg phantom
   dataset's ``organsTr/…`` file);
4. otherwise ``"label N"``. ``"abdomen-phantom"`` as FILE selects the abdomen phantom's
   :data:`~tumorseg.phantoms.abdomen_ct.ORGAN_LABELS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tumorseg.errors import InputError
from tumorseg.io import strip_image_suffix

__all__ = ["OUTSIDE_ORGANS", "load_organ_names", "majority_organ", "organ_names_from_json"]

OUTSIDE_ORGANS = "outside organs"


def majority_organ(organs: np.ndarray, lesion: np.ndarray) -> tuple[int, float]:
    """``(label, fraction)`` of the most frequent nonzero organ label inside ``lesion``.

    Ties go to the lowest label. ``(0, 0.0)`` when no lesion voxel lies in an organ.
    """
    values = np.asarray(organs)[np.asarray(lesion, dtype=bool)]
    if values.size == 0:
        return 0, 0.0
    values = values[values != 0].astype(np.int64)
    if values.size == 0:
        return 0, 0.0
    uniq, counts = np.unique(values, return_counts=True)
    best = int(np.argmax(counts))
    return int(uniq[best]), float(counts[best]) / float(np.asarray(lesion, dtype=bool).sum())


def organ_names_from_json(doc: object, source: str) -> dict[int, str]:
    """Label → name from ``{"name": value}``, ``{"value": "name"}`` or a dataset.json."""
    if isinstance(doc, dict) and isinstance(doc.get("extra_labels"), dict) \
            and isinstance(doc["extra_labels"].get("organs"), dict):
        doc = doc["extra_labels"]["organs"]
    elif isinstance(doc, dict) and isinstance(doc.get("labels"), dict):
        doc = doc["labels"]
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a JSON object mapping organ names to labels")
    names: dict[int, str] = {}
    for key, value in doc.items():
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                names[int(value)] = str(key)
            else:
                names[int(key)] = str(value)
        except (TypeError, ValueError):
            raise InputError(f"{source}: organ label {key!r}: {value!r} is not a "
                             "label number and name") from None
    names.pop(0, None)
    return names


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read organ names ({exc})") from None


def load_organ_names(organ_file: Path | None, names: str | None = None) -> dict[int, str]:
    """Organ names by label value, found as listed in the module docstring (may be empty)."""
    if names == "abdomen-phantom":
        from tumorseg.phantoms.abdomen_ct import ORGAN_LABELS

        return {v: k for k, v in ORGAN_LABELS.items()}
    if names is not None:
        path = Path(names)
        if not path.is_file():
            raise InputError(f"{path}: no such file (--organ-names)")
        return organ_names_from_json(_read_json(path), str(path))
    if organ_file is None:
        return {}
    sidecar = organ_file.with_name(strip_image_suffix(organ_file.name) + ".json")
    if sidecar.is_file():
        return organ_names_from_json(_read_json(sidecar), str(sidecar))
    dataset = organ_file.parent.parent / "dataset.json"
    if dataset.is_file():
        doc = _read_json(dataset)
        if isinstance(doc, dict) and isinstance(doc.get("extra_labels"), dict) \
                and isinstance(doc["extra_labels"].get("organs"), dict):
            return organ_names_from_json(doc, str(dataset))
    return {}

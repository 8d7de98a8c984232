"""Which model (and version) made the mask, for the report.

Sources, in order: an explicit ``--model-info`` JSON (any object; a ``tumorseg predict``
run manifest is recognised), else the run manifest ``tumorseg predict`` wrote beside the
mask (``NAME_run.json`` next to ``NAME.nii.gz``, or ``run_manifest.json`` in its folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tumorseg.errors import InputError
from tumorseg.io import strip_image_suffix

__all__ = ["find_model_info", "model_rows"]


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read model information ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: model information must be a JSON object")
    return doc


def find_model_info(mask: Path, explicit: Path | None = None
                    ) -> tuple[dict[str, Any] | None, Path | None]:
    """``(document, path)`` of the model information, or ``(None, None)`` when none is found."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"{explicit}: no such file (--model-info)")
        return _read(explicit), explicit
    for candidate in (mask.with_name(f"{strip_image_suffix(mask.name)}_run.json"),
                      mask.parent / "run_manifest.json"):
        if candidate.is_file():
            return _read(candidate), candidate
    return None, None


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return str(value)


def model_rows(doc: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(name, value) rows describing the model; a run manifest gives the key facts."""
    if doc is None:
        return [("model", "not recorded: no --model-info and no run manifest beside the mask")]
    model = doc.get("model")
    if isinstance(model, dict):  # a tumorseg predict run manifest
        rows = [("tool", f"{doc.get('tool', '?')} (tumorseg {doc.get('tumorseg_version', '?')})"),
                ("model", str(model.get("dataset_name") or model.get("model_dir") or "?")),
                ("model folder", str(model.get("model_dir", "?"))),
                ("model created", str(model.get("model_created", "?"))),
                ("trained with tumorseg", str(model.get("model_tumorseg_version", "?"))),
                ("folds", _short(model.get("folds", "?"))),
                ("test-time mirroring", str(model.get("test_time_mirroring", "?"))),
                ("run started", str(doc.get("started", "?")))]
        sha = model.get("weights_sha256")
        if isinstance(sha, dict) and sha:
            rows.append(("weights SHA-256", ", ".join(f"{k}: {str(v)[:16]}…"
                                                      for k, v in sha.items())))
        return rows
    return [(str(k), _short(v)[:200]) for k, v in doc.items()]

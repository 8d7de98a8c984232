"""The dataset fingerprint: spacings, shapes, foreground intensities and label statistics.

Computed as nnU-Net does (``DatasetFingerprintExtractor``): each case is cropped to the
bounding box of its nonzero voxels (:func:`tumorseg.preprocessing.crop.crop_to_nonzero`);
the foreground (label > 0) intensities of each channel are sampled — ``samples_per_case``
voxels per case, drawn with replacement by a generator seeded with ``seed``, so every case
weighs the same and the result is deterministic — and pooled over the dataset for the
statistics the CT normalisation needs. ``samples_per_case=None`` uses every foreground voxel.

Spacings are in mm and shapes in voxels, both in (i, j, k) order.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from tumorseg import __version__
from tumorseg.errors import InputError
from tumorseg.io import atomic_write_text
from tumorseg.planning.dataset import CaseFiles, DatasetInfo, load_case
from tumorseg.preprocessing.crop import CropBox, crop_to_nonzero

__all__ = [
    "CaseAnalysis",
    "CaseFingerprint",
    "Fingerprint",
    "IntensityStats",
    "ProgressCallback",
    "analyze_case",
    "combine_cases",
    "compute_fingerprint",
]

#: Called after each case with (cases done, cases in total, name of the case just done).
ProgressCallback = Callable[[int, int, str], None]


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


@dataclass(frozen=True)
class IntensityStats:
    """Foreground intensity statistics of one channel (input units, e.g. HU); None if no
    foreground voxel was found. ``std`` is the population standard deviation."""

    mean: float | None
    std: float | None
    median: float | None
    min: float | None
    max: float | None
    percentile_00_5: float | None
    percentile_99_5: float | None
    n_samples: int

    @classmethod
    def of(cls, values: np.ndarray) -> IntensityStats:
        """Statistics of ``values`` (1D), computed in float64."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0:
            return cls(None, None, None, None, None, None, None, 0)
        p005, median, p995 = np.percentile(v, (0.5, 50.0, 99.5))
        return cls(float(v.mean()), float(v.std()), float(median), float(v.min()),
                   float(v.max()), float(p005), float(p995), int(v.size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: (_num(v) if k != "n_samples" else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IntensityStats:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


@dataclass(frozen=True)
class CaseFingerprint:
    """What the fingerprint keeps of one case.

    Attributes:
        name: case name.
        spacing: voxel size in mm (i, j, k).
        shape: size in voxels (i, j, k) before cropping.
        crop: the nonzero bounding box (original voxel indices).
        label_voxels: voxel count per label value (after cropping; background included).
        lesion_volumes_mm3: per foreground label value, the volume in mm³ of each connected
            component (26-connectivity), largest first; None when not computed.
    """

    name: str
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]
    crop: CropBox
    label_voxels: dict[int, int]
    lesion_volumes_mm3: dict[int, list[float]] | None = None

    @property
    def shape_after_crop(self) -> tuple[int, int, int]:
        """Size in voxels (i, j, k) after cropping to the nonzero box."""
        return self.crop.shape

    @property
    def relative_size_after_crop(self) -> float:
        """Voxels kept by the crop / voxels before."""
        return float(np.prod(self.crop.shape) / np.prod(self.shape))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name, "spacing": list(self.spacing), "shape": list(self.shape),
            "shape_after_crop": list(self.shape_after_crop), "crop": self.crop.to_dict(),
            "label_voxels": {str(k): v for k, v in self.label_voxels.items()},
            "lesion_volumes_mm3": None if self.lesion_volumes_mm3 is None else
            {str(k): v for k, v in self.lesion_volumes_mm3.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseFingerprint:
        """Inverse of :meth:`to_dict`."""
        lesions = d.get("lesion_volumes_mm3")
        return cls(d["name"], tuple(d["spacing"]), tuple(d["shape"]),
                   CropBox.from_dict(d["crop"]),
                   {int(k): int(v) for k, v in d["label_voxels"].items()},
                   None if lesions is None else {int(k): list(v) for k, v in lesions.items()})


@dataclass(frozen=True)
class CaseAnalysis:
    """One analysed case: its fingerprint entry and its foreground intensity samples
    (one 1D array per channel; not saved)."""

    fingerprint: CaseFingerprint
    samples: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Fingerprint:
    """Everything planning needs to know about a dataset (saved as JSON).

    Attributes:
        dataset_name: the dataset's name.
        channel_names: input channel names in order.
        labels: label name → value.
        cases: one :class:`CaseFingerprint` per training case.
        intensity: per channel, foreground intensity statistics pooled over all cases.
        samples_per_case: foreground voxels sampled per case (None: all).
        seed: seed of the sampling generator.
        crop_to_nonzero: whether shapes are after cropping to the nonzero box.
        tumorseg_version: version that computed it.
    """

    dataset_name: str
    channel_names: tuple[str, ...]
    labels: dict[str, int]
    cases: tuple[CaseFingerprint, ...]
    intensity: tuple[IntensityStats, ...]
    samples_per_case: int | None = 10_000
    seed: int = 1234
    crop_to_nonzero: bool = True
    tumorseg_version: str = __version__

    # --------------------------------------------------------------- summaries
    @property
    def spacings(self) -> np.ndarray:
        """Spacings of all cases, (n_cases, 3) in mm."""
        return np.array([c.spacing for c in self.cases], dtype=float)

    @property
    def shapes_after_crop(self) -> np.ndarray:
        """Shapes after cropping, (n_cases, 3) voxels."""
        return np.array([c.shape_after_crop for c in self.cases], dtype=float)

    @property
    def median_spacing(self) -> tuple[float, float, float]:
        """Median spacing per axis (mm)."""
        return tuple(float(v) for v in np.median(self.spacings, axis=0))  # type: ignore[return-value]

    @property
    def median_shape_after_crop(self) -> tuple[float, float, float]:
        """Median shape after cropping per axis (voxels, at each case's own spacing)."""
        return tuple(float(v) for v in np.median(self.shapes_after_crop, axis=0))  # type: ignore[return-value]

    @property
    def median_relative_size_after_crop(self) -> float:
        """Median over cases of (voxels after crop / voxels before)."""
        return float(np.median([c.relative_size_after_crop for c in self.cases]))

    def label_voxel_totals(self) -> dict[int, int]:
        """Voxel count per label value summed over all cases."""
        totals: dict[int, int] = {}
        for c in self.cases:
            for k, v in c.label_voxels.items():
                totals[k] = totals.get(k, 0) + v
        return dict(sorted(totals.items()))

    def summary(self) -> dict[str, Any]:
        """Percentiles of spacing and shape, relative crop size, label totals (JSON-ready)."""
        q = (0, 10, 50, 90, 100)
        sp, sh = self.spacings, self.shapes_after_crop
        return {
            "num_cases": len(self.cases),
            "spacing_percentiles_mm": {str(p): np.percentile(sp, p, axis=0).tolist() for p in q},
            "shape_after_crop_percentiles": {str(p): np.percentile(sh, p, axis=0).tolist()
                                             for p in q},
            "median_spacing_mm": list(self.median_spacing),
            "median_shape_after_crop": list(self.median_shape_after_crop),
            "median_relative_size_after_crop": self.median_relative_size_after_crop,
            "label_voxel_totals": {str(k): v for k, v in self.label_voxel_totals().items()},
        }

    # ------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``summary`` is derived and ignored when reading back."""
        return {
            "dataset_name": self.dataset_name,
            "channel_names": list(self.channel_names),
            "labels": dict(self.labels),
            "samples_per_case": self.samples_per_case,
            "seed": self.seed,
            "crop_to_nonzero": self.crop_to_nonzero,
            "tumorseg_version": self.tumorseg_version,
            "summary": self.summary(),
            "intensity": [s.to_dict() for s in self.intensity],
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_dict`."""
        return cls(
            dataset_name=d["dataset_name"], channel_names=tuple(d["channel_names"]),
            labels={str(k): int(v) for k, v in d["labels"].items()},
            cases=tuple(CaseFingerprint.from_dict(c) for c in d["cases"]),
            intensity=tuple(IntensityStats.from_dict(s) for s in d["intensity"]),
            samples_per_case=d.get("samples_per_case"), seed=int(d.get("seed", 1234)),
            crop_to_nonzero=bool(d.get("crop_to_nonzero", True)),
            tumorseg_version=str(d.get("tumorseg_version", "unknown")),
        )

    def to_json(self) -> str:
        """The fingerprint as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON atomically; returns the path."""
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Fingerprint:
        """Read a fingerprint written by :meth:`save`."""
        p = Path(path)
        try:
            return cls.from_json(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{p}: not a readable tumorseg fingerprint ({exc})") from exc


# ------------------------------------------------------------------- computation
def _lesion_volumes(label: np.ndarray, voxel_mm3: float) -> dict[int, list[float]]:
    structure = np.ones((3, 3, 3), dtype=bool)
    out: dict[int, list[float]] = {}
    for value in np.unique(label):
        if value == 0:
            continue
        components, n = ndimage.label(label == value, structure=structure)
        counts = np.bincount(components.reshape(-1), minlength=n + 1)[1:]
        out[int(value)] = sorted((float(c) * voxel_mm3 for c in counts), reverse=True)
    return out


def analyze_case(case: CaseFiles, dataset: DatasetInfo, samples_per_case: int | None = 10_000,
                 seed: int = 1234, crop: bool = True, lesion_sizes: bool = False
                 ) -> CaseAnalysis:
    """Read one case and measure it (see the module docstring for the sampling rule).

    Raises:
        InputError: the case has no label, or its files are unreadable or inconsistent.
    """
    if case.label is None:
        raise InputError(f"{case.images[0]}: training case {case.name} has no label file")
    image, label = load_case(case, dataset)
    assert label is not None
    if crop:
        cropped, box, _ = crop_to_nonzero(image)
        lab = label.array[box.slices]
    else:
        cropped, box, lab = image, CropBox.full(image.shape), label.array
    fg = lab > 0
    rng = np.random.default_rng(seed)
    samples = []
    for c in range(cropped.n_channels):
        values = cropped.array[c][fg]
        if samples_per_case is not None and values.size:
            values = values[rng.integers(0, values.size, size=samples_per_case)]
        samples.append(np.asarray(values, dtype=np.float64))
    counts = np.bincount(lab.reshape(-1), minlength=len(dataset.labels))
    fp = CaseFingerprint(
        name=case.name, spacing=image.spacing, shape=image.shape, crop=box,
        label_voxels={int(v): int(n) for v, n in enumerate(counts)},
        lesion_volumes_mm3=(_lesion_volumes(lab, image.voxel_volume_mm3)
                            if lesion_sizes else None),
    )
    return CaseAnalysis(fp, tuple(samples))


def combine_cases(analyses: Iterable[CaseAnalysis], dataset: DatasetInfo,
                  samples_per_case: int | None = 10_000, seed: int = 1234,
                  crop: bool = True) -> Fingerprint:
    """Pool per-case analyses (in dataset order) into a :class:`Fingerprint`."""
    analyses = list(analyses)
    if not analyses:
        raise InputError(f"{dataset.root}: the dataset has no training cases")
    intensity = tuple(
        IntensityStats.of(np.concatenate([a.samples[c] for a in analyses]))
        for c in range(dataset.num_channels)
    )
    return Fingerprint(
        dataset_name=dataset.name, channel_names=dataset.channel_names,
        labels=dict(dataset.labels), cases=tuple(a.fingerprint for a in analyses),
        intensity=intensity, samples_per_case=samples_per_case, seed=seed,
        crop_to_nonzero=crop,
    )


def compute_fingerprint(dataset: DatasetInfo, samples_per_case: int | None = 10_000,
                        seed: int = 1234, crop: bool = True, lesion_sizes: bool = False,
                        progress: ProgressCallback | None = None) -> Fingerprint:
    """Measure every training case of ``dataset`` and pool the results.

    Args:
        dataset: from :func:`tumorseg.planning.read_dataset`.
        samples_per_case: foreground voxels sampled per case and channel (with replacement,
            nnU-Net's 10 000 by default); None takes every foreground voxel (exact statistics).
        seed: seed of the sampling generator (same seed → same fingerprint).
        crop: crop each case to its nonzero bounding box first (nnU-Net does).
        lesion_sizes: also record the volume of every connected component per label.
        progress: called as ``progress(done, total, case_name)`` after each case.

    Example:
        >>> fp = compute_fingerprint(read_dataset("data/abdomen"))  # doctest: +SKIP
        >>> fp.save("data/abdomen/fingerprint.json")                # doctest: +SKIP
    """
    analyses = []
    total = len(dataset.cases)
    for i, case in enumerate(dataset.cases):
        analyses.append(analyze_case(case, dataset, samples_per_case, seed, crop, lesion_sizes))
        if progress is not None:
            progress(i + 1, total, case.name)
    return combine_cases(analyses, dataset, samples_per_case, seed, crop)

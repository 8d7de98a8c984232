"""PET DICOM → standardised uptake value (SUV, body weight) from the series' own tags.

``SUVbw = C(x) · W / D(t_ref)``: ``C`` the activity concentration in Bq/mL (stored value ×
that slice's RescaleSlope + RescaleIntercept), ``W`` the patient weight in g (1 g ≈ 1 mL of
tissue), ``D(t_ref)`` the injected dose in Bq decayed from the radiopharmaceutical start time
to the time the image values are referenced to:

- DecayCorrection ``START``: images are decay-corrected to the start of the acquisition,
  taken as SeriesDate/SeriesTime — or the earliest AcquisitionDate/Time of the series when
  that is earlier (scanners that rewrite SeriesTime on reconstruction), as QIBA recommends;
- ``ADMIN``: corrected to the administration time, so the dose is not decayed;
- ``NONE``: each slice is referenced to its own AcquisitionDate/Time.

Units ``BQML`` are converted; ``GML`` (already SUVbw) are taken as they are; anything else
(CNTS, PROPCPS, …) is refused. A missing tag needed for the formula raises
:class:`~tumorseg.errors.InputError` naming the file and the tag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from tumorseg.errors import InputError

__all__ = ["SuvParameters", "multiframe_suv_factors",
    "pet_slices_to_suv", "suv_parameters"]


@dataclass(frozen=True)
class SuvParameters:
    """What SUV needs from a PET series.

    Attributes:
        units: the DICOM Units (0054,1001) value, "BQML" or "GML".
        weight_kg: PatientWeight (0010,1030) in kg.
        dose_bq: RadionuclideTotalDose (0018,1074) in Bq, at the injection time.
        half_life_s: RadionuclideHalfLife (0018,1075) in seconds.
        injection: radiopharmaceutical start date and time.
        decay_correction: DecayCorrection (0054,1102): "START", "ADMIN" or "NONE".
        series_reference: decay reference time of a START-corrected series.
    """

    units: str
    weight_kg: float
    dose_bq: float
    half_life_s: float
    injection: dt.datetime
    decay_correction: str
    series_reference: dt.datetime | None

    def decayed_dose_bq(self, reference: dt.datetime) -> float:
        """The injected dose decayed from the injection to ``reference``, in Bq."""
        elapsed = (reference - self.injection).total_seconds()
        return self.dose_bq * 2.0 ** (-elapsed / self.half_life_s)


def _need(ds: Dataset, keyword: str, where: str) -> object:
    value = ds.get(keyword)
    if value is None or value == "":
        tag = pydicom.datadict.tag_for_keyword(keyword)
        code = f"({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else ""
        raise InputError(f"{where}: PET SUV needs {keyword} {code}, which is missing or empty")
    return value


def _datetime(date: object, time: object) -> dt.datetime | None:
    if not date or not time:
        return None
    return _parse_dt(f"{date}{time}")


def _parse_dt(text: str) -> dt.datetime | None:
    text = str(text).strip()
    if not text:
        return None
    text = text.split("+")[0].split("-")[0] if len(text) > 8 else text
    main, _, frac = text.partition(".")
    fmt = {8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(main))
    if fmt is None:
        return None
    value = dt.datetime.strptime(main, fmt)
    if frac:
        value += dt.timedelta(microseconds=int((frac + "000000")[:6]))
    return value


def _acquisition(ds: Dataset) -> dt.datetime | None:
    if ds.get("AcquisitionDateTime"):
        return _parse_dt(ds.AcquisitionDateTime)
    return _datetime(ds.get("AcquisitionDate") or ds.get("SeriesDate"), ds.get("AcquisitionTime"))


def suv_parameters(datasets: Sequence[Dataset], where: str) -> SuvParameters:
    """Collect and check the SUV tags of a PET series (headers of its slices).

    Raises:
        InputError: a needed tag is missing, the units cannot be converted, or a value
            is not positive.
    """
    first = datasets[0]
    units = str(_need(first, "Units", where)).upper()
    if units not in ("BQML", "GML"):
        raise InputError(f"{where}: PET Units (0054,1001) is {units}; SUV needs BQML (or GML)")
    weight = float(_need(first, "PatientWeight", where))  # type: ignore[arg-type]
    if weight <= 0:
        raise InputError(f"{where}: PatientWeight (0010,1030) is {weight}; SUV needs it > 0")
    info_seq = _need(first, "RadiopharmaceuticalInformationSequence", where)
    info = info_seq[0]  # type: ignore[index]
    dose = float(_need(info, "RadionuclideTotalDose", where))  # type: ignore[arg-type]
    half_life = float(_need(info, "RadionuclideHalfLife", where))  # type: ignore[arg-type]
    if dose <= 0 or half_life <= 0:
        raise InputError(f"{where}: RadionuclideTotalDose {dose} and RadionuclideHalfLife "
                         f"{half_life} must both be > 0")
    decay = str(_need(first, "DecayCorrection", where)).upper()
    if decay not in ("START", "ADMIN", "NONE"):
        raise InputError(f"{where}: DecayCorrection (0054,1102) {decay} is not START, ADMIN "
                         "or NONE")
    series_ref = _datetime(first.get("SeriesDate"), first.get("SeriesTime"))
    acquisitions = [a for a in (_acquisition(d) for d in datasets) if a is not None]
    if acquisitions and (series_ref is None or min(acquisitions) < series_ref):
        series_ref = min(acquisitions)
    if info.get("RadiopharmaceuticalStartDateTime"):
        injection = _parse_dt(info.RadiopharmaceuticalStartDateTime)
    else:
        start = info.get("RadiopharmaceuticalStartTime")
        if not start:
            raise InputError(f"{where}: PET SUV needs RadiopharmaceuticalStartDateTime "
                             "(0018,1078) or RadiopharmaceuticalStartTime (0018,1072); both "
                             "are missing or empty")
        day = first.get("SeriesDate") or first.get("AcquisitionDate") or first.get("StudyDate")
        injection = _datetime(day, start)
        if injection is not None and series_ref is not None and injection > series_ref:
            injection -= dt.timedelta(days=1)  # injected before midnight, scanned after
    if injection is None:
        raise InputError(f"{where}: PET SUV needs RadiopharmaceuticalStartDateTime (0018,1078) "
                         "or RadiopharmaceuticalStartTime (0018,1072) with a SeriesDate")
    if decay == "START" and series_ref is None:
        raise InputError(f"{where}: PET SUV needs SeriesDate/SeriesTime (0008,0021/0031) or "
                         "AcquisitionTime (0008,0032) as the decay reference")
    return SuvParameters(units, weight, dose, half_life, injection, decay, series_ref)


def pet_slices_to_suv(files: Sequence[str | Path], where: str) -> np.ndarray:
    """Read single-frame PET slices (in the order given) as SUVbw, ``array[i, j, k]``.

    Each slice is rescaled with its own RescaleSlope/Intercept (PET slopes differ per slice),
    then multiplied by ``weight / decayed dose``. Returns float32.
    """
    datasets = [pydicom.dcmread(str(f)) for f in files]
    params = suv_parameters(datasets, where)
    slices = []
    for ds, path in zip(datasets, files, strict=True):
        slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
        activity = ds.pixel_array.astype(np.float64) * slope + intercept  # [row, col]
        if params.units == "GML":
            suv = activity
        else:
            if params.decay_correction == "ADMIN":
                dose = params.dose_bq
            elif params.decay_correction == "START":
                dose = params.decayed_dose_bq(params.series_reference)  # type: ignore[arg-type]
            else:
                acq = _acquisition(ds)
                if acq is None:
                    raise InputError(f"{path}: DecayCorrection NONE needs AcquisitionTime "
                                     "(0008,0032) on every slice")
                dose = params.decayed_dose_bq(acq)
            suv = activity * (params.weight_kg * 1000.0) / dose
        slices.append(suv.T)  # [col, row] = [i, j]
    return np.stack(slices, axis=-1).astype(np.float32)


_SUV_KEYWORDS = ("Units", "PatientWeight", "RadiopharmaceuticalInformationSequence",
                 "DecayCorrection", "SeriesDate", "SeriesTime", "AcquisitionDate",
                 "AcquisitionTime", "AcquisitionDateTime", "StudyDate")


def _enhanced_suv_header(ds: Dataset) -> Dataset:
    """The SUV tags of an enhanced object: top level first, then the shared functional
    groups' UnassignedSharedConvertedAttributesSequence (where legacy-converted enhanced
    objects keep them)."""
    sources = [ds]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        unassigned = shared[0].get("UnassignedSharedConvertedAttributesSequence")
        if unassigned:
            sources.append(unassigned[0])
    header = Dataset()
    for keyword in _SUV_KEYWORDS:
        for source in sources:
            value = source.get(keyword)
            if value is not None and value != "":
                setattr(header, keyword, value)
                break
    return header


def parse_dicom_datetime(text: str) -> dt.datetime | None:
    """A DICOM DT value (``YYYYMMDDHHMMSS.FFFFFF``, optional parts) as a datetime, or None."""
    return _parse_dt(text)


def multiframe_suv_factors(ds: Dataset, frame_times: Sequence[dt.datetime | None],
                           where: str) -> np.ndarray:
    """SUVbw factor (``weight / decayed dose``, mL⁻¹ scale) per frame of an enhanced PET object.

    The SUV tags sit at the top level of an enhanced multi-frame object; ``frame_times`` are the
    frames' acquisition times (FrameContentSequence › FrameAcquisitionDateTime), needed only for
    DecayCorrection NONE. Multiply the rescaled activity of frame ``n`` by factor ``n``.

    Raises:
        InputError: as :func:`suv_parameters`, or NONE without a time on every frame.
    """
    params = suv_parameters([_enhanced_suv_header(ds)], where)
    if params.units == "GML":
        return np.ones(len(frame_times))
    if params.decay_correction == "ADMIN":
        doses = [params.dose_bq] * len(frame_times)
    elif params.decay_correction == "START":
        doses = [params.decayed_dose_bq(params.series_reference)] * len(frame_times)  # type: ignore[arg-type]
    else:
        if any(t is None for t in frame_times):
            raise InputError(f"{where}: DecayCorrection NONE needs FrameAcquisitionDateTime "
                             "(0018,9074) on every frame")
        doses = [params.decayed_dose_bq(t) for t in frame_times]  # type: ignore[arg-type]
    return np.asarray([params.weight_kg * 1000.0 / d for d in doses])

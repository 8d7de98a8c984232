"""Lesion measurements for clinical reporting: volume, RECIST 1.1 axes, 3D diameter,
position, intensity (HU), PET SUVmax/SUVmean/SUVpeak/MTV/TLG, organ, and per-case totals.

Start with :func:`measure_case`; :func:`write_measurements` writes the CSV and JSON.
Conventions are in the docstrings of :mod:`tumorseg.measure.case` (what is measured),
:mod:`tumorseg.measure.diameters` (RECIST), :mod:`tumorseg.measure.pet` (SUV) and
:mod:`tumorseg.measure.instances` (what one lesion is).

Example:
    >>> import numpy as np
    >>> from tumorseg.io import Volume
    >>> from tumorseg.measure import measure_case
    >>> mask = np.zeros((20, 20, 10), np.uint8); mask[5:9, 5:9, 3:5] = 1
    >>> image = Volume(np.zeros(mask.shape, np.int16), (1.0, 1.0, 2.0), modality="CT")
    >>> result = measure_case(image, image.with_array(mask))
    >>> result.summary.lesion_count, round(result.lesions[0].volume_ml, 3)
    (1, 0.064)
"""

from __future__ import annotations

from tumorseg.measure.case import CaseMeasurements, CaseSummary, LesionMeasurement, measure_case
from tumorseg.measure.diameters import RecistAxes, max_diameter_3d, recist_axes
from tumorseg.measure.instances import InstanceMode, lesion_instances
from tumorseg.measure.organs import load_organ_names, majority_organ
from tumorseg.measure.pet import SUV_PEAK_RADIUS_MM, PetStats, pet_on_grid, pet_stats
from tumorseg.measure.table import (
    MEASURE_COLUMNS,
    measurements_csv,
    measurements_doc,
    write_measurements,
)

__all__ = [
    "MEASURE_COLUMNS",
    "SUV_PEAK_RADIUS_MM",
    "CaseMeasurements",
    "CaseSummary",
    "InstanceMode",
    "LesionMeasurement",
    "PetStats",
    "RecistAxes",
    "lesion_instances",
    "load_organ_names",
    "majority_organ",
    "max_diameter_3d",
    "measure_case",
    "measurements_csv",
    "measurements_doc",
    "pet_on_grid",
    "pet_stats",
    "recist_axes",
    "write_measurements",
]

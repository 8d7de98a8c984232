"""Volumes in and out with exact geometry.

Conventions (stated here once; the rest of tumorseg follows them)
------------------------------------------------------------------
**Array axis order.** A :class:`Volume` holds ``array[i, j, k]``: axis 0 is the image
column *i* (x), axis 1 the row *j* (y), axis 2 the slice *k* (z), the order ITK, NIfTI,
3D Slicer, ITK-SNAP and MONAI use. Multi-channel volumes put channels first:
``array[c, i, j, k]``. (SimpleITK's ``GetArrayFromImage`` returns ``[k, j, i]``; the readers
and writers here transpose, so user code never has to.) ``spacing`` and ``origin`` are
in the same i, j, k order, in millimetres.

**Patient coordinates.** World positions are LPS millimetres, as in DICOM and ITK:
+x towards the patient's Left, +y Posterior, +z Superior. A voxel index maps to LPS by
``p = origin + direction @ (spacing * [i, j, k])``; ``direction`` is 3×3 with column *a*
the unit vector of array axis *a*. ``origin`` is the centre of voxel (0, 0, 0).
Viewers that display RAS (e.g. FSLeyes, nibabel affines) show x and y negated.

**CLI coordinates.** ``--coords voxel`` (default): a point ``X,Y,Z`` is the voxel index
``(i, j, k) = (X, Y, Z)`` — the column, row and slice numbers (from 0) that ITK-SNAP and
3D Slicer show as voxel coordinates — so it addresses ``array[X, Y, Z]``.
``--coords mm``: ``X,Y,Z`` is an LPS patient position in mm; it maps to the nearest voxel by
``round(inverse(direction @ diag(spacing)) @ (p - origin))``.

**Formats.** NIfTI (``.nii``, ``.nii.gz``), NRRD (``.nrrd``, ``.nhdr``), MetaImage
(``.mha``, ``.mhd``) and DICOM series folders are read; NIfTI, NRRD and MHA are written,
and a CT also as a DICOM series (:func:`write_dicom_series`; the phases of a 4D CT as one
series each, sharing a study and frame of reference: :func:`write_dicom_phases`).
Writes are atomic (temporary file, then rename). Errors are :class:`~tumorseg.errors.InputError`
with one line naming the file and the problem.
"""

from __future__ import annotations

from tumorseg.io.atomic import atomic_folder, atomic_path, atomic_write_text
from tumorseg.io.coords import CoordSystem, parse_point, point_to_index
from tumorseg.io.dicom_write import write_dicom_phases, write_dicom_series
from tumorseg.io.grid import check_same_grid, grid_differences
from tumorseg.io.labels import MAX_LABEL_VALUES, label_map_array
from tumorseg.io.orient import align_to_grid, reorient, to_lps
from tumorseg.io.read import (
    IMAGE_SUFFIXES,
    is_image_path,
    looks_like_dicom,
    modality_from_header,
    read_channels,
    read_dicom_series,
    read_volume,
    strip_image_suffix,
)
from tumorseg.io.volume import Volume
from tumorseg.io.write import write_volume

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_LABEL_VALUES",
    "CoordSystem",
    "Volume",
    "align_to_grid",
    "atomic_folder",
    "atomic_path",
    "atomic_write_text",
    "check_same_grid",
    "grid_differences",
    "is_image_path",
    "label_map_array",
    "looks_like_dicom",
    "modality_from_header",
    "parse_point",
    "point_to_index",
    "read_channels",
    "read_dicom_series",
    "read_volume",
    "reorient",
    "strip_image_suffix",
    "to_lps",
    "write_dicom_phases",
    "write_dicom_series",
    "write_volume",
]

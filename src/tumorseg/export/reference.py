"""The DICOM series a SEG or RTSTRUCT refers to, and the mask on its grid.

A derived object must reference instances that exist: every slice needs its SOP Class,
SOP Instance, Study, Series and Frame of Reference UIDs. An over-anonymised export with
empty UIDs is **refused** with one line naming the empty tags — tumorseg does not invent
UIDs, because references to instances nobody has would be wrong in every PACS and planning
system. Restore the UIDs first (from the archive the series came from).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from tumorseg.errors import InputError
from tumorseg.io import Volume, align_to_grid, read_dicom_series, read_volume

__all__ = ["REQUIRED_UIDS", "ReferenceSeries", "load_reference", "mask_on_reference"]

#: UIDs every referenced slice must carry (non-empty).
REQUIRED_UIDS = (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
    "FrameOfReferenceUID",
)


@dataclass(frozen=True)
class ReferenceSeries:
    """A single-frame DICOM series: its volume and its slice headers in the volume's k order.

    Attributes:
        volume: the series read by :func:`tumorseg.io.read_dicom_series` (``array[i, j, k]``).
        datasets: one header (no pixel data) per slice; ``datasets[k]`` is slice ``k``.
        folder: where it was read from.
    """

    volume: Volume
    datasets: tuple[Dataset, ...]
    folder: Path

    @property
    def first(self) -> Dataset:
        """The header of slice 0 (patient, study and frame-of-reference attributes)."""
        return self.datasets[0]


def _headers(folder: Path) -> list[Dataset]:
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        except Exception:  # not DICOM: skipped as the series reader skips it
            continue
        if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
            out.append(ds)
    return out


def load_reference(folder: str | os.PathLike[str]) -> ReferenceSeries:
    """Read the reference series in ``folder`` and match every slice header to its k.

    Raises:
        InputError: not a folder, no usable series, an enhanced multi-frame series (not
            supported as a reference yet), empty UIDs, or headers that do not line up with
            the volume.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: the reference must be a DICOM series folder")
    headers = _headers(root)
    if not headers:
        raise InputError(f"{root}: no DICOM image slices found in this folder")
    if len(headers) == 1 and int(headers[0].get("NumberOfFrames", 1) or 1) > 1:
        raise InputError(f"{root}: enhanced multi-frame references are not supported yet "
                         "(export against the single-frame series)")
    groups: dict[str, list[Dataset]] = {}
    for ds in headers:
        groups.setdefault(str(ds.get("SeriesInstanceUID", "") or ""), []).append(ds)
    _check_uids(max(groups.values(), key=len), root)  # before decoding any pixels
    volume = read_dicom_series(root, suv=False)
    nk = volume.shape[2]
    normal = volume.direction[:, 2]
    wanted = volume.index_to_world([[0, 0, k] for k in range(nk)]) @ normal
    chosen: list[Dataset] | None = None
    for group in groups.values():
        if len(group) != nk:
            continue
        group = sorted(group, key=lambda d: float(np.dot(d.ImagePositionPatient, normal)))
        got = np.array([np.dot(np.asarray(d.ImagePositionPatient, float), normal)
                        for d in group])
        if np.allclose(got, wanted, atol=1e-2):
            chosen = group
            break
    if chosen is None:
        raise InputError(f"{root}: cannot match the DICOM slice headers to the series volume")
    _check_uids(chosen, root)
    return ReferenceSeries(volume=volume, datasets=tuple(chosen), folder=root)


def _check_uids(datasets: list[Dataset], root: Path) -> None:
    empty = [kw for kw in REQUIRED_UIDS if any(not str(d.get(kw, "") or "") for d in datasets)]
    if empty:
        n_bad = sum(1 for d in datasets if any(not str(d.get(kw, "") or "") for kw in empty))
        raise InputError(
            f"{root}: cannot reference this series: {', '.join(empty)} empty in {n_bad} of "
            f"{len(datasets)} files (an over-anonymised export); restore the UIDs first — "
            "tumorseg does not invent references"
        )
    for kw in ("StudyInstanceUID", "FrameOfReferenceUID"):
        if len({str(d.get(kw)) for d in datasets}) > 1:
            raise InputError(f"{root}: the slices have different {kw}s")


def mask_on_reference(mask: str | os.PathLike[str] | Volume, reference: ReferenceSeries
                      ) -> np.ndarray:
    """The mask as an integer array ``[i, j, k]`` on the reference grid.

    A mask holding the same voxel lattice in another axis order or sign (a NIfTI written
    from the series, say) is rearranged exactly; any other grid difference raises
    :class:`~tumorseg.errors.GeometryMismatchError`. Non-integer values, negative labels
    and an empty mask raise :class:`InputError`.
    """
    vol = mask if isinstance(mask, Volume) else read_volume(mask)
    name = vol.source or "mask"
    if vol.is_multichannel:
        raise InputError(f"{name}: a mask must have one channel")
    aligned = align_to_grid(vol, reference.volume)
    arr = np.asarray(aligned.array)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise InputError(f"{name}: a mask must hold integer labels (found fractions)")
        arr = arr.astype(np.int32)
    if arr.min() < 0:
        raise InputError(f"{name}: a mask must not hold negative labels")
    if not arr.any():
        raise InputError(f"{name}: the mask is empty (no voxel > 0); nothing to export")
    return arr

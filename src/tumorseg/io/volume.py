"""The :class:`Volume` type: voxels plus the geometry that places them in the patient.

Axis order and coordinates are defined once, in :mod:`tumorseg.io` (read its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import SimpleITK as sitk

__all__ = ["Volume"]

Vec3 = tuple[float, float, float]


def _as_vec3(values: Any, name: str) -> Vec3:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape != (3,):
        raise ValueError(f"{name} must have 3 values, got {arr.tolist()}")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D image (optionally with channels) and its geometry.

    Attributes:
        array: voxel values indexed ``array[i, j, k]`` (x = column i, y = row j,
            z = slice k), or ``array[c, i, j, k]`` for a multi-channel volume (channel first).
            The array is held, not copied: treat it as read-only and use :meth:`with_array`
            to make a new volume on the same grid.
        spacing: voxel size in mm along i, j, k.
        origin: patient (LPS, mm) position of the centre of voxel (0, 0, 0).
        direction: 3×3 matrix whose column ``a`` is the unit LPS direction of array axis ``a``.
        modality: "CT", "MR", "PT", "SEG" (a label map) or "unknown".
        source: where the volume was read from (file or folder), if anywhere.
        channel_names: one name per channel for multi-channel volumes (e.g. ``("T1", "T2")``).
    """

    array: np.ndarray
    spacing: Vec3
    origin: Vec3 = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "unknown"
    source: str | None = None
    channel_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.ndim not in (3, 4):
            raise ValueError(f"a Volume needs a 3D or 4D (channel-first) array, got {array.ndim}D")
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "spacing", _as_vec3(self.spacing, "spacing"))
        object.__setattr__(self, "origin", _as_vec3(self.origin, "origin"))
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        object.__setattr__(self, "direction", direction)
        if any(s <= 0 for s in self.spacing):
            raise ValueError(f"spacing must be positive, got {self.spacing}")
        if self.channel_names is not None:
            names = tuple(str(n) for n in self.channel_names)
            if len(names) != self.n_channels:
                raise ValueError(f"{len(names)} channel names for {self.n_channels} channels")
            object.__setattr__(self, "channel_names", names)

    # ----------------------------------------------------------------- shape
    @property
    def shape(self) -> tuple[int, int, int]:
        """Spatial size (ni, nj, nk) in voxels, without the channel axis."""
        s = self.array.shape[-3:]
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def n_channels(self) -> int:
        """Number of channels (1 for a plain 3D volume)."""
        return int(self.array.shape[0]) if self.array.ndim == 4 else 1

    @property
    def is_multichannel(self) -> bool:
        """True when ``array`` has a leading channel axis."""
        return self.array.ndim == 4

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm³."""
        return float(np.prod(self.spacing))

    def channel(self, c: int) -> Volume:
        """Channel ``c`` as a 3D volume on the same grid (a view, not a copy)."""
        if not self.is_multichannel:
            if c != 0:
                raise IndexError(f"channel {c} of a single-channel volume")
            return self
        name = None if self.channel_names is None else self.channel_names[c]
        return replace(self, array=self.array[c], channel_names=None,
                       modality=name if name in ("CT", "MR", "PT") else self.modality)

    def with_array(self, array: np.ndarray, **changes: Any) -> Volume:
        """A new volume with ``array`` (same spatial shape) on this volume's grid."""
        array = np.asarray(array)
        if array.shape[-3:] != self.shape:
            raise ValueError(f"array shape {array.shape} does not fit grid {self.shape}")
        if array.ndim == 3 and "channel_names" not in changes:
            changes["channel_names"] = None
        return replace(self, array=array, **changes)

    # ------------------------------------------------------------- geometry
    @property
    def affine(self) -> np.ndarray:
        """4×4 matrix mapping homogeneous voxel index (i, j, k, 1) to LPS mm."""
        a = np.eye(4)
        a[:3, :3] = self.direction @ np.diag(self.spacing)
        a[:3, 3] = self.origin
        return a

    def index_to_world(self, ijk: Any) -> np.ndarray:
        """Map voxel indices (…, 3) in (i, j, k) order to LPS mm (…, 3). Fractions allowed."""
        ijk = np.asarray(ijk, dtype=float)
        m = self.direction @ np.diag(self.spacing)
        return ijk @ m.T + np.asarray(self.origin)

    def world_to_index(self, xyz: Any) -> np.ndarray:
        """Map LPS mm (…, 3) to continuous voxel indices (…, 3) in (i, j, k) order."""
        xyz = np.asarray(xyz, dtype=float)
        m = self.direction @ np.diag(self.spacing)
        return (xyz - np.asarray(self.origin)) @ np.linalg.inv(m).T

    def same_grid(self, other: Volume, atol_mm: float = 1e-3, atol_dir: float = 1e-4) -> bool:
        """True when both volumes share size, spacing, origin and direction."""
        from tumorseg.io.grid import grid_differences

        return not grid_differences(self, other, atol_mm=atol_mm, atol_dir=atol_dir)

    # ------------------------------------------------------------ SimpleITK
    def to_sitk(self) -> sitk.Image:
        """This volume as a SimpleITK image (a 4D image for a multi-channel volume)."""
        if self.is_multichannel:
            images = [self.channel(c).to_sitk() for c in range(self.n_channels)]
            return sitk.JoinSeries(images)
        arr = self.array
        if arr.dtype == bool:
            arr = arr.astype(np.uint8)
        image = sitk.GetImageFromArray(np.ascontiguousarray(arr.transpose(2, 1, 0)))
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(tuple(float(v) for v in self.direction.reshape(-1)))
        return image

    @classmethod
    def from_sitk(
        cls, image: sitk.Image, modality: str = "unknown", source: str | None = None
    ) -> Volume:
        """Make a volume from a 3D SimpleITK image (scalar or vector pixels) or a 4D one.

        A 4D image's fourth axis and a vector image's components become channels.
        """
        dim = image.GetDimension()
        if dim == 4:
            size = image.GetSize()
            extractor = sitk.ExtractImageFilter()
            extractor.SetSize([size[0], size[1], size[2], 0])
            channels = []
            for t in range(size[3]):
                extractor.SetIndex([0, 0, 0, t])
                channels.append(extractor.Execute(image))
            first = cls.from_sitk(channels[0], modality, source)
            stacked = np.stack([sitk.GetArrayViewFromImage(c).transpose(2, 1, 0)
                                for c in channels])
            return first.with_array(np.ascontiguousarray(stacked))
        if dim != 3:
            raise ValueError(f"expected a 3D image, got {dim}D")
        arr = sitk.GetArrayFromImage(image)  # (k, j, i) or (k, j, i, c)
        if image.GetNumberOfComponentsPerPixel() > 1:
            arr = arr.transpose(3, 2, 1, 0)
        else:
            arr = arr.transpose(2, 1, 0)
        return cls(
            array=np.ascontiguousarray(arr),
            spacing=image.GetSpacing(),
            origin=image.GetOrigin(),
            direction=np.asarray(image.GetDirection()).reshape(3, 3),
            modality=modality,
            source=source,
        )

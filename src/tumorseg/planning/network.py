"""The network part of a plan: a MONAI DynUNet (or plain MONAI UNet) described as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch and MONAI are imported only when a network is built
    import torch

__all__ = ["ARCHITECTURES", "NetworkConfig"]

#: Network classes a plan can name: "dynunet" (nnU-Net's 3D U-Net, the default) or "unet"
#: (``monai.networks.nets.UNet`` with two residual units per stage, no deep supervision; the
#: plain-MONAI comparison of the benchmarks).
ARCHITECTURES = ("dynunet", "unet")


@dataclass(frozen=True)
class NetworkConfig:
    """A :class:`monai.networks.nets.DynUNet` (nnU-Net's plain 3D U-Net) as JSON-able data.

    Attributes:
        in_channels: input channels (one per dataset channel).
        out_channels: output classes, background included.
        kernel_sizes: per stage, convolution kernel along i, j, k.
        strides: per stage, stride of its first convolution (stage 0: ``[1, 1, 1]``).
        features: feature maps per stage (base × 2**stage, capped).
        deep_supervision: extra outputs from lower decoder stages during training.
        deep_supr_num: number of those extra outputs (DynUNet: < stages - 1).
        norm: normalisation layer ("instance": affine instance norm, as nnU-Net).
        res_block: residual blocks instead of plain double convolutions.
        architecture: one of :data:`ARCHITECTURES`. "unet" uses ``features`` and the
            strides of stages 1… (its convolutions are 3×3×3, ``kernel_sizes`` is ignored) and
            trains without deep supervision.
    """

    in_channels: int
    out_channels: int
    kernel_sizes: tuple[tuple[int, int, int], ...]
    strides: tuple[tuple[int, int, int], ...]
    features: tuple[int, ...]
    deep_supervision: bool = True
    deep_supr_num: int = 1
    norm: str = "instance"
    res_block: bool = False
    architecture: str = "dynunet"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.architecture!r}")

    @property
    def class_name(self) -> str:
        """The MONAI class this config builds: "DynUNet" or "UNet"."""
        return "UNet" if self.architecture == "unet" else "DynUNet"

    @property
    def upsample_kernel_sizes(self) -> tuple[tuple[int, int, int], ...]:
        """Transposed-convolution kernels, one per decoder stage (= ``strides[1:]``)."""
        return self.strides[1:]

    def dynunet_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``monai.networks.nets.DynUNet(**kwargs)``."""
        return {
            "spatial_dims": 3,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": [list(k) for k in self.kernel_sizes],
            "strides": [list(s) for s in self.strides],
            "upsample_kernel_size": [list(s) for s in self.upsample_kernel_sizes],
            "filters": list(self.features),
            "norm_name": (self.norm.upper(), {"affine": True}),
            "deep_supervision": self.deep_supervision,
            "deep_supr_num": max(self.deep_supr_num, 1),
            "res_block": self.res_block,
        }

    def unet_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``monai.networks.nets.UNet(**kwargs)``."""
        return {
            "spatial_dims": 3,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "channels": list(self.features),
            "strides": [list(s) for s in self.strides[1:]],
            "num_res_units": 2,
            "norm": (self.norm.upper(), {"affine": True}),
        }

    def build(self) -> torch.nn.Module:
        """Instantiate the plain MONAI network (imports MONAI)."""
        from monai.networks.nets import DynUNet, UNet

        if self.architecture == "unet":
            return UNet(**self.unet_kwargs())
        return DynUNet(**self.dynunet_kwargs())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["kernel_sizes"] = [list(k) for k in self.kernel_sizes]
        d["strides"] = [list(s) for s in self.strides]
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["kernel_sizes"] = tuple(tuple(k) for k in d["kernel_sizes"])
        d["strides"] = tuple(tuple(s) for s in d["strides"])
        d["features"] = tuple(d["features"])
        return cls(**d)

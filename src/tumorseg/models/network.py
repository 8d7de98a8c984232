"""The segmentation network: MONAI's DynUNet (nnU-Net's 3D U-Net) built from a plan.

:func:`build_network` returns a :class:`SegmentationUNet`, a DynUNet whose forward pass is:

* ``eval()`` mode (inference, validation): logits ``[b, classes, i, j, k]`` at the input size;
* ``train()`` mode with deep supervision: a list of logits, full resolution first, then one
  per lower decoder stage at *its own* resolution (``[b, classes, i/2, j/2, k/2]``, … following
  the plan's strides). MONAI's DynUNet instead upsamples every lower output to full size;
  keeping them small is nnU-Net's way (labels are downsampled instead) and saves memory.

The parameters (and so ``state_dict()`` keys) are exactly DynUNet's, so weights load into a
plain ``monai.networks.nets.DynUNet`` built from the same :class:`NetworkConfig` too.

A plan whose ``network.architecture`` is "unet" gets a :class:`PlainUNet` instead: MONAI's
``UNet`` (residual units, no deep supervision; logits at the input size in both modes), the
baseline the benchmarks compare the DynUNet with.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from monai.networks.nets import DynUNet, UNet

from tumorseg.planning import NetworkConfig, Plan

__all__ = ["PlainUNet", "SegmentationUNet", "build_network", "network_config"]


def _single_cpu_patch(x: torch.Tensor) -> bool:
    """True for one CPU patch at inference, which the networks run as a batch of two.

    PyTorch sends batch-1 ``conv3d`` with few channels to its slow im2col kernel
    (``slow_conv3d``) and batch ≥ 2 to oneDNN, which is ~6× faster per patch here even after
    doing the work twice (60 ms vs 10 ms for an 8→8 conv on 48×48×40).
    """
    return x.shape[0] == 1 and x.device.type == "cpu" and not torch.is_grad_enabled()


class SegmentationUNet(DynUNet):
    """DynUNet returning native-resolution deep-supervision outputs in training mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:  # type: ignore[override]
        """Logits for ``x`` ``[b, c_in, i, j, k]`` (see the module docstring for the shapes);
        a single CPU patch runs as a batch of two (:func:`_single_cpu_patch`)."""
        if _single_cpu_patch(x):
            return self.forward(torch.cat([x, x]))[:1]  # type: ignore[index]
        out = self.output_block(self.skip_layers(x))
        if self.training and self.deep_supervision:
            return [out, *list(self.heads)]
        return out


class PlainUNet(UNet):
    """MONAI's ``UNet``: logits ``[b, classes, i, j, k]`` at the input size in every mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Logits for ``x`` ``[b, c_in, i, j, k]``; a single CPU patch runs as a batch of two."""
        if _single_cpu_patch(x):
            return super().forward(torch.cat([x, x]))[:1]
        return super().forward(x)


def network_config(config: Plan | NetworkConfig, in_channels: int | None = None,
                   out_channels: int | None = None, res_block: bool | None = None
                   ) -> NetworkConfig:
    """The :class:`NetworkConfig` of ``config`` with optional overrides applied."""
    net = config.network if isinstance(config, Plan) else config
    changes: dict[str, object] = {}
    if in_channels is not None:
        changes["in_channels"] = int(in_channels)
    if out_channels is not None:
        changes["out_channels"] = int(out_channels)
    if res_block is not None:
        changes["res_block"] = bool(res_block)
    return replace(net, **changes) if changes else net  # type: ignore[arg-type]


def build_network(config: Plan | NetworkConfig, in_channels: int | None = None,
                  out_channels: int | None = None, res_block: bool | None = None
                  ) -> SegmentationUNet | PlainUNet:
    """Build the 3D U-Net a plan (or a :class:`NetworkConfig`) describes.

    Args:
        config: a :class:`~tumorseg.planning.Plan` (its ``network``) or a NetworkConfig:
            kernel sizes and strides per stage, features, deep supervision, residual blocks.
        in_channels: input channels; None keeps the config's (one per dataset channel).
        out_channels: output classes with background; None keeps the config's.
        res_block: residual blocks instead of plain double convolutions; None keeps the config's.

    Returns:
        A freshly initialised :class:`SegmentationUNet` (or :class:`PlainUNet` when the
        config's ``architecture`` is "unet") on the CPU, in training mode.

    Example:
        >>> net = build_network(Plan.load("models/abdomen/plan.json"))  # doctest: +SKIP
        >>> net.eval()(torch.zeros(1, 1, 128, 128, 48)).shape            # doctest: +SKIP
        torch.Size([1, 2, 128, 128, 48])
    """
    net = network_config(config, in_channels, out_channels, res_block)
    if net.architecture == "unet":
        return PlainUNet(**net.unet_kwargs())
    return SegmentationUNet(**net.dynunet_kwargs())

"""build_network: DynUNet from a plan, native-resolution deep supervision, DynUNet weights;
the plain MONAI UNet a plan can name instead."""

from __future__ import annotations

import pytest
import torch
from monai.networks.blocks.dynunet_block import UnetResBlock
from monai.networks.nets import DynUNet, UNet

from tumorseg.models import PlainUNet, SegmentationUNet, build_network
from tumorseg.planning import NetworkConfig

DEEP = NetworkConfig(in_channels=2, out_channels=3, kernel_sizes=((3, 3, 3),) * 4,
                     strides=((1, 1, 1), (2, 2, 2), (2, 2, 2), (2, 2, 1)),
                     features=(4, 8, 16, 32), deep_supervision=True, deep_supr_num=2)


def test_eval_output_is_full_resolution_logits(plan_and_dataset):
    plan, _ = plan_and_dataset
    net = build_network(plan).eval()
    x = torch.randn(1, 1, *plan.patch_size)
    with torch.inference_mode():
        assert net(x).shape == (1, plan.num_classes, *plan.patch_size)


def test_training_outputs_keep_their_own_resolution():
    net = build_network(DEEP).train()
    outs = net(torch.randn(2, 2, 16, 16, 8))
    assert [tuple(o.shape) for o in outs] == [(2, 3, 16, 16, 8), (2, 3, 8, 8, 4), (2, 3, 4, 4, 2)]


def test_weights_are_plain_dynunet_weights():
    torch.manual_seed(0)
    ours = build_network(DEEP).eval()
    plain = DynUNet(**DEEP.dynunet_kwargs()).eval()
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(1, 2, 16, 16, 8)
    with torch.inference_mode():
        # batch 1 on the CPU runs through oneDNN in ours (duplicated batch), im2col in plain
        assert torch.allclose(ours(x), plain(x), atol=1e-5, rtol=1e-4)
        assert torch.allclose(ours(torch.cat([x, -x]))[:1], ours(x), atol=1e-5, rtol=1e-4)


def test_overrides():
    net = build_network(DEEP, in_channels=4, out_channels=5, res_block=True)
    assert isinstance(net, SegmentationUNet) and net.in_channels == 4
    assert net.out_channels == 5 and isinstance(net.input_block, UnetResBlock)


def test_plain_unet_plan_builds_monai_unet_without_deep_supervision():
    config = NetworkConfig.from_dict(
        DEEP.to_dict() | {"architecture": "unet", "deep_supervision": False})
    assert config.architecture == "unet"
    torch.manual_seed(0)
    net = build_network(config).train()
    assert isinstance(net, PlainUNet)
    out = net(torch.randn(2, 2, 16, 16, 8))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 16, 16, 8)
    plain = UNet(**config.unet_kwargs()).eval()
    plain.load_state_dict(net.state_dict())
    net.eval()
    x = torch.randn(1, 2, 16, 16, 8)
    with torch.inference_mode():
        assert torch.allclose(net(x), plain(x), atol=1e-5, rtol=1e-4)
    assert not isinstance(build_network(DEEP), PlainUNet)  # old plans: DynUNet


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="architecture"):
        NetworkConfig.from_dict(DEEP.to_dict() | {"architecture": "vnet"})

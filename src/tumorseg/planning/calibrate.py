"""Measure the memory of one DynUNet training step, to calibrate :mod:`tumorseg.planning.memory`.

Run ``python -m tumorseg.planning.calibrate --device cuda`` (or ``cpu``): for a few cubic
patches it builds the network a plan would use, runs forward + Dice/cross-entropy loss on every
deep-supervision output + backward + an SGD step (mixed precision on CUDA), and prints one JSON
line per patch with the measured peak and the model's estimate. On CPU each measurement runs in
a fresh process (peak resident memory minus the resident memory after importing torch).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence

import numpy as np

from tumorseg.planning.memory import memory_model
from tumorseg.planning.network import NetworkConfig
from tumorseg.planning.topology import feature_map_elements, parameter_count, pool_and_conv_props

__all__ = ["measure_step_gb", "network_for"]


def network_for(patch: Sequence[int], spacing: Sequence[float] = (1.0, 1.0, 1.0),
                in_channels: int = 1, num_classes: int = 2, base: int = 32,
                max_features: int = 320) -> tuple[NetworkConfig, tuple[int, int, int]]:
    """The network and padded patch size the planner's rules give for ``patch``."""
    topo = pool_and_conv_props(spacing, patch)
    n = topo.num_stages
    net = NetworkConfig(in_channels, num_classes, topo.kernel_sizes, topo.strides,
                        tuple(min(base * 2 ** s, max_features) for s in range(n)),
                        deep_supervision=True, deep_supr_num=max(n - 2, 1))
    return net, topo.patch_size


def _rss_gb() -> float:
    import resource  # Unix only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def measure_step_gb(net: NetworkConfig, patch: Sequence[int], batch: int,
                    device: str = "cpu") -> float:
    """Peak memory (GB, 1e9 bytes) of one training step, in this process.

    On CUDA: ``torch.cuda.max_memory_reserved`` (what the caching allocator took). On CPU:
    peak resident memory of the process minus its resident memory before the step.
    """
    import torch
    import torch.nn.functional as F

    before = _rss_gb()
    model = net.build().to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.99, nesterov=True)
    x = torch.randn(batch, net.in_channels, *patch, device=device)
    y = torch.randint(0, net.out_channels, (batch, *patch), device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device, dtype=torch.float16, enabled=device == "cuda"):
            out = model(x)
            outs = out.unbind(1) if out.ndim == 6 else (out,)
            loss = 0
            for o in outs:
                o = o.float()
                prob = o.softmax(1)
                onehot = F.one_hot(y, net.out_channels).movedim(-1, 1).float()
                inter = (prob * onehot).sum((2, 3, 4))
                dice = 1 - (2 * inter + 1e-5) / (prob.sum((2, 3, 4)) + onehot.sum((2, 3, 4)) + 1e-5)
                loss = loss + F.cross_entropy(o, y) + dice.mean()
        loss.backward()
        opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_reserved() / 1e9
    return (_rss_gb() - before) * 1024**3 / 1e9


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--sizes", default="32,48,64,96")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # child process: measure one patch on the CPU
        import torch  # noqa: F401  (count its import outside the measurement)

        size, batch = (int(v) for v in args.one.split(":"))
        net, patch = network_for((size,) * 3)
        print(measure_step_gb(net, patch, batch, "cpu"))
        return
    model = memory_model(args.device)
    for size in (int(s) for s in args.sizes.split(",")):
        net, patch = network_for((size,) * 3)
        if args.device == "cpu":
            res = subprocess.run([sys.executable, "-m", "tumorseg.planning.calibrate",
                                  "--one", f"{size}:{args.batch}"],
                                 capture_output=True, text=True, check=True)
            measured = float(res.stdout.strip().splitlines()[-1])
        else:
            measured = measure_step_gb(net, patch, args.batch, "cuda")
        elements = feature_map_elements(patch, net.strides, net.features, net.out_channels,
                                        True, net.deep_supr_num)
        params = parameter_count(net.in_channels, net.out_channels, net.kernel_sizes,
                                 net.strides, net.features)
        print(json.dumps({
            "device": args.device, "patch": list(patch), "batch": args.batch,
            "stages": len(net.strides), "elements_per_sample": elements, "params": params,
            "measured_gb": round(measured, 3),
            "estimated_gb": round(model.estimate_gb(elements, params, args.batch), 3),
            "bytes_per_element_fit": round(
                float(np.float64(measured * 1e9 - model.fixed_gb * 1e9
                                 - params * model.bytes_per_parameter)
                      / (elements * args.batch)), 2),
        }), flush=True)


if __name__ == "__main__":
    _main()

"""Sliding-window prediction with Gaussian weighting, mirroring and a fold ensemble.

:func:`sliding_window_probabilities` is a pure function of a preprocessed array and a list
of networks: MONAI's :func:`~monai.inferers.sliding_window_inference` moves a window of
``patch_size`` voxels over the image with ``overlap`` (nnU-Net: 50 %), and every window is
passed to :class:`EnsembleWindow`, which returns the **mean softmax** over every network
(fold) and every mirrored copy of the window (test-time augmentation: all
``2 ** len(mirror_axes)`` flip combinations, 8 in 3D, each flipped back before averaging).
Windows are blended with a Gaussian importance map (σ = patch / 8), so window borders
count less. Because blending is linear, the result equals the mean of the members'
individually stitched probabilities.

Memory: windows run on ``device`` (CPU or CUDA, AMP float16 on CUDA); the stitched output
and its weight map live on ``output_device`` (CPU by default on the CPU; on CUDA the GPU
when they take less than a quarter of its free memory, else the CPU), in float32 or, with
``half_precision_output``, float16 — ``(n_classes + 1) × voxels × 4`` bytes in float32.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np
import torch

__all__ = [
    "EnsembleWindow",
    "WindowProgress",
    "choose_output_device",
    "count_windows",
    "mirror_combinations",
    "sliding_window_probabilities",
]

#: ``progress(done, total)``: windows finished so far and in all (called after each batch).
WindowProgress = Callable[[int, int], None]


def count_windows(shape: Sequence[int], patch_size: Sequence[int], overlap: float) -> int:
    """How many windows :func:`sliding_window_probabilities` runs over an image of spatial
    ``shape``: MONAI's scan (interval ``int(patch × (1 − overlap))``, at least 1; one window
    along an axis no longer than the patch; the last window flush with the far edge)."""
    total = 1
    for size, roi in zip(shape, patch_size, strict=True):
        size = max(int(size), int(roi))
        if size == roi:
            continue
        interval = max(int(roi * (1 - overlap)), 1)
        n = math.ceil(size / interval)
        total *= next((d + 1 for d in range(n) if d * interval + roi >= size), 1)
    return total


def mirror_combinations(axes: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Every subset of the spatial ``axes`` (0 = i, 1 = j, 2 = k), the empty one first.

    Example:
        >>> len(mirror_combinations((0, 1, 2))), mirror_combinations((2,))
        (8, ((), (2,)))
    """
    axes = tuple(sorted(set(int(a) for a in axes)))
    if any(a not in (0, 1, 2) for a in axes):
        raise ValueError(f"mirror axes must be among 0, 1, 2, got {axes}")
    return tuple(c for r in range(len(axes) + 1) for c in itertools.combinations(axes, r))


class EnsembleWindow:
    """Mean softmax of several networks over the mirrored copies of a window batch.

    Called by MONAI with a batch ``x`` of shape [b, c, *patch]; returns float32
    [b, n_classes, *patch] on the same device. Networks must be in eval mode and return
    logits [b, n_classes, *patch] (a list or tuple: its first element is used).

    Args:
        networks: one or more networks (e.g. one per fold), on the device of ``x``.
        mirror_axes: spatial axes to mirror; ``()`` disables test-time augmentation.
        amp: run the networks under CUDA autocast (float16).
        on_windows: called with the number of windows after each call (progress).
    """

    def __init__(self, networks: Sequence[torch.nn.Module], mirror_axes: Sequence[int] = (0, 1, 2),
                 amp: bool = False, on_windows: Callable[[int], None] | None = None) -> None:
        if not networks:
            raise ValueError("at least one network is needed")
        self.networks = list(networks)
        self.flips = mirror_combinations(mirror_axes)
        self.amp = amp
        self.on_windows = on_windows

    @property
    def n_members(self) -> int:
        """Predictions averaged per window: networks × flip combinations."""
        return len(self.networks) * len(self.flips)

    def _forward(self, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        ctx = (torch.autocast(device_type="cuda", dtype=torch.float16) if self.amp
               else nullcontext())
        with ctx:
            out = net(x)
        if isinstance(out, (list, tuple)):
            out = out[0]
        return torch.softmax(out.float(), dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        total: torch.Tensor | None = None
        for net in self.networks:
            for flip in self.flips:
                dims = [a + 2 for a in flip]
                p = self._forward(net, torch.flip(x, dims) if dims else x)
                if dims:
                    p = torch.flip(p, dims)
                total = p if total is None else total.add_(p)
        assert total is not None
        if self.on_windows is not None:
            self.on_windows(int(x.shape[0]))
        return total.div_(self.n_members)


def choose_output_device(device: torch.device, n_classes: int, shape: Sequence[int],
                         half: bool = False) -> torch.device:
    """Where to stitch: the GPU when the output and weight map take under a quarter of its
    free memory, else the CPU (always the CPU when ``device`` is the CPU)."""
    if device.type != "cuda":
        return torch.device("cpu")
    need = (n_classes + 1) * float(np.prod(shape)) * (2 if half else 4)
    free, _ = torch.cuda.mem_get_info(device)
    return device if need < 0.25 * free else torch.device("cpu")


def sliding_window_probabilities(
    networks: Sequence[torch.nn.Module],
    image: np.ndarray,
    patch_size: Sequence[int],
    overlap: float = 0.5,
    mirror_axes: Sequence[int] = (0, 1, 2),
    sw_batch_size: int = 1,
    device: str | torch.device = "cpu",
    output_device: str | torch.device | None = None,
    amp: bool | None = None,
    half_precision_output: bool = False,
    progress: WindowProgress | None = None,
) -> np.ndarray:
    """Mean softmax probabilities of ``networks`` over ``image`` by sliding window.

    Args:
        networks: eval-mode networks on ``device`` (one per fold); their outputs are averaged.
        image: preprocessed float array [c, i, j, k] (the networks' input channels).
        patch_size: window size in voxels (i, j, k), e.g. the plan's patch size; images
            smaller than it are padded with 0 and cropped back.
        overlap: fraction of the window shared by neighbours along each axis (0.5 = 50 %).
        mirror_axes: axes for mirroring test-time augmentation; ``()`` for none.
        sw_batch_size: windows per network call.
        device: where the networks run.
        output_device: where the stitched output is accumulated; None chooses
            (:func:`choose_output_device`).
        amp: float16 autocast; None = on for CUDA, off on the CPU.
        half_precision_output: accumulate in float16 (halves the output memory; the image
            is then handed to MONAI in float16 too, ~3 significant digits, and each window
            is computed in float32).
        progress: ``progress(done, total)`` after every batch of windows
            (:data:`WindowProgress`; ``total`` from :func:`count_windows`).

    Returns:
        float32 (float16 with ``half_precision_output``) numpy array [n_classes, i, j, k]
        whose values sum to 1 over the class axis.
    """
    device = torch.device(device)
    arr = np.asarray(image)
    if arr.ndim != 4:
        raise ValueError(f"image must be [c, i, j, k], got shape {arr.shape}")
    if len(patch_size) != 3:
        raise ValueError(f"patch_size needs 3 values, got {patch_size}")
    use_amp = device.type == "cuda" if amp is None else bool(amp and device.type == "cuda")
    on_windows = None
    if progress is not None:
        total = count_windows(arr.shape[1:], patch_size, overlap)
        done = 0

        def on_windows(n: int) -> None:
            nonlocal done
            done = min(done + n, total)
            progress(done, total)

        progress(0, total)
    window = EnsembleWindow(networks, mirror_axes, amp=use_amp, on_windows=on_windows)
    dtype = torch.float16 if half_precision_output else torch.float32
    inputs = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None].to(dtype)
    if output_device is None:
        out_dev = torch.device("cpu")
        n_cls = getattr(networks[0], "out_channels", None)
        if device.type == "cuda" and isinstance(n_cls, int):
            out_dev = choose_output_device(device, n_cls, arr.shape[1:], half_precision_output)
    else:
        out_dev = torch.device(output_device)
    if out_dev.type == "cuda":
        inputs = inputs.to(out_dev)
    from monai.inferers import sliding_window_inference

    with torch.inference_mode():
        out = sliding_window_inference(
            inputs, roi_size=tuple(int(p) for p in patch_size), sw_batch_size=sw_batch_size,
            predictor=window, overlap=overlap, mode="gaussian", sigma_scale=0.125,
            padding_mode="constant", cval=0.0, sw_device=device, device=out_dev,
        )
    assert isinstance(out, torch.Tensor)
    result = out[0].cpu()
    return result.numpy() if half_precision_output else result.float().numpy()


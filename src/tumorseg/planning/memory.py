"""Training-memory model: how many GB a DynUNet training step needs for a patch and batch.

``memory_gb = fixed_gb + parameters * bytes_per_parameter / 1e9
+ batch * feature_map_elements * bytes_per_element / 1e9``

``feature_map_elements`` counts the outputs of every convolution for one sample
(:func:`tumorseg.planning.topology.feature_map_elements`, nnU-Net's
``compute_conv_feature_map_size``); autograd keeps several tensors of that size per
convolution (convolution output, instance-norm output, activation) for the backward pass,
which ``bytes_per_element`` absorbs. ``bytes_per_parameter`` covers weights, gradients and
SGD momentum (fp32). The constants were measured with :mod:`tumorseg.planning.calibrate`
(one training step: forward, Dice + cross-entropy on every deep-supervision output,
backward, SGD step):

* CPU, fp32, peak resident memory (torch 2.13, MONAI 1.6, 2 threads, batch 2, 2 classes):

  ========  ======  ===========  ===========  =========  ===========
  patch     stages  elements/s   parameters   measured   model (GB)
  ========  ======  ===========  ===========  =========  ===========
  32³       4       7.2e6        5.6e6        0.49       0.52
  40³       4       1.4e7        5.6e6        0.70       0.69
  48³       4       2.4e7        5.6e6        1.05       0.95
  64³       5       5.8e7        1.65e7       1.78       1.98
  80³       5       1.14e8       1.65e7       3.13       3.37
  96³       5       1.97e8       1.65e7       4.88       5.44
  ========  ======  ===========  ===========  =========  ===========

  i.e. 11–16 bytes per element; :data:`CPU_MODEL` uses 12.5 (within ±12 % above).
* CUDA: no GPU was available when this was written, so :data:`CUDA_MODEL` takes nnU-Net's
  reference — 5.6e8 elements per sample fit 8 GB at batch 2 with fp16 autocast, i.e.
  8e9 / (2 × 5.6e8) ≈ 7.1 bytes per element, which includes cuDNN workspaces and allocator
  headroom — and adds the weights/gradients/momentum and ~0.5 GB of CUDA context on top,
  so it errs on the safe side. Re-measure with
  ``python -m tumorseg.planning.calibrate --device cuda`` and pass a
  :class:`MemoryModel` through ``PlannerConfig.memory`` to override.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CPU_MODEL", "CUDA_MODEL", "MemoryModel", "memory_model"]


@dataclass(frozen=True)
class MemoryModel:
    """Linear memory model of a training step (see the module docstring).

    Attributes:
        bytes_per_element: bytes per feature-map element per sample.
        bytes_per_parameter: bytes per network weight (weights, gradients, optimiser state).
        fixed_gb: constant part (CUDA context and workspaces, or the CPU runtime's buffers).
    """

    bytes_per_element: float
    bytes_per_parameter: float
    fixed_gb: float

    def estimate_gb(self, elements_per_sample: int, parameters: int, batch_size: int) -> float:
        """Estimated peak memory in GB (1e9 bytes)."""
        return (self.fixed_gb + parameters * self.bytes_per_parameter / 1e9
                + batch_size * elements_per_sample * self.bytes_per_element / 1e9)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemoryModel:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


#: Mixed-precision training on a GPU (nnU-Net's reference, see the module docstring).
CUDA_MODEL = MemoryModel(bytes_per_element=7.14, bytes_per_parameter=16.0, fixed_gb=0.5)
#: fp32 training on the CPU (calibrated, see the module docstring).
CPU_MODEL = MemoryModel(bytes_per_element=12.5, bytes_per_parameter=16.0, fixed_gb=0.25)


def memory_model(device: str) -> MemoryModel:
    """The default model for ``device`` ("cpu" or "cuda")."""
    return CUDA_MODEL if device == "cuda" else CPU_MODEL

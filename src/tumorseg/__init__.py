"""tumorseg: 3D tumor segmentation in CT, MRI and PET.

Sub-packages follow the data: ``io`` (volumes in and out) → ``phantoms`` (synthetic data)
→ ``baselines`` (classical segmenters) → ``metrics`` (evaluation) → ``cli``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tumorseg")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

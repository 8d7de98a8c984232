"""Shared test fixtures: tiny synthetic volumes, the optional real-data folder, and a real
Orthanc DICOMweb server (skipped when not installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tumorseg.io import Volume

#: Real public scans beside the project root (absent on an outside user's checkout).
REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


def require_real(name: str) -> Path:
    """Path of a file in the real-data folder, or skip the test with a reason."""
    path = REAL_DATA / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} (only in the development sandbox)")
    return path


def oblique_direction(seed: int = 0) -> np.ndarray:
    """A random proper rotation matrix (columns are the axis directions)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


@pytest.fixture
def oblique_volume() -> Volume:
    """A small anisotropic, oblique float32 volume with an off-centre origin."""
    rng = np.random.default_rng(42)
    arr = rng.normal(size=(13, 11, 7)).astype(np.float32) * 100
    return Volume(arr, spacing=(0.73, 1.21, 3.3), origin=(-120.5, 33.25, -402.0),
                  direction=oblique_direction(1), modality="CT")


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory) -> Iterator[str]:
    """DICOMweb URL of a fresh Orthanc on 127.0.0.1 (basic auth ``tests.pacs.orthanc.USER``/
    ``PASSWORD``), one per test module; skips when Orthanc is not installed."""
    from tests.pacs.orthanc import running_orthanc

    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as url:
        yield url

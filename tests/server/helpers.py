"""Tiny studies and fake models for the server tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from tests.io.dicom_factory import write_series
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import InteractiveModelSpec, default_network
from tumorseg.io import Volume, write_volume
from tumorseg.server import ServerConfig, create_app

SHAPE = (40, 36, 20)
LESION = (14, 16, 10)  # centre of the bright ball (voxel index)


class BallModel:
    """Predicts its positive guidance (a 4 mm ball) plus the prior, minus the negative
    guidance: a perfect 'segment the ball under the click' network."""

    def __init__(self, radius_mm: float = 4.0) -> None:
        self.spec = InteractiveModelSpec(
            spacing_mm=(1.0, 1.0, 1.0), patch_size=(24, 24, 24),
            guidance=GuidanceConfig(kind="ball", radius_mm=radius_mm),
            network=default_network(), version="fake-1")
        self.calls = 0

    def predict(self, roi_image, pos, neg, prior):
        self.calls += 1
        return np.maximum(pos, prior) * (neg < 0.5)


def phantom_array(shape=SHAPE, centre=LESION, radius=4) -> np.ndarray:
    """A CT-like block (40 HU, noise) with one bright ball (150 HU)."""
    rng = np.random.default_rng(0)
    arr = 40 + rng.normal(0, 5, size=shape)
    g = np.indices(shape)
    ball = sum((g[a] - centre[a]) ** 2 for a in range(3)) <= radius**2
    arr[ball] = 150
    return arr.astype(np.int16)


def make_data(root: Path) -> Path:
    """``root/data`` with ``ct.nii.gz`` (1 mm) and ``dicom/`` (the same pixels as a series)."""
    data = root / "data"
    arr = phantom_array()
    write_volume(Volume(arr, spacing=(1.0, 1.0, 1.0), origin=(-10.0, 20.0, -30.0),
                        modality="CT"), data / "ct.nii.gz")
    write_series(data / "dicom", (arr.astype(np.int32) + 1024).astype(np.uint16),
                 spacing=(1.0, 1.0, 1.0))
    return data


def make_client(tmp: Path, **config) -> TestClient:
    data = config.pop("data_dir", None) or make_data(tmp)
    cfg = ServerConfig(data_dir=data, state_dir=tmp / "state",
                       model=config.pop("model", None) or BallModel(), **config)
    return TestClient(create_app(cfg))


def study_id(client: TestClient, name: str) -> str:
    studies = client.get("/api/studies").json()
    return next(s["id"] for s in studies if s["name"] == name)

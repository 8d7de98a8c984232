"""``tumorseg serve`` as a real process: accept a lesion, kill -9, restart — the accepted mask
and the history are back."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nibabel as nib
import numpy as np
import pytest
import torch

from tests.server.helpers import LESION, make_data
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import (
    InteractiveModelSpec,
    default_network,
    save_interactive_weights,
)
from tumorseg.models import build_network


def tiny_model(folder: Path) -> Path:
    """A real interactive model folder with random weights (a small U-Net)."""
    torch.manual_seed(0)
    spec = InteractiveModelSpec(spacing_mm=(1.0, 1.0, 1.0), patch_size=(16, 16, 16),
                                guidance=GuidanceConfig(kind="ball", radius_mm=3.0),
                                network=default_network((4, 8, 8)))
    save_interactive_weights(folder, build_network(spec.network), spec)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data: Path, state: Path, model: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tumorseg.cli.main", "serve", "--data", str(data), "--state",
         str(state), "--port", str(port), "--model", str(model)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        text=True, encoding="utf-8", errors="replace")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
    proc.kill()
    raise AssertionError("server did not start in 60 s")


@pytest.mark.slow
def test_accepted_masks_and_history_survive_kill_9(tmp_path):
    data = make_data(tmp_path)
    model = tiny_model(tmp_path / "model")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    proc = start(data, tmp_path / "state", model, port)
    try:
        study = next(s for s in httpx.get(f"{url}/studies").json() if s["name"] == "ct.nii.gz")
        sid = httpx.post(f"{url}/sessions", json={"study_id": study["id"]}).json()["session_id"]
        for ijk in (LESION, (LESION[0] + 1, LESION[1], LESION[2])):
            r = httpx.post(f"{url}/sessions/{sid}/clicks", json={"ijk": list(ijk)}, timeout=30)
            assert r.status_code == 200, r.text
        state = httpx.post(f"{url}/sessions/{sid}/lesions/1/accept", timeout=30).json()
        voxels = state["lesions"][0]["voxels"]
        assert voxels >= 1 and state["lesions"][0]["accepted"]
        before = gzip.decompress(httpx.get(f"{url}/sessions/{sid}/mask.nii.gz").content)
        history = httpx.get(f"{url}/sessions/{sid}/history").json()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    proc = start(data, tmp_path / "state", model, port)
    try:
        again = httpx.post(f"{url}/sessions", json={"study_id": study["id"]}).json()
        assert again["session_id"] == sid and again["version"] == 3
        # volume = voxels × voxel volume in floating point: compare it approximately
        assert again["lesions"] == [{"id": 1, "volume_ml": pytest.approx(voxels / 1000.0),
                                     "accepted": True, "voxels": voxels}]
        after = gzip.decompress(httpx.get(f"{url}/sessions/{sid}/mask.nii.gz").content)
        a = np.asarray(nib.Nifti1Image.from_bytes(before).dataobj)
        b = np.asarray(nib.Nifti1Image.from_bytes(after).dataobj)
        np.testing.assert_array_equal(a, b)
        assert httpx.get(f"{url}/sessions/{sid}/history").json() == history
        assert [e["action"] for e in history] == ["click", "click", "accept"]
        assert history[0]["model_version"].startswith("model@")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

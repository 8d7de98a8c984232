"""Fixtures of the browser tests: the phantom study folder, the interactive model, ``tumorseg
serve`` on a free loopback port, chromium and a fresh page (module-scoped where costly: each
test module gets its own server)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cc3d
import numpy as np
import pytest
from scipy import ndimage

from tests.io.dicom_factory import write_series
from tests.processes import stop_process
from tests.web.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    GOOD_MODEL_DICE,
    PHANTOM_SEED,
    REPO,
    Api,
    free_port,
    require_browser,
)
from tumorseg.io import Volume, write_volume


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The phantom, its DICOM series and a flipped NIfTI copy in a data folder."""
    require_browser()
    from tumorseg.phantoms import make_case

    c = make_case("abdomen-ct", PHANTOM_SEED, size="small")
    ct: Volume = c.channels[0]
    assert np.allclose(ct.direction, np.eye(3))
    data = tmp_path_factory.mktemp("web") / "data"
    stored = np.clip(np.round(np.asarray(ct.array) + 1024), 0, 65535).astype(np.uint16)
    write_series(data / "ct_dicom", stored, spacing=ct.spacing, origin=ct.origin,
                 seed="h7-e2e")
    # same anatomy, i axis reversed: voxel i' = ni-1-i, same world positions
    ni = ct.shape[0]
    flipped = Volume(np.asarray(ct.array)[::-1].copy(), spacing=ct.spacing,
                     origin=(ct.origin[0] + (ni - 1) * ct.spacing[0], *ct.origin[1:]),
                     direction=np.diag([-1.0, 1.0, 1.0]), modality="CT")
    write_volume(flipped, data / "ct_flipped.nii.gz")
    label = np.asarray(c.label.array) > 0
    cc = cc3d.connected_components(label)
    sizes = np.bincount(cc.ravel())
    sizes[0] = 0
    lesion = cc == int(np.argmax(sizes))
    # the lesion's deepest voxel: surely inside it, away from its border
    depth = ndimage.distance_transform_edt(lesion, sampling=ct.spacing)
    centre = tuple(int(v) for v in np.unravel_index(int(np.argmax(depth)), lesion.shape))
    return {"data": data, "ct": ct, "lesion": lesion, "centre": centre, "cases_dir": c}


@pytest.fixture(scope="module")
def model_dir(case, tmp_path_factory) -> tuple[Path, bool]:
    """(model folder, good): the bundled interactive model, or a tiny stand-in trained here."""
    from tumorseg.errors import InputError
    from tumorseg.interactive.model import InteractiveModelSpec, resolve_interactive_model

    try:
        path = resolve_interactive_model(None)
        spec = InteractiveModelSpec.load(path)
        dice = float((spec.validation or {}).get("dice_after_1_click") or 0.0)
        return path, dice >= GOOD_MODEL_DICE
    except (InputError, AttributeError):
        pass
    import torch

    from tumorseg.interactive.guidance import GuidanceConfig
    from tumorseg.interactive.simulation import SimulationConfig
    from tumorseg.phantoms.dataset import write_case
    from tumorseg.training.interactive import InteractiveTrainingConfig, train_interactive

    root = tmp_path_factory.mktemp("tiny-model")
    write_case(case["cases_dir"], root / "data")
    config = InteractiveTrainingConfig(
        spacing_mm=(4.0, 4.0, 4.0), patch_size=(16, 16, 16), region_size=(24, 24, 24),
        features=(4, 8, 16), epochs=1, iterations_per_epoch=2, batch_size=2,
        max_val_regions=1, val_fraction=0.0, guidance=GuidanceConfig(kind="ball"),
        simulation=SimulationConfig(p_error_iterations=1.0, max_error_iterations=1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_interactive([root / "data"], root / "model", config, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return root / "model", False


@pytest.fixture(scope="module")
def server(case, model_dir, tmp_path_factory):
    """``tumorseg serve`` on a free loopback port; yields its :class:`Api`."""
    yield from serve(case, model_dir, tmp_path_factory)


def serve(case, model_dir, tmp_path_factory, *options: str):
    """Run ``tumorseg serve`` (with more ``options``) until the generator is closed; yields
    its :class:`Api` (the body of the ``server`` fixture, for modules that need options)."""
    port = free_port()
    state = tmp_path_factory.mktemp("state")
    log = open(state.parent / "serve.log", "w+")  # closed at teardown
    cmd = [sys.executable, "-c", "from tumorseg.cli.main import main; main()", "serve",
           "--port", str(port), "--data", str(case["data"]), "--state", str(state),
           "--model", str(model_dir[0]), "--torch-threads", "1", *options]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    api = Api(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while True:
        try:
            health = api.json("/api/health")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                proc.kill()
                pytest.fail(f"tumorseg serve did not start: {log.read()[-2000:]}")
            time.sleep(0.5)
    assert health["model"] is not None, health
    yield api
    stop_process(proc, timeout_s=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.base + "/")
    pg.wait_for_selector("body[data-ready='1']", timeout=60_000)
    yield pg
    context.close()
    assert not errors, errors

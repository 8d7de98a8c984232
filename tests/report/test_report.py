"""``tumorseg report``: self-contained HTML, every lesion shown, PNGs decode, JSON = measure."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from tests.measure.shapes import ellipsoid, volumes
from tumorseg.cli.main import main
from tumorseg.io import write_volume
from tumorseg.report import DISCLAIMER, find_chromium, html_to_png


@pytest.fixture
def case(tmp_path):
    """CT-like image with three lesions, a PET, an uncertainty map and a run manifest."""
    spacing, shape = (2.0, 2.0, 4.0), (48, 40, 20)
    rng = np.random.default_rng(0)
    body = ellipsoid(shape, spacing, (44.0, 36.0, 200.0))
    hu = np.where(body, 50, -1000) + rng.normal(0, 10, shape)
    lesions = [ellipsoid(shape, spacing, r, centre_mm=c) for r, c in (
        ((10.0, 6.0, 8.0), (-20.0, 0.0, 0.0)), ((5.0, 5.0, 5.0), (18.0, 10.0, 12.0)),
        ((4.0, 4.0, 4.0), (15.0, -15.0, -16.0)))]
    mask = np.zeros(shape, np.uint8)
    for m in lesions:
        mask[m] = 1
    hu[mask > 0] = 10
    image, mvol = volumes(mask, spacing, image=hu.astype(np.int16))
    files = {
        "image": write_volume(image, tmp_path / "ct.nii.gz"),
        "mask": write_volume(mvol, tmp_path / "pred.nii.gz"),
        "pet": write_volume(mvol.with_array(np.where(mask > 0, 8.0, 1.0).astype(np.float32)),
                            tmp_path / "pet.nii.gz"),
        "unc": write_volume(mvol.with_array((0.3 * mask).astype(np.float32)),
                            tmp_path / "unc.nii.gz"),
    }
    (tmp_path / "pred_run.json").write_text(json.dumps({
        "tool": "tumorseg predict", "tumorseg_version": "9.9.9",
        "model": {"dataset_name": "abdomen-ct-lesions-test", "folds": ["0"],
                  "weights_sha256": {"0": "ab" * 32}}}))
    return files


def test_report_is_self_contained_and_matches_measure(tmp_path, case, capsys):
    out = tmp_path / "rep" / "report.html"
    assert main(["report", str(case["image"]), str(case["mask"]), "--pet", str(case["pet"]),
                 "--uncertainty", str(case["unc"]), "-o", str(out)]) == 0
    html = out.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html)
    assert "<link" not in html and "<script" not in html
    assert DISCLAIMER in html and "abdomen-ct-lesions-test" in html  # model from the manifest
    for n in (1, 2, 3):
        assert f'id="lesion-{n}"' in html
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) == 3 + 2  # one per lesion, the MIP, the uncertainty
    for data in pngs:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.format == "PNG" and im.size[0] > 300
            assert np.asarray(im.convert("L")).std() > 5  # not a blank picture
    doc = json.loads(out.with_suffix(".json").read_text())
    measured = tmp_path / "m.csv"
    assert main(["measure", str(case["image"]), str(case["mask"]), "--pet", str(case["pet"]),
                 "--uncertainty", str(case["unc"]), "-o", str(measured)]) == 0
    assert doc["lesions"] == json.loads(measured.with_suffix(".json").read_text())["lesions"]
    assert out.with_suffix(".csv").read_text() == measured.read_text()
    assert [x["mean_uncertainty"] for x in doc["lesions"]] == pytest.approx([0.3] * 3)
    assert doc["model"]["tumorseg_version"] == "9.9.9"
    assert "SUVpeak: highest mean SUV" in html
    # without a PET the definitions leave the PET terms out
    plain = tmp_path / "plain" / "report.html"
    assert main(["report", str(case["image"]), str(case["mask"]), "-o", str(plain)]) == 0
    assert "SUVpeak" not in plain.read_text()
    # an image given as the uncertainty map is refused, before any figure is drawn
    capsys.readouterr()
    bad = tmp_path / "bad" / "report.html"
    assert main(["report", str(case["image"]), str(case["mask"]), "--uncertainty",
                 str(case["image"]), "-o", str(bad)]) == 2
    assert "--uncertainty takes a voxel uncertainty map in 0…1" in capsys.readouterr().err
    assert not bad.parent.exists()


def test_pdf_without_chromium_is_one_clear_line(tmp_path, case, capsys, monkeypatch):
    monkeypatch.setattr("tumorseg.report.find_chromium", lambda: None)
    out = tmp_path / "report.html"
    assert main(["report", str(case["image"]), str(case["mask"]), "-o", str(out),
                 "--pdf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs headless Chromium" in err[0]
    assert not out.exists()


@pytest.mark.slow
def test_browser_renders_a_non_blank_page(tmp_path, case):
    """Headless Chromium renders the report; the screenshot has content, not a blank page."""
    if find_chromium() is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)")
    out = tmp_path / "report.html"
    assert main(["report", str(case["image"]), str(case["mask"]), "--pet", str(case["pet"]),
                 "-o", str(out)]) == 0
    shot = html_to_png(out, tmp_path / "shot.png", 1280, 2400)
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.shape == (2400, 1280)
    assert pixels.std() > 20  # text, tables and dark figures, not one flat colour
    assert (pixels < 60).mean() > 0.05  # the black figure panels are there

"""``tumorseg segment``: prompts replayed through the session, mask on the image's own grid."""

from __future__ import annotations

import cc3d
import numpy as np
import pytest
import torch

from tests.conftest import oblique_direction
from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.cli.main import main
from tumorseg.cli.segment import parse_prompt
from tumorseg.errors import InputError
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import (
    InteractiveModelSpec,
    default_network,
    save_interactive_weights,
)
from tumorseg.io import Volume, read_volume, write_volume
from tumorseg.models import build_network


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained tiny guided network in a model folder (plumbing only, not accuracy)."""
    out = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    net = build_network(default_network((4, 8, 16)))
    spec = InteractiveModelSpec(spacing_mm=(2.0, 2.0, 2.0), patch_size=(16, 16, 16),
                                guidance=GuidanceConfig(kind="ball"),
                                network=default_network((4, 8, 16)))
    save_interactive_weights(out, net, spec)
    return out


@pytest.fixture
def image(tmp_path):
    arr = np.random.default_rng(0).normal(size=(40, 36, 12)).astype(np.float32)
    arr[10:16, 10:16, 4:8] += 5
    vol = Volume(arr, spacing=(1.0, 1.2, 3.0), origin=(5.0, -7.0, 30.0),
                 direction=oblique_direction(2), modality="CT")
    path = tmp_path / "img.nii.gz"
    write_volume(vol, path)
    return path


def test_parse_prompt():
    assert parse_prompt("1,2,3", 3, "--click") == ((1.0, 2.0, 3.0), None)
    assert parse_prompt(" 1, 2,3:4", 3, "--click") == ((1.0, 2.0, 3.0), 4)
    assert parse_prompt("0,0,0,5,5,5:2", 6, "--box")[1] == 2
    for bad in ("1,2", "1,2,3:x", "1,2,3:0", "a,b,c"):
        with pytest.raises(InputError):
            parse_prompt(bad, 3, "--click")


def test_segment_two_lesions_writes_mask_on_image_grid(image, tiny_model, tmp_path, capsys):
    out = tmp_path / "mask.nii.gz"
    rc = main(["segment", str(image), "--click", "12,12,5", "--click", "30,28,8:2",
               "--negative", "20,20,5", "--model", str(tiny_model), "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    mask, src = read_volume(out), read_volume(image)
    assert mask.shape == src.shape
    np.testing.assert_allclose(mask.direction, src.direction, atol=1e-6)
    np.testing.assert_allclose(mask.origin, src.origin, atol=1e-4)
    arr = mask.array
    # the negative click belongs to lesion 1 (the untrained network may give it to lesion 2)
    assert arr[12, 12, 5] == 1 and arr[30, 28, 8] == 2 and arr[20, 20, 5] != 1
    assert "prompt(s)" in capsys.readouterr().out


def test_segment_mm_coordinates_hit_the_same_voxel(image, tiny_model, tmp_path):
    src = read_volume(image)
    x, y, z = src.index_to_world((12, 12, 5))
    out = tmp_path / "mm.nii.gz"
    assert main(["segment", str(image), "--click", f"{x},{y},{z}", "--coords", "mm",
                 "--model", str(tiny_model), "-o", str(out)]) == 0
    assert read_volume(out).array[12, 12, 5] == 1


def test_segment_errors_are_one_line(image, tiny_model, tmp_path, capsys):
    out = tmp_path / "m.nii.gz"
    assert main(["segment", str(image), "--model", str(tiny_model), "-o", str(out)]) == 2
    assert main(["segment", str(image), "--click", "99,0,0", "--model", str(tiny_model),
                 "-o", str(out)]) == 2
    assert main(["segment", str(image), "--click", "1,1,1", "--model", str(tmp_path),
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "outside" in err and "model.json" in err
    assert not out.exists()


def test_prior_file_clicks_go_to_the_lesion_under_them(image, tiny_model, tmp_path):
    src = read_volume(image)
    prior = np.zeros(src.shape, np.uint8)
    prior[2:5, 2:5, 1:3] = 1        # lesion 1 of the prior
    prior[30:34, 28:32, 8:10] = 1   # lesion 2 of the prior
    prior_path = tmp_path / "prior.nii.gz"
    write_volume(src.with_array(prior, modality="SEG"), prior_path)
    out = tmp_path / "p.nii.gz"
    assert main(["segment", str(image), "--prior", str(prior_path), "--click", "31,29,8",
                 "--click", "12,12,5", "--model", str(tiny_model), "-o", str(out)]) == 0
    arr = read_volume(out).array
    assert arr[31, 29, 8] == 2          # refined the prior lesion it fell on
    assert arr[12, 12, 5] == 3          # a missed lesion: a new one
    assert (arr[2:5, 2:5, 1:3] == 1).all()  # far from every click: untouched
    # the same prior saved flipped (another axis order and sign): the same result
    from tests.io.test_flipped_inputs import flipped

    flip_path = write_volume(flipped(src.with_array(prior, modality="SEG")),
                             tmp_path / "prior_flipped.nii.gz")
    out2 = tmp_path / "p2.nii.gz"
    assert main(["segment", str(image), "--prior", str(flip_path), "--click", "31,29,8",
                 "--click", "12,12,5", "--model", str(tiny_model), "-o", str(out2)]) == 0
    np.testing.assert_array_equal(read_volume(out2).array, arr)


def test_refinement_option_overrides_the_model_folder(image, tiny_model, tmp_path, capsys):
    """The untrained network knows nothing; with --refinement random-walker the walker (70 %
    of the average) follows the bright box's edges, with none the network alone decides."""
    box = np.zeros(read_volume(image).shape, bool)
    box[10:16, 10:16, 4:8] = True
    masks = {}
    for how in ("none", "random-walker"):
        out = tmp_path / f"{how}.nii.gz"
        assert main(["segment", str(image), "--click", "12,12,5", "--refinement", how,
                     "--model", str(tiny_model), "-o", str(out)]) == 0
        masks[how] = read_volume(out).array == 1
    dice = {k: 2 * (m & box).sum() / (m.sum() + box.sum()) for k, m in masks.items()}
    print(dice)
    assert dice["random-walker"] > 0.55 and dice["random-walker"] > dice["none"] + 0.2
    capsys.readouterr()
    assert main(["segment", str(image), "--click", "12,12,5", "--refinement", "crf",
                 "--model", str(tiny_model), "-o", str(tmp_path / "x.nii.gz")]) == 2
    assert "--refinement must be one of" in capsys.readouterr().err


def test_prior_auto_keeps_the_automatic_lesions(tiny_model, tmp_path):
    """``--prior auto`` runs the bundled automatic model (with window progress) and a click
    away from its lesions adds one lesion without removing any (monotone prompts)."""
    from tumorseg.inference import Predictor
    from tumorseg.inference.registry import resolve_model
    from tumorseg.phantoms import make_case

    ct = make_case("abdomen-ct", seed=2, name="x", size="small").channels[0]
    image = write_volume(ct, tmp_path / "ct.nii.gz")
    auto = Predictor.from_model_dir(resolve_model(None), device="cpu", fast=True)
    found = np.asarray(auto.predict_volume(ct).labels.array) > 0
    assert found.sum() > 50  # the bundled model finds this phantom's lesion
    click = tuple(int(v) for v in np.argwhere(~found & (ct.array > 0))[0])
    out = tmp_path / "mask.nii.gz"
    assert main(["segment", str(image), "--prior", "auto", "--click",
                 ",".join(map(str, click)) + ":9", "--model", str(tiny_model),
                 "-o", str(out)]) == 0
    mask = read_volume(out).array
    assert np.all(mask[found] > 0)  # every voxel the automatic model found is kept
    n_auto = int(cc3d.connected_components(found, connectivity=26).max())
    assert mask[click] == n_auto + 1  # ":9" named a new lesion, after the automatic ones


def test_lesion_plan_with_and_without_a_prior():
    from tumorseg.cli.segment import _plan_lesions

    start = np.zeros((10, 10, 10), np.uint16)
    start[1:3, 1:3, 1:3] = 1
    start[6:8, 6:8, 6:8] = 2
    prompts = [("pos", None, (1, 1, 1), "a"),   # on prior lesion 1
               ("pos", None, (4, 4, 4), "b"),   # on nothing: one new lesion
               ("neg", None, (5, 5, 5), "c"),   # on nothing: the same new lesion
               ("pos", 2, (0, 9, 0), "d"),      # :2
               ("box", 7, ((0, 0, 8), (2, 2, 9)), "e")]  # :7

    def groups(plan):
        return {k: sum(len(v) for v in p.values()) for k, p in plan.items()}

    assert groups(_plan_lesions(prompts, np.zeros_like(start), False, False)) == {
        1: 3, 2: 1, 7: 1}
    # a prior file: ":2" is the file's lesion 2
    assert groups(_plan_lesions(prompts, start, True, False)) == {1: 1, 3: 2, 2: 1, 7: 1}
    # --prior auto: every ":L" is a new lesion after the automatic ones
    assert groups(_plan_lesions(prompts, start, True, True)) == {1: 1, 3: 2, 4: 1, 5: 1}

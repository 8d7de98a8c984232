"""Training the guided network: a tiny 2-epoch run, resume, the model folder it writes, and
the spatial augmentation of its patches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.torch_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from tumorseg.errors import InputError
from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import (
    InteractiveModel,
    InteractiveModelSpec,
    default_network,
    save_interactive_weights,
)
from tumorseg.interactive.randomize import RandomizationConfig
from tumorseg.interactive.simulation import SimulationConfig
from tumorseg.models import build_network
from tumorseg.phantoms import generate_dataset
from tumorseg.training.interactive import (
    InteractiveTrainingConfig,
    LesionRegion,
    _patch,
    _SampleStream,
    lesion_contrast,
    regions_from_case,
    train_interactive,
)


def _tiny_config(**kw) -> InteractiveTrainingConfig:
    base = dict(spacing_mm=(4.0, 4.0, 4.0), patch_size=(16, 16, 16), region_size=(24, 24, 24),
                features=(4, 8, 16), epochs=2, iterations_per_epoch=2, batch_size=2,
                max_val_regions=2, guidance=GuidanceConfig(kind="ball"),
                simulation=SimulationConfig(p_error_iterations=1.0, max_error_iterations=1))
    base.update(kw)
    return InteractiveTrainingConfig(**base)


@pytest.fixture(scope="module")
def brain_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "brain"
    generate_dataset("brain-mri", out, 2, seed=11, size="small")
    return out


def test_regions_cut_around_each_lesion():
    label = np.zeros((40, 40, 20), np.uint8)
    label[5:10, 5:10, 5:9] = 1
    label[30:36, 28:34, 10:16] = 2
    channels = np.random.default_rng(0).normal(size=(2, 40, 40, 20)).astype(np.float32)
    regions = regions_from_case("c", channels, label, (2.0, 2.0, 4.0), _tiny_config())
    assert len(regions) == 2
    for r in regions:
        assert r.channels.shape == (2, 24, 24, 24)
        # the lesion is centred: the region's central voxel belongs to it
        assert r.instances[12, 12, 12] == r.target
        # the contrast per channel is measured on the stored region (noise: low)
        assert len(r.contrast) == 2 and all(0.0 <= c < 1.0 for c in r.contrast)
        # (of the float32 region, before it is stored as float16)
        assert r.contrast[1] == pytest.approx(
            lesion_contrast(r.channels[1].astype(np.float32), r.instances == r.target), rel=0.02)


def test_two_epochs_write_a_loadable_model_and_resume(brain_dataset, tmp_path):
    out = tmp_path / "model"
    # the two-channel normalisation here; the CLI test below trains the default one
    result = train_interactive([brain_dataset], out,
                               _tiny_config(normalization="roi-zscore+local-window"),
                               device="cpu")
    assert result.epochs_completed == 2
    rows = (out / "training_log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,train_loss,val_dice_1click") and len(rows) == 3
    spec = json.loads((out / "model.json").read_text())
    assert spec["task"] == "interactive" and spec["patch_size"] == [16, 16, 16]
    assert spec["split"]["val"] and not set(spec["split"]["val"]) & set(spec["split"]["train"])
    assert spec["normalization"]["scheme"] == "roi-zscore+local-window"
    model = InteractiveModel.load(out)
    assert model.spec.network.in_channels == 5
    z = np.zeros((16, 16, 16), np.float32)
    prob = model.predict(model.image_channels(z), z, z, z)
    assert prob.shape == (16, 16, 16) and np.all((prob >= 0) & (prob <= 1))

    with pytest.raises(InputError, match="--resume"):
        train_interactive([brain_dataset], out, _tiny_config(), device="cpu")
    resumed = train_interactive([brain_dataset], out, _tiny_config(epochs=3), device="cpu",
                                resume=True)
    # the stored configuration wins on resume, except that the schedule may be extended
    assert resumed.start_epoch == 2 and resumed.epochs_completed == 3
    assert len((out / "training_log.csv").read_text().splitlines()) == 4


def test_stop_after_an_epoch_then_resume_on_a_shorter_schedule(brain_dataset, tmp_path):
    """The recipe of the bundled click model's first stage: stopped under one LR schedule,
    continued under a shorter one."""
    import csv

    from tumorseg.training.optim import poly_lr

    out = tmp_path / "model"
    first = train_interactive([brain_dataset], out, _tiny_config(epochs=6, learning_rate=1e-3),
                              device="cpu", stop_after_epoch=2)
    assert first.epochs_completed == 2
    second = train_interactive([brain_dataset], out, _tiny_config(epochs=3), device="cpu",
                               resume=True)
    assert second.start_epoch == 2 and second.epochs_completed == 3
    lrs = [float(r["lr"]) for r in csv.DictReader((out / "training_log.csv").open())]
    expected = [poly_lr(1e-3, 0, 6), poly_lr(1e-3, 1, 6), poly_lr(1e-3, 2, 3)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-5)
    assert lrs[2] < lrs[1]  # the shorter schedule decays faster from epoch 3 on


def test_corrupt_weights_are_refused(tmp_path):
    out = tmp_path / "model"
    cfg = _tiny_config()
    spec = InteractiveModelSpec(spacing_mm=cfg.spacing_mm, patch_size=cfg.patch_size,
                                guidance=cfg.guidance, network=default_network(cfg.features))
    save_interactive_weights(out, build_network(default_network(cfg.features)), spec)
    assert InteractiveModel.load(out).spec.patch_size == (16, 16, 16)
    weights = out / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(InputError, match="SHA-256"):
        InteractiveModel.load(out)


def test_cli_train_task_interactive(brain_dataset, tmp_path, capsys):
    from tumorseg.cli.main import main

    out = tmp_path / "cli_model"
    rc = main(["train", str(brain_dataset), "-o", str(out), "--task", "interactive",
               "--epochs", "1", "--iterations-per-epoch", "1", "--batch-size", "1",
               "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    assert (out / "weights.pt").is_file() and (out / "checkpoint_latest.pt").is_file()
    assert json.loads((out / "model.json").read_text())["task"] == "interactive"
    assert main(["train", str(brain_dataset), "-o", str(out), "--task", "nonsense"]) == 2


def test_predict_pads_odd_sizes(tmp_path):
    cfg = _tiny_config()
    spec = InteractiveModelSpec(spacing_mm=cfg.spacing_mm, patch_size=cfg.patch_size,
                                guidance=cfg.guidance, network=default_network(cfg.features))
    save_interactive_weights(tmp_path, build_network(default_network(cfg.features)), spec)
    model = InteractiveModel.load(tmp_path, threads=1)
    z = np.zeros((13, 17, 9), np.float32)
    prob = model.predict(model.image_channels(z), z, z, z)
    assert prob.shape == (13, 17, 9) and prob.dtype == np.float32
    with pytest.raises(ValueError, match="1 image channel"):
        model.predict(np.zeros((2, 13, 17, 9), np.float32), z, z, z)


def test_init_from_copies_weights_and_refuses_another_network(tmp_path):
    import torch

    from tumorseg.training.interactive import _load_initial_weights

    cfg = _tiny_config()
    spec = InteractiveModelSpec(spacing_mm=cfg.spacing_mm, patch_size=cfg.patch_size,
                                guidance=cfg.guidance, network=default_network(cfg.features))
    torch.manual_seed(1)
    source = build_network(default_network(cfg.features))
    save_interactive_weights(tmp_path, source, spec, half=False)
    torch.manual_seed(2)
    fresh = build_network(default_network(cfg.features))
    _load_initial_weights(fresh, _tiny_config(init_from=str(tmp_path)))
    for (k, a), b in zip(source.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    with pytest.raises(InputError, match="network differs"):
        _load_initial_weights(build_network(default_network((4, 8, 32))),
                              _tiny_config(features=(4, 8, 32), init_from=str(tmp_path)))


def _offset_lesion_region() -> LesionRegion:
    """A 16³ region (= the tiny patch) with an off-centre 4×3×2-voxel box lesion."""
    inst = np.zeros((16, 16, 16), np.uint16)
    inst[2:6, 3:6, 9:11] = 1
    return LesionRegion("c", (inst[None] * 50.0).astype(np.float16), inst,
                        inst.astype(np.uint8), 1)


def test_spatial_augmentation_mirrors_and_permutes_the_patch():
    region = _offset_lesion_region()
    plain = _patch(region, _tiny_config(), np.random.default_rng(0), True)[1]
    assert np.array_equal(plain, region.instances == 1)  # off: the region itself
    flipped = _patch(region, _tiny_config(p_flip=1.0), np.random.default_rng(0), True)[1]
    assert np.array_equal(flipped, np.flip(plain))
    seen = set()
    for seed in range(12):
        target = _patch(region, _tiny_config(p_transpose=1.0), np.random.default_rng(seed),
                        True)[1]
        lo, hi = np.argwhere(target).min(0), np.argwhere(target).max(0)
        seen.add(tuple(int(v) for v in hi - lo + 1))
        assert target.sum() == plain.sum()
    assert (4, 3, 2) in seen and len(seen) > 1  # the box's edges trade axes


def test_spatial_augmentation_zooms_the_lesion():
    inst = np.zeros((24, 24, 24), np.uint16)
    g = np.indices(inst.shape)
    inst[((g - 12) ** 2).sum(0) <= 16] = 1  # a ball of radius 4 voxels, in the middle
    region = LesionRegion("c", (inst[None] * 50.0).astype(np.float16), inst,
                          inst.astype(np.uint8), 1)
    def volume_ratios(scale_range):
        config = _tiny_config(p_scale=1.0, scale_range=scale_range)
        return [float(_patch(region, config, np.random.default_rng(s), True)[1].sum())
                / inst.sum() for s in range(8)]

    # zoomed out, the patch sees almost the whole region: the ball is never cut
    assert all(0.7**3 - 0.05 <= r <= 0.75**3 + 0.05 for r in volume_ratios((0.7, 0.75)))
    # zoomed in, a cut can only shrink it: more voxels than the ball has means magnified
    assert max(volume_ratios((1.3, 1.4))) > 1.5


def test_worker_processes_make_the_samples(brain_dataset, tmp_path):
    # the stream a worker draws is fixed by its seed words
    region = _offset_lesion_region()
    config = _tiny_config()
    a, b = (iter(_SampleStream([region], config, [0, 0, 0, 1])) for _ in range(2))
    for _ in range(3):
        x, y = next(a), next(b)
        np.testing.assert_array_equal(x.image, y.image)
        assert x.positive == y.positive
    other = next(iter(_SampleStream([region], config, [5, 0, 0, 1])))
    assert not np.array_equal(other.image, x.image)
    # a run whose samples come from a worker process trains and logs like one without
    result = train_interactive([brain_dataset], tmp_path / "m", _tiny_config(num_workers=1),
                               device="cpu")
    assert result.epochs_completed == 2 and np.isfinite(result.val_dice_1click)
    assert json.loads((tmp_path / "m" / "model.json").read_text())["training"]["num_workers"] == 1
    with pytest.raises(ValueError, match="num_workers"):
        _tiny_config(num_workers=-1)


def test_lesion_contrast_against_a_brute_force_shell():
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 1.0, (12, 12, 12))
    target = np.zeros(image.shape, bool)
    target[4:7, 5:8, 4:6] = True
    image[target] += 2.5
    # the shell: voxels at 6-connected (city-block) distance 1 or 2 from the target
    inside = np.argwhere(target)
    grid = np.indices(image.shape).reshape(3, -1).T
    dist = np.abs(grid[:, None, :] - inside[None]).sum(-1).min(1).reshape(image.shape)
    shell = (dist >= 1) & (dist <= 2)
    a, b = image[target], image[shell]
    expected = abs(a.mean() - b.mean()) / np.sqrt((a.var() + b.var()) / 2)
    assert lesion_contrast(image, target) == pytest.approx(expected, rel=1e-9)
    assert 1.5 < expected < 3.5
    assert lesion_contrast(image, np.zeros_like(target)) == 0.0


def test_min_contrast_trains_only_on_channels_that_show_the_lesion():
    inst = np.zeros((16, 16, 16), np.uint16)
    inst[5:10, 5:10, 5:10] = 1
    noise = np.random.default_rng(1).normal(0.0, 1.0, (2, *inst.shape))
    channels = noise + np.stack([inst * 6.0, inst * 0.0])  # channel 1: lesion invisible
    contrast = tuple(lesion_contrast(c, inst == 1) for c in channels)
    assert contrast[0] > 3.0 and contrast[1] < 0.5
    region = LesionRegion("c", channels.astype(np.float16), inst, inst.astype(np.uint8), 1,
                          contrast)
    assert region.visible_channels(0.0) == [0, 1]
    assert region.visible_channels(1.0) == [0]
    assert region.visible_channels(10.0) == []

    plain = RandomizationConfig(p_tissue=0, p_curve=0, p_invert=0, p_bias=0, p_noise=0,
                                p_blur=0, p_lowres=0)  # keeps each channel's contrast

    def channels_drawn(config):
        drawn = set()
        for seed in range(16):
            image = _patch(region, config, np.random.default_rng(seed), True)[0][0]
            # the lesion's voxels stand out only in channel 0 (the patch is the region)
            drawn.add(0 if lesion_contrast(image, inst == 1) > 2.0 else 1)
        return drawn

    assert channels_drawn(_tiny_config(randomization=plain)) == {0, 1}
    assert channels_drawn(_tiny_config(randomization=plain, min_contrast=1.0)) == {0}
    with pytest.raises(ValueError, match="min_contrast"):
        _tiny_config(min_contrast=-0.1)

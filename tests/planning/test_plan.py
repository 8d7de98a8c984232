"""make_plan: normalisation, patch/batch size within the budget, DynUNet, JSON round trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tumorseg.errors import InputError
from tumorseg.planning import (
    CaseFingerprint,
    DatasetInfo,
    Fingerprint,
    IntensityStats,
    Plan,
    PlannerConfig,
    compute_fingerprint,
    make_plan,
    read_dataset,
    scheme_for_channel,
)
from tumorseg.preprocessing import CropBox

STATS = IntensityStats(50.0, 20.0, 48.0, -90.0, 300.0, -20.0, 150.0, 1000)


def synthetic_fingerprint(spacing, shape, n=10, channels=("CT",)):
    """A fingerprint of ``n`` identical cases, without writing any file."""
    cases = tuple(CaseFingerprint(f"c{i}", spacing, shape, CropBox.full(shape), {0: 9, 1: 1})
                  for i in range(n))
    fp = Fingerprint("sim", channels, {"background": 0, "tumor": 1}, cases,
                     (STATS,) * len(channels))
    info = DatasetInfo(Path("sim"), "sim", channels, {"background": 0, "tumor": 1}, (), (),
                       ".nii.gz", "nnunet-v2")
    return fp, info


@pytest.fixture(scope="module")
def ct_plan_inputs(ct_dataset):
    info = read_dataset(ct_dataset)
    return compute_fingerprint(info, samples_per_case=500), info


def test_ct_normalisation_from_foreground(ct_plan_inputs):
    fp, info = ct_plan_inputs
    plan = make_plan(fp, info, 2.0, "cpu")
    (norm,) = plan.normalization
    s = fp.intensity[0]
    assert norm.scheme == "ct" and not norm.use_nonzero_mask
    assert (norm.clip_low, norm.clip_high) == (s.percentile_00_5, s.percentile_99_5)
    assert (norm.mean, norm.std) == (s.mean, s.std)


def test_channel_name_rules():
    assert scheme_for_channel("CT") == "ct" and scheme_for_channel("ct") == "ct"
    assert scheme_for_channel("T2") == "zscore" and scheme_for_channel("FLAIR") == "zscore"
    assert scheme_for_channel("PET") == "zscore" and scheme_for_channel("PT") == "zscore"
    assert scheme_for_channel("PET", PlannerConfig(pet_normalization="suv")) == "suv"
    assert scheme_for_channel("noNorm") == "none"
    assert scheme_for_channel("T1", PlannerConfig(channel_schemes={"T1": "none"})) == "none"
    with pytest.raises(ValueError, match="unknown scheme"):
        PlannerConfig(channel_schemes={"T1": "minmax"})


def test_pet_ct_plan(two_channel_dataset):
    info = read_dataset(two_channel_dataset)
    fp = compute_fingerprint(info, samples_per_case=200)
    plan = make_plan(fp, info, 2.0, "cpu", PlannerConfig(pet_normalization="suv"))
    assert [n.scheme for n in plan.normalization] == ["suv", "ct"]
    assert plan.network.in_channels == 2


def test_mr_uses_nonzero_mask_when_crop_shrinks(msd_v1_dataset):
    info = read_dataset(msd_v1_dataset)
    fp = compute_fingerprint(info, samples_per_case=200)
    assert fp.median_relative_size_after_crop < 0.75
    plan = make_plan(fp, info, 2.0, "cpu")
    assert all(n.scheme == "zscore" and n.use_nonzero_mask for n in plan.normalization)
    plan = make_plan(fp, info, 2.0, "cpu", PlannerConfig(use_nonzero_mask_for_norm=False))
    assert not any(n.use_nonzero_mask for n in plan.normalization)


@pytest.mark.parametrize("spacing, shape", [((0.8, 0.8, 2.5), (512, 512, 100)),
                                            ((1.0, 1.0, 1.0), (200, 180, 160))])
def test_patch_divisible_and_within_budget(spacing, shape):
    fp, info = synthetic_fingerprint(spacing, shape)
    previous = None
    for budget in (1.0, 2.0, 4.0, 8.0, 16.0):
        plan = make_plan(fp, info, budget, "cuda")
        for p, n in zip(plan.patch_size, plan.pools_per_axis, strict=True):
            assert p % 2**n == 0
        assert plan.batch_size >= 2
        assert plan.estimated_memory_gb <= budget
        assert plan.memory_budget_gb == budget
        if previous is not None:  # a bigger budget never gives a smaller patch
            assert all(a >= b for a, b in zip(plan.patch_size, previous, strict=True))
        previous = plan.patch_size
    assert np.prod(previous) > 64**3


def test_cpu_patch_capped_and_batch_covers_5_percent():
    fp, info = synthetic_fingerprint((1.0, 1.0, 1.0), (200, 200, 200), n=10)
    plan = make_plan(fp, info, 64.0, "cpu")
    assert np.prod(plan.patch_size) <= 96**3 and plan.batch_size == 2
    plan = make_plan(fp, info, 80.0, "cuda")  # plenty of memory, but 10 cases only
    assert plan.batch_size == 2
    fp, info = synthetic_fingerprint((1.0, 1.0, 1.0), (200, 200, 200), n=400)
    plan = make_plan(fp, info, 80.0, "cuda")
    cover = 0.05 * np.prod(plan.median_shape) * 400 / np.prod(plan.patch_size)
    assert 2 < plan.batch_size <= round(cover)  # the large budget buys more patches
    assert plan.estimated_memory_gb <= 80.0


def test_anisotropic_plan_uses_thin_axis_rule():
    cases = [CaseFingerprint(f"c{i}", (0.8, 0.8, z), (256, 256, 20), CropBox.full((256, 256, 20)),
                             {0: 9, 1: 1}) for i, z in enumerate([2.5, 3.0, 5.0, 5.0, 5.0])]
    fp = Fingerprint("sim", ("CT",), {"background": 0, "tumor": 1}, tuple(cases), (STATS,))
    _, info = synthetic_fingerprint((1, 1, 1), (8, 8, 8))
    plan = make_plan(fp, info, 4.0, "cuda")
    assert plan.anisotropic_axis == 2 and plan.target_spacing[2] == pytest.approx(2.7)
    assert plan.kernel_sizes[0] == (3, 3, 1)


def test_budget_too_small_is_an_input_error():
    fp, info = synthetic_fingerprint((1.0, 1.0, 1.0), (200, 200, 200))
    with pytest.raises(InputError, match=r"memory budget 0\.01 GB is too small"):
        make_plan(fp, info, 0.01, "cuda")


def test_ct_without_foreground_is_an_input_error():
    fp, info = synthetic_fingerprint((1.0, 1.0, 1.0), (64, 64, 64))
    empty = IntensityStats(None, None, None, None, None, None, None, 0)
    with pytest.raises(InputError, match="'CT' is CT but no label has foreground"):
        make_plan(replace(fp, intensity=(empty,)), info, 4.0, "cuda")


def test_plan_json_round_trip(ct_plan_inputs, tmp_path):
    fp, info = ct_plan_inputs
    plan = make_plan(fp, info, 2.0, "cpu", PlannerConfig(pet_normalization="suv"))
    path = plan.save(tmp_path / "plan.json")
    back = Plan.load(path)
    assert back == plan
    assert back.to_json() == plan.to_json()
    assert back.tumorseg_version and back.fingerprint_summary["num_cases"] == 3
    with pytest.raises(InputError, match="not a readable tumorseg plan"):
        Plan.load(tmp_path / "missing.json")


def test_dynunet_from_plan_runs(ct_plan_inputs):
    fp, info = ct_plan_inputs
    plan = make_plan(fp, info, 2.0, "cpu", PlannerConfig(base_features=4, max_features=16))
    assert plan.network.features[0] == 4 and max(plan.network.features) <= 16
    assert plan.network.deep_supervision
    net = plan.network.build()
    x = torch.randn(plan.batch_size, 1, *plan.patch_size)
    net.train()
    out = net(x)  # deep supervision: [batch, 1 + heads, classes, *patch]
    assert out.shape == (plan.batch_size, 1 + plan.network.deep_supr_num, 2, *plan.patch_size)
    net.eval()
    with torch.no_grad():
        assert net(x).shape == (plan.batch_size, 2, *plan.patch_size)


def test_fixed_target_spacing(ct_plan_inputs):
    fp, info = ct_plan_inputs
    plan = make_plan(fp, info, 2.0, "cpu", PlannerConfig(target_spacing=(1.0, 1.0, 1.0)))
    assert plan.target_spacing == (1.0, 1.0, 1.0) and "fixed" in plan.spacing_rule
    assert plan.kernel_sizes[0] == (3, 3, 3)


@pytest.mark.parametrize("module", ["tumorseg.planning", "tumorseg.preprocessing"])
def test_exported_members(module):
    import importlib

    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(set(mod.__all__))
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name

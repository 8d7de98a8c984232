"""Fixtures: tiny synthetic datasets written once per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.planning.synthetic import ANISO_SPECS, CaseSpec, write_v1, write_v2


@pytest.fixture(scope="module")
def ct_dataset(tmp_path_factory) -> Path:
    """nnU-Net v2, one CT channel, 3 anisotropic training cases and 1 test case."""
    root = tmp_path_factory.mktemp("ct_ds")
    specs = [*ANISO_SPECS, CaseSpec((36, 36, 12), (0.8, 0.8, 2.5))]
    return write_v2(root, specs, ("CT",), n_test=1)


@pytest.fixture(scope="module")
def two_channel_dataset(tmp_path_factory) -> Path:
    """nnU-Net v2, channels PET and CT."""
    root = tmp_path_factory.mktemp("pet_ct_ds")
    return write_v2(root, ANISO_SPECS[:2], ("PET", "CT"))


@pytest.fixture(scope="module")
def msd_v1_dataset(tmp_path_factory) -> Path:
    """MSD v1, two MR channels in one 4D file per case, isotropic 1 mm."""
    root = tmp_path_factory.mktemp("msd_v1")
    specs = [CaseSpec((30, 28, 26), (1.0, 1.0, 1.0)), CaseSpec((28, 30, 24), (1.0, 1.0, 1.2))]
    return write_v1(root, specs)

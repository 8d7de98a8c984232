"""Loading phases: files, one 4D NIfTI, DICOM series ordered by their tags; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from tests.fourd.dicom_phases import write_dicom_phase
from tests.fourd.synthetic import moving_tumor
from tumorseg.errors import InputError
from tumorseg.fourd import load_phases
from tumorseg.fourd.dicom_tags import parse_phase_percent
from tumorseg.io import Volume, write_volume

SHIFTS = [(0, 0, -2), (0, 0, 0), (0, 0, 2)]


@pytest.fixture(scope="module")
def phases() -> list[Volume]:
    vols, _ = moving_tumor(SHIFTS, seed=2)
    return vols


def test_file_list_and_4d_nifti_give_the_same_phases(tmp_path, phases):
    files = [write_volume(v, tmp_path / f"phase_{p:02d}.nii.gz") for p, v in enumerate(phases)]
    four_d = phases[0].with_array(np.stack([v.array for v in phases]))
    path4 = write_volume(four_d, tmp_path / "all.nii.gz")
    assert sitk.ReadImage(str(path4)).GetDimension() == 4
    a, b = load_phases(files), load_phases([path4])
    assert len(a) == len(b) == 3
    assert a.order_from == "given" and b.order_from == "4d-file"
    for x, y, v in zip(a.volumes, b.volumes, phases, strict=True):
        np.testing.assert_array_equal(x.array, v.array)
        np.testing.assert_array_equal(y.array, v.array)
        assert y.same_grid(v) and y.array.ndim == 3
    assert a.names[0] == "phase_00.nii.gz" and b.dicom_files is None


def test_single_phase_is_an_error(tmp_path, phases):
    path = write_volume(phases[0], tmp_path / "one.nii.gz")
    with pytest.raises(InputError, match=r"one.nii.gz: only one phase"):
        load_phases([path])


def test_phases_on_different_grids_are_an_error(tmp_path, phases):
    a = write_volume(phases[0], tmp_path / "a.nii.gz")
    moved = Volume(phases[1].array, phases[1].spacing, (0.0, 0.0, 0.0), modality="CT")
    b = write_volume(moved, tmp_path / "b.nii.gz")
    with pytest.raises(InputError, match=r"phases are on different grids: .*b.nii.gz: grid "
                                         r"differs from .*a.nii.gz: origin"):
        load_phases([a, b])


def test_4d_file_mixed_with_other_phases_is_an_error(tmp_path, phases):
    four_d = write_volume(phases[0].with_array(np.stack([v.array for v in phases])),
                          tmp_path / "all.nii.gz")
    other = write_volume(phases[0], tmp_path / "p.nii.gz")
    with pytest.raises(InputError, match="a 4D file cannot be combined"):
        load_phases([four_d, other])


def _crop(v: Volume, box: tuple[slice, slice, slice]) -> Volume:
    """A sub-volume that keeps its place in the patient."""
    origin = v.index_to_world([b.start for b in box])
    return Volume(np.ascontiguousarray(v.array[box]), v.spacing, origin, v.direction, "CT")


@pytest.mark.parametrize("text, expected", [
    ("4D CT 50%", 50.0), ("Gated, 20.0 %", 20.0), ("RESP T30", 30.0), ("T=70 phase", 70.0),
    ("Thorax 3mm", None), ("AVG CT", None), ("", None), ("130%", None),
])
def test_phase_percent_in_series_description(text, expected):
    assert parse_phase_percent(text) == expected


def test_dicom_phases_are_ordered_by_their_tags(tmp_path, phases):
    small = [_crop(v, np.s_[8:32, 8:32, 6:22]) for v in phases]
    # folders named so that their alphabetical order is not the breathing order
    order = [("c", "CT 0%", 0), ("a", "CT 66%", 2), ("b", "CT 33%", 1)]
    folders = []
    for name, desc, p in order:
        folders.append(write_dicom_phase(small[p], tmp_path / name, desc, f"1.2.3.4.{p + 1}",
                                         "1.2.3.99"))
    loaded = load_phases(folders)
    assert loaded.order_from == "dicom-percent"
    assert loaded.percents == (0.0, 33.0, 66.0)
    assert loaded.frame_of_reference_uid == "1.2.3.99"
    for v, truth in zip(loaded.volumes, small, strict=True):
        np.testing.assert_array_equal(v.array, truth.array)
    assert loaded.dicom_files is not None and len(loaded.dicom_files[0]) == 16
    # one folder holding every series gives the same order
    together = load_phases([tmp_path])
    assert together.percents == (0.0, 33.0, 66.0)


def test_dicom_temporal_position_orders_phases(tmp_path, phases):
    small = [_crop(v, np.s_[8:32, 8:32, 8:20]) for v in phases[:2]]
    f1 = write_dicom_phase(small[1], tmp_path / "x", "CT", "1.2.3.5.2", "1.2.3.99", 2)
    f0 = write_dicom_phase(small[0], tmp_path / "y", "CT", "1.2.3.5.1", "1.2.3.99", 1)
    loaded = load_phases([f1, f0])
    assert loaded.order_from == "dicom-temporal"
    np.testing.assert_array_equal(loaded.volumes[0].array, small[0].array)


def test_dicom_phases_in_different_frames_of_reference_are_an_error(tmp_path, phases):
    small = [_crop(v, np.s_[8:32, 8:32, 8:20]) for v in phases[:2]]
    a = write_dicom_phase(small[0], tmp_path / "a", "CT 0%", "1.2.3.6.1", "1.2.3.77")
    b = write_dicom_phase(small[1], tmp_path / "b", "CT 50%", "1.2.3.6.2", "1.2.3.78")
    with pytest.raises(InputError, match="different DICOM frames of reference"):
        load_phases([a, b])

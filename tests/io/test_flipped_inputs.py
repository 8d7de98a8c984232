"""A mask saved in another axis order or sign (the same voxel lattice) is rearranged onto the
image's grid exactly by every command that pairs a mask with an image, and grid-mismatch
messages list each file's values in the order they name the files."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.measure.shapes import ellipsoid, volumes
from tumorseg.cli.main import main
from tumorseg.errors import GeometryMismatchError
from tumorseg.fourd.gtv_source import gtv_from_mask
from tumorseg.io import Volume, check_same_grid, read_volume, reorient, write_volume
from tumorseg.metrics.evaluate import CasePair, evaluate_pair


def flipped(volume: Volume) -> Volume:
    """The same voxels stored with the first axis reversed and the last two swapped."""
    target = volume.direction[:, [0, 2, 1]] * np.array([-1.0, 1.0, 1.0])
    moved = reorient(volume, target)
    assert moved.shape == (volume.shape[0], volume.shape[2], volume.shape[1])
    return moved


@pytest.fixture
def case(tmp_path):
    shape = (30, 26, 14)
    spacing = (2.0, 2.0, 3.0)
    mask = (ellipsoid(shape, spacing, (8, 6, 7), centre_mm=(-10, 0, 0))
            | ellipsoid(shape, spacing, (5, 5, 5), centre_mm=(14, 6, 3)))
    hu = np.where(mask, 40, -1000).astype(np.int16)
    image, mvol = volumes(mask, spacing, image=hu)
    img = write_volume(image, tmp_path / "ct.nii.gz")
    msk = write_volume(mvol, tmp_path / "mask.nii.gz")
    flip = write_volume(flipped(mvol), tmp_path / "mask_flipped.nii.gz")
    return img, msk, flip, mvol


def test_check_same_grid_lists_values_in_the_order_it_names_files():
    a = Volume(np.zeros((10, 10, 10), np.uint8), (1.0, 1.0, 1.0))
    b = Volume(np.zeros((12, 10, 10), np.uint8), (1.0, 1.0, 2.0))
    with pytest.raises(GeometryMismatchError) as info:
        check_same_grid(a, b, "A.nii.gz", "B.nii.gz")
    assert str(info.value) == ("B.nii.gz: grid differs from A.nii.gz: size (12, 10, 10) vs "
                               "(10, 10, 10); spacing (1, 1, 2) vs (1, 1, 1) mm")


def test_measure_gives_the_same_table_for_a_flipped_mask(case, tmp_path, capsys):
    img, msk, flip, _ = case
    rows = []
    for mask, name in ((msk, "a.csv"), (flip, "b.csv")):
        assert main(["measure", str(img), str(mask), "-o", str(tmp_path / name)]) == 0
        rows.append(list(csv.DictReader((tmp_path / name).open())))
    assert len(rows[0]) == 2 and rows[0] == rows[1]


def test_measure_refuses_what_is_no_pet_no_label_map_and_no_writable_path(case, tmp_path,
                                                                          capsys):
    img, msk, _, mvol = case
    activity = write_volume(mvol.with_array(np.where(mvol.array > 0, 25000.0, 4000.0)
                                            .astype(np.float32)), tmp_path / "bqml.nii.gz")
    unknown = write_volume(read_volume(img).with_array(read_volume(img).array,
                                                       modality="unknown"),
                           tmp_path / "no_modality.nii.gz")
    out = tmp_path / "l.csv"
    for argv, expected in (
        (["measure", str(img), str(msk), "--pet", str(img)], "ct.nii.gz: recorded as CT"),
        (["measure", str(img), str(msk), "--pet", str(unknown)], "values down to -1000"),
        (["measure", str(img), str(msk), "--pet", str(activity)], "values up to 25000: not SUV"),
        (["measure", str(msk), str(img)], "ct.nii.gz: negative voxel values"),
        (["measure", str(img), str(msk), "--organs", str(img)], "ct.nii.gz: negative voxel"),
    ):
        capsys.readouterr()
        assert main([*argv, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
        assert not out.exists()
    capsys.readouterr()
    assert main(["measure", str(img), str(msk), "-o", "/proc/no/such/l.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: /proc/no: No such file or directory"] or (
        len(err) == 1 and err[0].startswith("error: /proc/no")), err


def test_evaluate_aligns_a_flipped_prediction(case, tmp_path):
    _, msk, _, mvol = case
    pred = np.roll(mvol.array, 2, axis=0)  # an imperfect prediction
    pred[:, :, :5] = 0
    straight = write_volume(mvol.with_array(pred), tmp_path / "pred.nii.gz")
    flip = write_volume(flipped(mvol.with_array(pred)), tmp_path / "pred_flipped.nii.gz")
    a = evaluate_pair(CasePair("c", straight, msk)).labels[0].as_row()
    b = evaluate_pair(CasePair("c", flip, msk)).labels[0].as_row()
    assert 0.3 < a["dice"] < 0.95 and a["fn_voxels"] > 0
    assert a == b


def test_itv_reference_mask_may_be_flipped(case):
    _, msk, flip, mvol = case
    np.testing.assert_array_equal(gtv_from_mask(flip, mvol), mvol.array > 0)
    np.testing.assert_array_equal(gtv_from_mask(msk, mvol), mvol.array > 0)



def test_report_figures_name_slices_as_the_file_numbers_them(case):
    """Figures are drawn on the image reoriented to LPS; their titles must give the slice
    numbers of the file itself (a viewer of a flipped file shows those)."""
    from tumorseg.io import read_volume
    from tumorseg.measure import measure_case

    img, _, _, mvol = case
    image = read_volume(img)
    stored = flipped(image)  # i reversed, j and k swapped, in the file
    result = measure_case(stored, flipped(mvol))
    lesion = result.lesions[0]
    lps = result.image_lps
    c = np.rint(lps.world_to_index(lesion.centroid_mm)).astype(int)
    file_index = np.rint(stored.world_to_index(lps.index_to_world(c))).astype(int)
    assert result.file_slice(c, 0) == ("i", int(file_index[0]))  # sagittal: file i
    assert result.file_slice(c, 1) == ("k", int(file_index[2]))  # coronal: file k (was j)
    assert result.file_slice(c, 2) == ("j", int(file_index[1]))  # axial: file j (was k)
    assert file_index[0] != c[0]  # the flip makes the LPS number wrong for the file

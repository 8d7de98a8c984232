"""The fingerprint against a direct numpy computation; determinism; JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest

from tumorseg.planning import Fingerprint, compute_fingerprint, load_case, read_dataset


def _direct(info):
    """Spacings, shapes, crop shapes, foreground voxels and label counts, by hand."""
    spacings, shapes, crops, fg, counts = [], [], [], [], np.zeros(2, int)
    for case in info.cases:
        image, label = load_case(case, info)
        arr = image.array
        nz = np.any(arr != 0, axis=0)
        idx = [np.flatnonzero(nz.any(axis=tuple(b for b in range(3) if b != a)))
               for a in range(3)]
        box = tuple(slice(i[0], i[-1] + 1) for i in idx)
        crops.append(tuple(s.stop - s.start for s in box))
        spacings.append(image.spacing)
        shapes.append(image.shape)
        lab = label.array[box]
        fg.append(arr[(slice(None), *box)][:, lab > 0])
        counts += np.bincount(lab.reshape(-1), minlength=2)
    return spacings, shapes, crops, np.concatenate(fg, axis=1), counts


def test_fingerprint_matches_numpy(msd_v1_dataset):
    info = read_dataset(msd_v1_dataset)
    fp = compute_fingerprint(info, samples_per_case=None)
    spacings, shapes, crops, fg, counts = _direct(info)
    assert [c.spacing for c in fp.cases] == spacings
    assert [c.shape for c in fp.cases] == shapes
    assert [c.shape_after_crop for c in fp.cases] == crops
    assert crops[0] != shapes[0]  # the zero border was cropped away
    assert fp.label_voxel_totals() == {0: int(counts[0]), 1: int(counts[1])}
    for c, stats in enumerate(fp.intensity):
        v = fg[c].astype(np.float64)
        assert stats.n_samples == v.size
        assert stats.mean == pytest.approx(v.mean())
        assert stats.std == pytest.approx(v.std())
        assert stats.median == pytest.approx(np.median(v))
        assert stats.min == v.min() and stats.max == v.max()
        assert stats.percentile_00_5 == pytest.approx(np.percentile(v, 0.5))
        assert stats.percentile_99_5 == pytest.approx(np.percentile(v, 99.5))
    np.testing.assert_allclose(fp.median_spacing, np.median(spacings, axis=0))
    np.testing.assert_allclose(fp.median_shape_after_crop, np.median(crops, axis=0))
    rel = [np.prod(c) / np.prod(s) for c, s in zip(crops, shapes, strict=True)]
    assert fp.median_relative_size_after_crop == pytest.approx(np.median(rel))


def test_sampling_is_deterministic_and_close(ct_dataset):
    info = read_dataset(ct_dataset)
    a = compute_fingerprint(info, samples_per_case=2000, seed=7)
    b = compute_fingerprint(info, samples_per_case=2000, seed=7)
    exact = compute_fingerprint(info, samples_per_case=None)
    assert a.intensity == b.intensity
    assert a.intensity[0].n_samples == 2000 * len(info.cases)
    assert a.intensity[0].mean == pytest.approx(exact.intensity[0].mean, rel=0.02)
    assert a.intensity[0].std == pytest.approx(exact.intensity[0].std, rel=0.1)


def test_progress_json_round_trip_and_lesions(ct_dataset, tmp_path):
    info = read_dataset(ct_dataset)
    calls = []
    fp = compute_fingerprint(info, samples_per_case=100, lesion_sizes=True,
                             progress=lambda done, total, name: calls.append((done, total, name)))
    assert calls == [(1, 3, "case_000"), (2, 3, "case_001"), (3, 3, "case_002")]
    for case in fp.cases:
        (volume,) = case.lesion_volumes_mm3[1]  # one sphere per case
        voxel = float(np.prod(case.spacing))
        assert volume == pytest.approx(case.label_voxels[1] * voxel)
    path = fp.save(tmp_path / "fingerprint.json")
    back = Fingerprint.load(path)
    assert back == fp
    assert "summary" in path.read_text()

"""The evaluation harness: targets, the click protocol, aggregation and reports, on fake
segmenters whose Dice after each click is known exactly."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tumorseg.errors import InputError
from tumorseg.interactive.evaluation import (
    ClickSegmenter,
    InteractiveEvalConfig,
    dice,
    evaluate_target,
    find_eval_cases,
    lesion_targets,
    run_cases,
    summarize,
    write_reports,
)
from tumorseg.interactive.prompts import Click
from tumorseg.io import Volume, write_volume


class PerfectAfterK:
    """Empty mask until click k, then exactly the target it was told about."""

    def __init__(self, k: int, target: np.ndarray) -> None:
        self.k, self.target = k, target
        self.clicks: list[Click] = []

    def start(self, volume: Volume, prior: np.ndarray | None = None) -> None:
        self.clicks = []

    def update(self, click: Click) -> np.ndarray:
        self.clicks.append(click)
        if len(self.clicks) >= self.k:
            return self.target.copy()
        return np.zeros_like(self.target)


class HalfForever:
    """Always the slices of the target below its median i, whatever the clicks."""

    def __init__(self, target: np.ndarray) -> None:
        self.mask = target.copy()
        idx = np.argwhere(target)
        cut = np.median(idx[:, 0])
        self.mask[tuple(idx[idx[:, 0] >= cut].T)] = False
        self.clicks: list[Click] = []

    def start(self, volume: Volume, prior: np.ndarray | None = None) -> None:
        self.clicks = []

    def update(self, click: Click) -> np.ndarray:
        self.clicks.append(click)
        return self.mask


@pytest.fixture
def cube_case():
    label = np.zeros((20, 16, 12), np.uint8)
    label[2:9, 3:10, 2:9] = 1  # 343 voxels
    label[12:18, 4:10, 3:9] = 2  # 216 voxels, a second lesion (another label value)
    label[15:17, 13:15, 10:11] = 1  # 4 voxels: a tiny lesion
    image = Volume(label.astype(np.float32) * 100, (1.0, 1.0, 2.0))
    return image, image.with_array(label)


def test_lesion_targets_components_and_labels(cube_case):
    _, label = cube_case
    # 4 voxels x 2 mm3 = 8 mm3 < 50 mm3: left out
    comps = lesion_targets(label.array, label.spacing, min_mm3=50)
    assert [int(t.sum()) for t in comps] == [343, 216]
    assert len(lesion_targets(label.array, label.spacing, min_mm3=0)) == 3
    by_label = lesion_targets(label.array, label.spacing, min_mm3=0, mode="labels")
    assert [int(t.sum()) for t in by_label] == [347, 216]
    # touching lesions of different labels are one component
    touching = label.array.copy()
    touching[9:12, 5:8, 4:7] = 2
    assert len(lesion_targets(touching, label.spacing, min_mm3=50)) == 1


@pytest.mark.parametrize("k", [1, 3, 5])
def test_noc_is_exactly_k_for_a_segmenter_perfect_after_k_clicks(cube_case, k):
    image, label = cube_case
    target = lesion_targets(label.array, label.spacing)[0]
    seg = PerfectAfterK(k, target)
    assert isinstance(seg, ClickSegmenter)
    records = evaluate_target(seg, image, target, n_clicks=6, method="fake", case="c")
    assert [r.click for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r.dice for r in records] == [0.0] * (k - 1) + [1.0] * (7 - k)
    # after the perfect mask the robot stops clicking
    assert [r.clicked for r in records] == [True] * k + [False] * (6 - k)
    assert len(seg.clicks) == k
    # the first click is the target's deepest point; while the mask is empty, the next
    # click is the deepest point of the whole miss again, positive
    assert seg.clicks[0].index == (5, 6, 5) and all(c.positive for c in seg.clicks)
    summary = summarize(records, 6)
    s = summary["methods"]["fake"]
    assert s["n_targets"] == 1
    assert s["mean_dice"] == [0.0] * (k - 1) + [1.0] * (7 - k)
    assert all(v == {"mean": float(k), "not_reached": 0} for v in s["noc"].values())
    assert s["seconds_per_click"]["n"] == k


def test_noc_counts_n_when_never_reached_and_clicks_come_from_the_errors(cube_case):
    image, label = cube_case
    target = lesion_targets(label.array, label.spacing)[0]
    seg = HalfForever(target)
    records = evaluate_target(seg, image, target, n_clicks=4, method="half")
    assert all(r.dice == pytest.approx(dice(seg.mask, target)) for r in records)
    assert records[0].dice == pytest.approx(2 * 3 / (3 + 7))  # 3 of 7 slices kept
    # clicks 2-4 land in the missed upper half, positive
    for c in seg.clicks[1:]:
        assert c.positive and target[c.index] and not seg.mask[c.index]
    noc = summarize(records, 4, (0.5, 0.9))["methods"]["half"]["noc"]
    assert noc == {"50": {"mean": 1.0, "not_reached": 0}, "90": {"mean": 4.0, "not_reached": 1}}


def test_run_cases_and_reports(tmp_path, cube_case):
    image, label = cube_case
    targets = lesion_targets(label.array, label.spacing)

    class Oracle:
        """Perfect after 2 clicks on whichever target holds the first click."""

        def start(self, volume, prior=None):
            self.n = 0

        def update(self, click):
            self.n += 1
            hit = next(t for t in targets if t[click.index]) if self.n == 1 else self.hit
            self.hit = hit
            return hit if self.n >= 2 else np.zeros_like(hit)

    seen = []
    config = InteractiveEvalConfig(n_clicks=3)
    records = run_cases([("a", image, label), ("b", image, label)],
                        {"oracle": Oracle(), "half": _HalfOfAny(targets)}, config,
                        on_target=lambda case, t: seen.append((case, t)))
    assert seen == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert len(records) == 2 * 2 * 2 * 3  # cases x targets x methods x clicks
    summary = summarize(records, 3)
    assert summary["methods"]["oracle"]["mean_dice"] == [0.0, 1.0, 1.0]
    assert summary["methods"]["oracle"]["noc"]["90"] == {"mean": 2.0, "not_reached": 0}
    paths = write_reports(records, summary, tmp_path / "out", extra={"dataset": "x"})
    rows = list(csv.DictReader(paths.clicks_csv.open()))
    assert len(rows) == len(records)
    assert rows[0]["method"] == "oracle" and rows[0]["clicked"] == "True"
    assert rows[2]["clicked"] == "False" and rows[2]["seconds"] == "" and rows[2]["i"] == ""
    doc = json.loads(paths.summary_json.read_text())
    assert doc["dataset"] == "x" and doc["methods"]["half"]["n_targets"] == 4
    assert paths.plot_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


class _HalfOfAny:
    """:class:`HalfForever` of whichever target holds the first click."""

    def __init__(self, targets):
        self.targets = targets
        self.half = None

    def start(self, volume, prior=None):
        self.half = None

    def update(self, click):
        if self.half is None:
            self.half = HalfForever(next(t for t in self.targets if t[click.index])).mask
        return self.half


def test_config_rejects_bad_values():
    with pytest.raises(InputError, match="--clicks 0"):
        InteractiveEvalConfig(n_clicks=0)
    with pytest.raises(InputError, match="min-lesion"):
        InteractiveEvalConfig(min_lesion_mm3=-1)


def test_find_cases_from_csv_and_dataset_folder(tmp_path, cube_case):
    image, label = cube_case
    write_volume(image, tmp_path / "img.nrrd")
    write_volume(label, tmp_path / "lab.nrrd")
    (tmp_path / "list.csv").write_text("image,label\nimg.nrrd,lab.nrrd\n")
    cases = find_eval_cases(tmp_path / "list.csv")
    assert [c.name for c in cases] == ["img"]
    img, lab = cases[0].load()
    np.testing.assert_array_equal(lab.array, label.array)
    assert img.spacing == image.spacing

    (tmp_path / "bad.csv").write_text("image,mask\nimg.nrrd,lab.nrrd\n")
    with pytest.raises(InputError, match="image,label"):
        find_eval_cases(tmp_path / "bad.csv")
    (tmp_path / "missing.csv").write_text("image,label\nimg.nrrd,nope.nrrd\n")
    with pytest.raises(InputError, match=r"nope\.nrrd: no such file"):
        find_eval_cases(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="no such file or folder"):
        find_eval_cases(tmp_path / "absent")

    from tumorseg.phantoms import PhantomCase, write_case, write_dataset_json

    ds = tmp_path / "ds"
    case = PhantomCase("case_000", (image,), label.with_array((label.array > 0).astype(np.uint8)))
    tr = [write_case(case, ds, "Tr")]
    write_dataset_json(ds, "t", "t", {"0": "CT"}, {"background": 0, "lesion": 1}, tr, [])
    assert [c.name for c in find_eval_cases(ds)] == ["case_000"]
    test_case = PhantomCase("test_000", (image,), case.label)
    ts = [write_case(test_case, ds, "Ts")]
    write_dataset_json(ds, "t", "t", {"0": "CT"}, {"background": 0, "lesion": 1}, tr, ts)
    assert [c.name for c in find_eval_cases(ds)] == ["test_000"]  # labelled test cases first


class _BallModel:
    """A fake guided network: the positive guidance ball (4 mm) minus the negative one."""

    def __init__(self) -> None:
        from tumorseg.interactive.guidance import GuidanceConfig
        from tumorseg.interactive.model import InteractiveModelSpec, default_network

        self.spec = InteractiveModelSpec(
            spacing_mm=(1.0, 1.0, 1.0), patch_size=(24, 24, 24),
            guidance=GuidanceConfig(kind="ball", radius_mm=4.0), network=default_network())

    def predict(self, roi_image, pos, neg, prior):
        return np.maximum(pos, prior) * (neg < 0.5)


def test_session_segmenter_runs_the_session_with_a_loaded_model():
    from tumorseg.interactive.evaluation import SessionSegmenter

    image = Volume(np.random.default_rng(0).normal(size=(40, 36, 30)).astype(np.float32),
                   (1.0, 1.0, 1.0))
    g = np.indices(image.shape)
    target = sum((g[a] - c) ** 2 for a, c in enumerate((18, 17, 14))) <= 16  # 4-voxel ball
    seg = SessionSegmenter(_BallModel())
    assert isinstance(seg, ClickSegmenter)
    records = evaluate_target(seg, image, target, n_clicks=3, method="model")
    assert records[0].dice == 1.0 and (records[0].i, records[0].j, records[0].k) == (18, 17, 14)
    assert [r.clicked for r in records] == [True, False, False]
    # a second target starts a fresh session: nothing of the first lesion is left
    other = np.roll(target, 10, axis=0)
    records = evaluate_target(seg, image, other, n_clicks=2, method="model")
    assert records[0].dice == 1.0

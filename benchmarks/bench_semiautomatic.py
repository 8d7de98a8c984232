"""Semi-automatic mode of the seed paper: automatic prediction, then one click per error.

For each unseen abdomen-ct phantom test case ("Ts" seed stream):

1. an automatic lesion mask: the bundled automatic 3D U-Net (``--auto model``, default) or
   the classical organ-outlier baseline (``--auto organ-outlier``);
2. an :class:`~tumorseg.interactive.session.InteractiveSession` with that mask as its prior
   (each connected component one lesion);
3. one **negative** click at the deepest point of every false-positive component (that
   lesion selected), then one **positive** click at the deepest point
   (:func:`~tumorseg.interactive.robot.first_click`) of every missed reference lesion, each
   in a new lesion;
4. lesion-wise counts before and after (:func:`tumorseg.metrics.lesionwise.lesion_metrics`,
   BraTS-style matching with a one-voxel dilation): false-negative rate = FN / reference
   lesions, false positives per case, lesion-wise Dice.

Missed and false-positive lesions are found with the same matching rule as the metric.

Usage::

    python benchmarks/bench_semiautomatic.py --interactive-model models/interactive-lesions \\
        --cases 6 --out benchmarks/out/semiautomatic.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cc3d
import numpy as np
from scipy import ndimage


def automatic_mask(case, how: str, predictor) -> np.ndarray:
    """The automatic lesion mask (bool ``[i, j, k]``) of a phantom case."""
    if how == "organ-outlier":
        from tumorseg.baselines.organ_outlier import segment_organ_outliers

        return segment_organ_outliers(case.channels[0], case.extras["organs"]).array > 0
    from tumorseg.postprocessing import PostprocessConfig

    pred = predictor.predict_volume(case.channels[0]).postprocessed(PostprocessConfig())
    return pred.labels.array > 0


def errors(auto: np.ndarray, ref: np.ndarray, min_voxels: int = 0
           ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Missed reference lesions and false-positive components (boolean masks), matched as
    :func:`tumorseg.metrics.lesionwise.lesion_metrics` does (one-voxel 3×3×3 dilation)."""
    dilated = ndimage.binary_dilation(ref, structure=np.ones((3, 3, 3), bool))
    groups = cc3d.connected_components(dilated.astype(np.uint8), connectivity=26)
    comps = cc3d.connected_components(auto.astype(np.uint8), connectivity=26)
    missed = []
    for g in range(1, int(groups.max()) + 1):
        region = groups == g
        lesion = region & ref
        if lesion.sum() > min_voxels and not (auto & region).any():
            missed.append(lesion)
    false_pos = []
    for c in range(1, int(comps.max()) + 1):
        comp = comps == c
        if not (comp & dilated).any():
            false_pos.append(comp)
    return missed, false_pos


def counts(mask: np.ndarray, ref: np.ndarray, spacing) -> dict:
    from tumorseg.metrics import MetricsConfig
    from tumorseg.metrics.lesionwise import lesion_metrics

    m = lesion_metrics(mask, ref, spacing, MetricsConfig())
    return {"n_ref": m.n_ref_lesions, "tp": m.tp, "fn": m.fn, "fp": m.fp,
            "lesionwise_dice": m.lesionwise_dice}


def run_case(case, how: str, predictor, model) -> dict:
    from tumorseg.interactive.prompts import Click
    from tumorseg.interactive.robot import deepest_point, first_click
    from tumorseg.interactive.session import InteractiveSession

    image = case.channels[0]
    ref = case.label.array > 0
    t0 = time.perf_counter()
    auto = automatic_mask(case, how, predictor)
    auto_seconds = time.perf_counter() - t0
    before = counts(auto, ref, image.spacing)
    missed, false_pos = errors(auto, ref)
    session = InteractiveSession(image, model=model, prior=auto)
    seconds = []
    for comp in false_pos:
        index = deepest_point(comp, image.spacing)
        session.select_lesion(int(session.mask[index]))
        t = time.perf_counter()
        session.add_click(Click(index, positive=False))
        seconds.append(time.perf_counter() - t)
    for lesion in missed:
        session.new_lesion()
        t = time.perf_counter()
        session.add_click(first_click(lesion, image.spacing))
        seconds.append(time.perf_counter() - t)
    after = counts(np.asarray(session.mask) > 0, ref, image.spacing)
    return {"case": case.name, "auto_seconds": auto_seconds, "clicks_negative": len(false_pos),
            "clicks_positive": len(missed), "seconds_per_click": seconds,
            "before": before, "after": after}


def rate(rows: list[dict], when: str) -> dict:
    n_ref = sum(r[when]["n_ref"] for r in rows)
    fn = sum(r[when]["fn"] for r in rows)
    return {"fn_rate": fn / n_ref if n_ref else None, "fn": fn, "n_ref": n_ref,
            "fp_per_case": float(np.mean([r[when]["fp"] for r in rows])),
            "mean_lesionwise_dice": float(np.mean([r[when]["lesionwise_dice"] for r in rows]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto", choices=["model", "organ-outlier"], default="model")
    parser.add_argument("--auto-model", default=None,
                        help="automatic model folder (default: the bundled one)")
    parser.add_argument("--interactive-model", default=None,
                        help="interactive model folder or name (default: the bundled one)")
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2026, help="dataset seed (Ts stream)")
    parser.add_argument("--size", default="small")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/semiautomatic.json"))
    args = parser.parse_args()

    from tumorseg.interactive.model import InteractiveModel
    from tumorseg.phantoms import iter_cases

    predictor = None
    if args.auto == "model":
        from tumorseg.inference import Predictor
        from tumorseg.inference.registry import bundled_model_dir

        predictor = Predictor.from_model_dir(args.auto_model or bundled_model_dir(),
                                             device="cpu", fast=True)
    model = InteractiveModel.load(args.interactive_model, device="cpu")
    rows = []
    for case in iter_cases("abdomen-ct", args.cases, seed=args.seed, split="Ts",
                           size=args.size):
        row = run_case(case, args.auto, predictor, model)
        rows.append(row)
        b, a = row["before"], row["after"]
        print(f"{case.name}: {b['n_ref']} lesions; before fn {b['fn']} fp {b['fp']}; "
              f"{row['clicks_negative']} negative + {row['clicks_positive']} positive clicks; "
              f"after fn {a['fn']} fp {a['fp']}", flush=True)
    result = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "auto": args.auto, "auto_model": args.auto_model,
              "interactive_model": args.interactive_model, "cases": len(rows),
              "before": rate(rows, "before"), "after": rate(rows, "after"),
              "clicks_per_case": float(np.mean([r["clicks_negative"] + r["clicks_positive"]
                                                for r in rows])),
              "per_case": rows}
    print("\n| | FN rate | FN / lesions | FP per case | lesion-wise Dice |")
    print("| --- | --- | --- | --- | --- |")
    for when in ("before", "after"):
        r = result[when]
        fn_rate = "n/a" if r["fn_rate"] is None else f"{r['fn_rate']:.3f}"
        print(f"| {when} | {fn_rate} | {r['fn']}/{r['n_ref']} | {r['fp_per_case']:.2f} | "
              f"{r['mean_lesionwise_dice']:.3f} |")
    print(f"clicks per case: {result['clicks_per_case']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

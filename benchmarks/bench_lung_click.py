"""One click on a lung tumor: Dice of each click segmenter (issue 6, `itv --click-method`).

For ``--cases`` lung-4dct phantoms ("Ts" seed stream, never used in training; size "full",
256×256×100 at 1.37×1.37×2.5 mm), phase 0: one positive click at the deepest point of the
true GTV (:func:`~tumorseg.interactive.robot.first_click`), segmented by the bundled
click-guided network (``model``), the scikit-image random walker and SimpleITK region
growing; and, with no click, the automatic classical detector
(:func:`~tumorseg.fourd.detect.detect_lung_tumor`; "found" = Dice > 0.5). Prints a table and
writes JSON.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_lung_click.py --cases 12 \\
        --out benchmarks/results/lung_click.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2026, help="dataset seed (Ts stream)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lung_click.json"))
    args = parser.parse_args()

    import torch

    from tumorseg.errors import InputError
    from tumorseg.fourd.detect import detect_lung_tumor
    from tumorseg.fourd.gtv_source import CLICK_METHODS, gtv_from_clicks
    from tumorseg.interactive.robot import first_click
    from tumorseg.metrics.overlap import dice
    from tumorseg.phantoms.generate import case_seed, make_case

    torch.set_num_threads(1)
    rows = []
    for k in range(args.cases):
        case = make_case("lung-4dct", case_seed(args.seed, k, "Ts"), f"test_{k:03d}", "full",
                         n_phases=2)
        volume = case.phases[0]
        truth = np.asarray(case.gtv[0].array) > 0
        click = first_click(truth, volume.spacing)
        row = {"case": case.name, "tumor_ml": float(truth.sum() * np.prod(volume.spacing) / 1e3),
               "click": list(click.index)}
        for method in CLICK_METHODS:
            t0 = time.perf_counter()
            try:
                mask = gtv_from_clicks(volume, [click.index], method=method)
            except Exception as exc:  # an empty result is a miss, not a crash
                mask = np.zeros_like(truth)
                row[f"{method}_error"] = str(exc)
            row[method] = {"dice": float(dice(mask, truth)),
                           "volume_ratio": float(mask.sum() / truth.sum()),
                           "seconds": time.perf_counter() - t0}
        try:
            row["detector_dice"] = float(dice(detect_lung_tumor(volume), truth))
        except InputError as exc:  # nothing found is a miss, not a crash
            row["detector_dice"], row["detector_error"] = 0.0, str(exc)
        rows.append(row)
        print(f"{case.name} ({row['tumor_ml']:.1f} mL): " + ", ".join(
            f"{m} {row[m]['dice']:.3f}" for m in CLICK_METHODS)
            + f"; detector {row['detector_dice']:.3f}", flush=True)
    summary = {m: {"dice_mean": float(np.mean([r[m]["dice"] for r in rows])),
                   "dice_min": float(np.min([r[m]["dice"] for r in rows])),
                   "seconds_mean": float(np.mean([r[m]["seconds"] for r in rows]))}
               for m in CLICK_METHODS}
    found = sum(r["detector_dice"] > 0.5 for r in rows)
    summary["detector"] = {"found": found, "cases": len(rows),
                           "dice_mean": float(np.mean([r["detector_dice"] for r in rows]))}
    print("\n| method | Dice mean (min) after 1 click | s per click |\n| --- | --- | --- |")
    for m in CLICK_METHODS:
        v = summary[m]
        print(f"| {m} | {v['dice_mean']:.3f} ({v['dice_min']:.3f}) | {v['seconds_mean']:.2f} |")
    print(f"\nautomatic detector (no click): found {found} of {len(rows)} (Dice > 0.5)")
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cases": len(rows), "seed": args.seed, "summary": summary, "per_case": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

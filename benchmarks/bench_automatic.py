"""Automatic model benchmark: accuracy on unseen phantom test cases, and prediction speed.

Accuracy: ``--cases`` abdomen-ct test cases (seed stream "Ts", never used in training)
are predicted with the model and scored with ``tumorseg.metrics``: mean Dice, mean
lesion-wise Dice, lesion sensitivity for lesions ≥ 10 mm, false positives per case.
Speed: ``predict`` on a 512×512×100 CT at 0.8×0.8×2.5 mm, ``--fast`` and default, wall time
and peak RSS (in a subprocess each, so memory is the prediction's own).

``--method organ-outlier`` scores the classical baseline (:mod:`tumorseg.baselines`) on the
same cases instead of a model; it is given the phantom's TRUE organ label map, which a
model never sees, so it is a reference point, not a fair competitor.

Usage::

    python benchmarks/bench_automatic.py --model src/tumorseg/models/bundled/abdomen-ct-lesions \\
        --cases 20 --out benchmarks/out/automatic.json [--skip-speed]

Targets (issue 3): mean lesion Dice ≥ 0.80, sensitivity ≥ 0.90 for lesions ≥ 10 mm,
≤ 0.5 false positives per case; predict --fast ≤ 60 s, default ≤ 180 s, peak ≤ 6 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def segmenter(method: str, model: Path | None, fast: bool, device: str = "cpu"):
    """``case -> boolean lesion mask`` for the model or the organ-outlier baseline."""
    if method == "organ-outlier":
        from tumorseg.baselines.organ_outlier import segment_organ_outliers

        return lambda case: segment_organ_outliers(case.channels[0],
                                                   case.extras["organs"]).array > 0
    from tumorseg.inference import Predictor
    from tumorseg.postprocessing import PostprocessConfig

    predictor = Predictor.from_model_dir(model, device=device, fast=fast)
    return lambda case: predictor.predict_volume(case.channels[0]).postprocessed(
        PostprocessConfig()).labels.array


def accuracy(segment, n_cases: int, seed: int, size: str) -> dict:
    from tumorseg.metrics import MetricsConfig, evaluate_binary
    from tumorseg.phantoms import iter_cases

    config = MetricsConfig(size_bins_mm=(0.0, 10.0, float("inf")))
    rows = []
    for case in iter_cases("abdomen-ct", n_cases, seed=seed, split="Ts", size=size):
        t0 = time.perf_counter()
        pred = segment(case)
        seconds = time.perf_counter() - t0
        m = evaluate_binary(pred, case.label.array, case.label.spacing, config)
        big = [b for b in m.lesions.size_bins if b.lower_mm >= 10.0] if m.lesions else []
        rows.append({"case": case.name, "seconds": seconds, "dice": m.overlap.dice,
                     "lesionwise_dice": m.lesions.lesionwise_dice,
                     "fp": m.lesions.fp, "tp": m.lesions.tp, "fn": m.lesions.fn,
                     "tp_ge10": sum(b.n_detected for b in big),
                     "n_ge10": sum(b.n_lesions for b in big)})
        print(f"{case.name}: dice {m.overlap.dice:.3f} "
              f"lesion-wise {rows[-1]['lesionwise_dice']:.3f} tp {m.lesions.tp} "
              f"fn {m.lesions.fn} fp {m.lesions.fp} ({seconds:.1f} s)",
              flush=True)
    n_ge10 = sum(r["n_ge10"] for r in rows)
    return {
        "cases": len(rows),
        "mean_dice": float(np.mean([r["dice"] for r in rows])),
        "mean_lesionwise_dice": float(np.mean([r["lesionwise_dice"] for r in rows])),
        "sensitivity_ge10mm": (sum(r["tp_ge10"] for r in rows) / n_ge10) if n_ge10 else None,
        "fp_per_case": float(np.mean([r["fp"] for r in rows])),
        "seconds_per_case": float(np.mean([r["seconds"] for r in rows])),
        "per_case": rows,
    }


def speed(model: Path, fast: bool, device: str = "cpu") -> dict:
    from tumorseg.io import write_volume
    from tumorseg.phantoms import make_case

    with tempfile.TemporaryDirectory() as tmp:
        case = make_case("abdomen-ct", seed=99, size="full", shape=(512, 512, 100))
        src = write_volume(case.channels[0], Path(tmp) / "ct.nii.gz")
        cmd = [sys.executable, "-m", "tumorseg.cli.main", "predict", str(src), "-o",
               str(Path(tmp) / "mask.nii.gz"), "--model", str(model), "--device", device]
        if fast:
            cmd.append("--fast")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return {"mode": "fast" if fast else "default", "device": device, "wall_s": wall,
            "peak_rss_gb": peak_gb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model folder (with --method model)")
    parser.add_argument("--method", choices=["model", "organ-outlier"], default="model")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026, help="dataset seed (Ts stream)")
    parser.add_argument("--size", default="small")
    parser.add_argument("--fast", action="store_true", help="accuracy without mirroring")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--device", default="cpu", help="where the network runs (cpu, cuda)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/automatic.json"))
    args = parser.parse_args()
    if args.method == "model" and args.model is None:
        parser.error("--model is required with --method model")
    result = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "method": args.method, "model": str(args.model),
              "accuracy": accuracy(segmenter(args.method, args.model, args.fast, args.device),
                                   args.cases, args.seed, args.size)}
    if not args.skip_speed and args.method == "model":
        result["speed"] = [speed(args.model, True, args.device),
                           speed(args.model, False, args.device)]
    a = result["accuracy"]
    print("\n| metric | value | target |\n| --- | --- | --- |")
    print(f"| mean Dice | {a['mean_dice']:.3f} | |")
    print(f"| mean lesion-wise Dice | {a['mean_lesionwise_dice']:.3f} | ≥ 0.80 |")
    sens = a["sensitivity_ge10mm"]
    print(f"| lesion sensitivity ≥ 10 mm | {'n/a' if sens is None else f'{sens:.2f}'} | ≥ 0.90 |")
    print(f"| false positives / case | {a['fp_per_case']:.2f} | ≤ 0.5 |")
    for s in result.get("speed", []):
        print(f"| predict {s['mode']} 512×512×100 ({s['device']}) | {s['wall_s']:.1f} s, "
              f"{s['peak_rss_gb']:.2f} GB | {'≤ 60 s' if s['mode'] == 'fast' else '≤ 180 s'} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Click-guided segmentation benchmark: the standard click robot on unseen phantoms and real MRI.

Every method gets the same protocol (``tumorseg.interactive.evaluation``): each lesion on its
own, click 1 at its deepest point, clicks 2…N at the deepest point of the largest error
region; Dice after each click, NoC@80/85/90 (N when never reached), seconds per click.

Data:
- ``phantoms``: ``--cases`` test cases per kind (abdomen-ct: the CT; brain-mri: the FLAIR
  channel by default, whole tumor = label > 0) from the "Ts" seed stream
  (``tumorseg.phantoms.generate.case_seed(seed, k, "Ts")``), never used in training;
- ``real-mri``: the brain and breast MRI tumors in ``../shared/data/real`` (skipped with a
  message when the folder is absent); never trained on.
- ``speed``: seconds per click on one lesion of a 512×512×100 abdomen CT
  (0.8×0.8×2.5 mm), ``--speed-clicks`` clicks per method.

Usage::

    python benchmarks/bench_interactive.py --methods random-walker region-growing \\
        --cases 4 --clicks 10 --out benchmarks/out/interactive.json [--skip-speed]

Per-group clicks.csv / summary.json / dice_vs_clicks.png go next to the JSON
(``benchmarks/out/interactive/<group>/``).

Targets (issue 4): phantoms mean Dice ≥ 0.80 after 1 click and ≥ 0.90 after 5; real MRI
Dice ≥ 0.80 after 5 clicks and better than both baselines at every click count; model
latency median ≤ 0.5 s, p95 ≤ 1.0 s per click on a 512×512×100 CT.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
REAL_CASES = {"mri_brain_tumor": ("mri_brain_tumor.nrrd", "mri_brain_tumor_label.nrrd"),
              "mri_breast_tumor": ("mri_breast_tumor.nrrd", "mri_breast_tumor_label.nrrd")}
CHANNEL = {"abdomen-ct": "CT", "brain-mri": "FLAIR"}


def segmenters(methods: list[str], model: str | None, device: str,
               refinement: str = "model") -> dict:
    """The segmenters to compare; ``refinement`` other than "model" overrides the click
    model folder's own (:mod:`tumorseg.interactive.refine`)."""
    from tumorseg.interactive.baselines import RandomWalkerSegmenter, RegionGrowingSegmenter
    from tumorseg.interactive.evaluation import SessionSegmenter
    from tumorseg.interactive.model import InteractiveModel
    from tumorseg.interactive.refine import override

    out: dict = {}
    for m in methods:
        if m == "model":
            loaded = model if refinement == "model" else InteractiveModel.load(
                model, device=device, refinement=override(refinement))
            seg = SessionSegmenter(loaded, device=device)
            seg.load()
            out[m] = seg
        elif m == "random-walker":
            out[m] = RandomWalkerSegmenter()
        elif m == "region-growing":
            out[m] = RegionGrowingSegmenter()
        else:
            raise SystemExit(f"unknown method {m}")
    return out


def phantom_cases(kinds: list[str], n: int, seed: int, size: str):
    from tumorseg.phantoms import KINDS, iter_cases

    for kind in kinds:
        names = list(KINDS[kind].channel_names.values())
        channel = names.index(CHANNEL.get(kind, names[0]))
        for case in iter_cases(kind, n, seed=seed, split="Ts", size=size):
            yield f"{kind}/{case.name}", case.channels[channel], case.label


def real_cases():
    from tumorseg.io import read_volume

    for name, (image, label) in REAL_CASES.items():
        yield name, read_volume(REAL / image), read_volume(REAL / label, modality="SEG")


def run_group(name: str, cases, segs: dict, config, out_dir: Path) -> dict:
    from tumorseg.interactive.evaluation import run_cases, summarize, write_reports

    t0 = time.perf_counter()
    names: list[str] = []

    def logged():
        for case in cases:
            names.append(case[0])
            print(f"  {case[0]}", flush=True)
            yield case

    records = run_cases(logged(), segs, config)
    summary = summarize(records, config.n_clicks, config.thresholds)
    summary["cases"] = names
    summary["wall_seconds"] = time.perf_counter() - t0
    write_reports(records, summary, out_dir / name)
    return summary, records


def speed(segs: dict, n_clicks: int) -> dict:
    """Seconds per click on the largest lesion of a 512×512×100 abdomen CT."""
    from tumorseg.interactive.evaluation import evaluate_target, lesion_targets
    from tumorseg.phantoms import make_case

    case = make_case("abdomen-ct", seed=99, size="full", shape=(512, 512, 100))
    image, label = case.channels[0], case.label
    targets = lesion_targets(label.array, label.spacing)
    target = max(targets, key=lambda t: int(t.sum()))
    out = {"shape": list(image.shape), "spacing_mm": list(image.spacing),
           "lesion_mm3": float(target.sum()) * image.voxel_volume_mm3}
    for method, seg in segs.items():
        records = evaluate_target(seg, image, target, n_clicks, method, "speed")
        secs = [r.seconds for r in records if r.seconds is not None]
        out[method] = {"seconds": secs, "median": float(np.median(secs)),
                       "max": float(np.max(secs)), "dice": [r.dice for r in records]}
        print(f"  {method}: median {out[method]['median']:.2f} s, max "
              f"{out[method]['max']:.2f} s per click", flush=True)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return out


def table(results: dict, n_clicks: int) -> None:
    shown = sorted({1, 3, 5, n_clicks} & set(range(1, n_clicks + 1)))
    head = " | ".join(f"Dice@{c}" for c in shown)
    print(f"\n| data | method | targets | {head} | NoC@80 | NoC@85 | NoC@90 | s/click median "
          f"(p95) |")
    print("| --- " * (len(shown) + 7) + "|")
    for group, summary in results.items():
        for method, s in summary["methods"].items():
            dice = " | ".join(f"{s['mean_dice'][c - 1]:.3f}" for c in shown)
            noc = " | ".join(f"{v['mean']:.2f} ({v['not_reached']}✗)"
                             for v in s["noc"].values())
            sec = s["seconds_per_click"]
            print(f"| {group} | {method} | {s['n_targets']} | {dice} | {noc} | "
                  f"{sec['median']:.2f} ({sec['p95']:.2f}) |")
    print("✗ = targets that never reached the Dice level (counted as N clicks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["random-walker", "region-growing"],
                        choices=["model", "random-walker", "region-growing"])
    parser.add_argument("--model", default=None, help="interactive model folder or name")
    parser.add_argument("--refinement", default="model",
                        choices=["model", "none", "random-walker"],
                        help="the click model's refinement (default: its model folder's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kinds", nargs="+", default=["abdomen-ct", "brain-mri"])
    parser.add_argument("--cases", type=int, default=4, help="test cases per phantom kind")
    parser.add_argument("--seed", type=int, default=2026, help="dataset seed (Ts stream)")
    parser.add_argument("--size", default="small")
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--min-lesion-mm3", type=float, default=50.0)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--speed-clicks", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/interactive.json"))
    args = parser.parse_args()

    from tumorseg.interactive.evaluation import InteractiveEvalConfig

    config = InteractiveEvalConfig(n_clicks=args.clicks, min_lesion_mm3=args.min_lesion_mm3)
    segs = segmenters(args.methods, args.model, args.device, args.refinement)
    out_dir = args.out.with_suffix("")
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores",
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "methods": args.methods, "model": args.model,
                    "refinement": args.refinement,
                    "phantoms": {"kinds": args.kinds, "cases_per_kind": args.cases,
                                 "seed": args.seed, "split": "Ts", "size": args.size,
                                 "channels": {k: CHANNEL.get(k) for k in args.kinds}},
                    "results": {}}
    from tumorseg.interactive.evaluation import summarize, write_reports

    everything = []
    for kind in args.kinds:
        print(f"{kind} phantoms:", flush=True)
        result["results"][kind], records = run_group(
            kind, phantom_cases([kind], args.cases, args.seed, args.size), segs, config,
            out_dir)
        everything += records
    if len(args.kinds) > 1:
        both = summarize(everything, config.n_clicks, config.thresholds)
        write_reports(everything, both, out_dir / "phantoms-all")
        result["results"]["phantoms-all"] = both
    if args.skip_real:
        pass
    elif not REAL.is_dir():
        print(f"real MRI skipped: {REAL} is absent")
        result["real_mri_skipped"] = f"{REAL} absent"
    else:
        print("real MRI:", flush=True)
        result["results"]["real-mri"], _ = run_group("real-mri", real_cases(), segs, config,
                                                     out_dir)
    if not args.skip_speed:
        print("speed (512×512×100 CT):", flush=True)
        result["speed"] = speed(segs, args.speed_clicks)
    table(result["results"], args.clicks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out} and {out_dir}/")


if __name__ == "__main__":
    main()

"""ITV benchmark (issue 6): propagate vs per-phase on unseen lung-4dct phantoms, and speed.

Accuracy: ``--cases`` lung-4dct test cases (seed stream "Ts": no 4D model is trained, and no
Ts seed is ever used for training) with ``--phases`` phases. The reference phase is chosen as
``tumorseg itv`` does (smallest lung air volume = end-exhale); the reference GTV is the true
GTV on that phase (``--reference truth``, the default: the ``--mask`` path, so the benchmark
measures the propagation, not the detector), or (``--reference click``) the GTV that
``--click-method`` segments from ONE click at
:func:`tumorseg.interactive.robot.first_click` of that true GTV (the ``--click`` path; its Dice
on the reference phase is reported as ``reference_gtv_dice``), or (``--reference auto``) the
automatic detector's GTV (the path with neither ``--mask`` nor ``--click``; a case where it
finds nothing counts as ITV and GTV Dice 0). Both methods run; per method:
ITV Dice against the true ITV, GTV Dice per phase (the reference phase excluded),
centroid amplitude error per axis (mm), wall time.
The automatic detector's Dice on the reference phase is reported alongside.

Speed: ``tumorseg itv`` (``--method propagate``, ``--mask``) in a subprocess on ten phases of
512×512×100 (0.68×0.68×2.5 mm), wall time from start to all files written.

Usage::

    python benchmarks/bench_itv.py --cases 4 --cache /tmp/itv_cases \\
        --out benchmarks/results/itv.json
    python benchmarks/bench_itv.py --cases 4 --cache /tmp/itv_cases --skip-speed \\
        --reference click --click-method random-walker \\
        --out benchmarks/results/itv_click_random-walker.json

Targets: ITV Dice ≥ 0.85, per-phase GTV Dice ≥ 0.80, motion amplitude error ≤ 1 mm or one
voxel along that axis; ten 512×512×100 phases in ≤ 180 s for ``propagate``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _case(seed: int, k: int, n_phases: int, size: str, cache: Path, shape=None, spacing=None):
    """Write (or reuse) case k of the Ts stream; returns its folder and case.json."""
    from tumorseg.phantoms.generate import case_seed, make_case
    from tumorseg.phantoms.lung_4dct import write_lung_4dct_case

    name = f"test_{k:03d}" if shape is None else f"speed_{shape[0]}x{shape[1]}x{shape[2]}"
    folder = cache / name
    if not (folder / "case.json").is_file() or len(list(folder.glob("phase_*.nii.gz"))) \
            != n_phases:
        overrides = {"n_phases": n_phases}
        if shape is not None:
            overrides |= {"shape": shape, "spacing": spacing}
        case = make_case("lung-4dct", case_seed(seed, k, "Ts"), name, size, **overrides)
        write_lung_4dct_case(case, cache)
    return folder, json.loads((folder / "case.json").read_text())


def reference_gtv(volume, truth: np.ndarray, reference: str, click_method: str
                  ) -> tuple[np.ndarray, dict]:
    """The reference GTV the pipeline starts from, and what to report about it: the true GTV
    (``"truth"``) or ``click_method``'s segmentation from one click at ``first_click``."""
    from tumorseg.fourd import gtv_from_clicks
    from tumorseg.interactive.robot import first_click
    from tumorseg.metrics.overlap import dice

    if reference == "truth":
        return truth, {"reference": "truth"}
    click = first_click(truth, volume.spacing).index
    t0 = time.perf_counter()
    gtv = gtv_from_clicks(volume, [click], method=click_method)
    return gtv, {"reference": "click", "click_method": click_method, "click": list(click),
                 "reference_gtv_dice": round(dice(gtv, truth), 4),
                 "reference_gtv_s": round(time.perf_counter() - t0, 2)}


def accuracy_case(folder: Path, info: dict, reference: str = "truth",
                  click_method: str = "random-walker", segmenter: str = "threshold") -> dict:
    from tumorseg.fourd import (
        ITVSettings,
        PerPhaseSettings,
        RegistrationSettings,
        choose_reference_phase,
        compute_itv,
        detect_lung_tumor,
        load_phases,
    )
    from tumorseg.io import read_volume
    from tumorseg.metrics.overlap import dice

    n = info["n_phases"]
    phases = load_phases([folder / f"phase_{p:02d}.nii.gz" for p in range(n)])
    truth = [read_volume(folder / f"gtv_phase_{p:02d}.nii.gz").array > 0 for p in range(n)]
    itv_true = read_volume(folder / "itv.nii.gz").array > 0
    ref, _ = choose_reference_phase(phases.volumes)
    t0 = time.perf_counter()
    try:
        auto = detect_lung_tumor(phases.volumes[ref])
        auto_dice = dice(auto, truth[ref])
    except Exception as exc:  # a miss is a result, not a crash of the benchmark
        auto_dice, auto = 0.0, str(exc)
    auto_s = time.perf_counter() - t0
    if reference == "auto":
        gtv_ref = None if isinstance(auto, str) else auto
        ref_info = {"reference": "auto", "reference_gtv_dice": round(auto_dice, 4)}
    else:
        gtv_ref, ref_info = reference_gtv(phases.volumes[ref], truth[ref], reference,
                                          click_method)
    if gtv_ref is None:  # nothing detected: the pipeline has no reference GTV to start from
        miss = {"itv_dice": 0.0, "gtv_dice_mean": 0.0, "gtv_dice_min": 0.0,
                "amplitude_error_mm": [float("nan")] * 3, "amplitude_ok": False,
                "seconds": 0.0}
        return {"case": folder.name, "seed": info["seed"], "n_phases": n,
                "diameter_mm": info["tumor"]["diameter_mm"],
                "location": info["tumor"]["location"], "reference_phase": ref,
                "automatic_detection_dice": 0.0, "automatic_detection_error": auto,
                **ref_info, "methods": {"propagate": miss, "per-phase": dict(miss)},
                "agreement_dice_mean": 0.0}
    factory = None
    if segmenter == "click":
        from tumorseg.fourd.gtv_source import click_session_factory

        factory = click_session_factory()
    result = compute_itv(phases, gtv_ref, ref, ITVSettings(
        "both", RegistrationSettings(), PerPhaseSettings(segmenter=segmenter),
        session_factory=factory))
    spacing = np.asarray(phases.grid.spacing)
    true_c = np.asarray(info["centroids_mm"])
    true_amp = true_c.max(axis=0) - true_c.min(axis=0)
    row: dict = {"case": folder.name, "seed": info["seed"], "n_phases": n,
                 "diameter_mm": info["tumor"]["diameter_mm"],
                 "location": info["tumor"]["location"],
                 "true_amplitude_mm": true_amp.round(3).tolist(),
                 "reference_phase": ref, "true_end_exhale": info["end_exhale_phase"],
                 "automatic_detection_dice": round(auto_dice, 4),
                 "automatic_detection_s": round(auto_s, 2), **ref_info, "methods": {}}
    for name, gtvs in result.gtvs_by_method.items():
        d = [dice(g, t) for p, (g, t) in enumerate(zip(gtvs, truth, strict=True)) if p != ref]
        amp = result.motion_by_method[name].amplitude_mm
        err = np.abs(amp - true_amp)
        row["methods"][name] = {
            "itv_dice": round(dice(np.logical_or.reduce(gtvs), itv_true), 4),
            "gtv_dice_mean": round(float(np.mean(d)), 4),
            "gtv_dice_min": round(float(np.min(d)), 4),
            "amplitude_error_mm": err.round(3).tolist(),
            "amplitude_ok": bool(np.all(err <= np.maximum(1.0, spacing))),
            "seconds": result.seconds[name],
        }
    row["agreement_dice_mean"] = round(float(np.mean(result.agreement_dice)), 4)
    return row


def speed(cache: Path, seed: int, n_phases: int, out_dir: Path) -> dict:
    shape = (512, 512, 100)
    spacing = (350.0 / 512, 350.0 / 512, 2.5)
    t0 = time.perf_counter()
    folder, info = _case(seed, 900, n_phases, "full", cache, shape, spacing)
    gen_s = time.perf_counter() - t0
    ref = info["end_exhale_phase"]
    phases = [str(folder / f"phase_{p:02d}.nii.gz") for p in range(n_phases)]
    cmd = [sys.executable, "-m", "tumorseg.cli.main", "itv", *phases, "-o", str(out_dir),
           "--mask", str(folder / f"gtv_phase_{ref:02d}.nii.gz"), "--reference-phase", str(ref),
           "--method", "propagate", "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1])
    summary = json.loads((out_dir / "summary.json").read_text())
    return {"shape": list(shape), "spacing_mm": list(spacing), "n_phases": n_phases,
            "wall_s": round(wall, 1), "generation_s_if_not_cached": round(gen_s, 1),
            "propagate_s": summary["seconds"]["propagate"],
            "tumor_diameter_mm": info["tumor"]["diameter_mm"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--phases", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (Ts stream)")
    parser.add_argument("--size", default="full", help="phantom size: full or small")
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/itv_cases"),
                        help="folder for the generated phantoms (reused when present)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--reference", choices=("truth", "click", "auto"), default="truth",
                        help="reference GTV: the true one, segmented from one click, or the "
                             "automatic detector's")
    parser.add_argument("--click-method", default="random-walker",
                        choices=("random-walker", "region-growing", "model"),
                        help="segmenter of the one-click reference GTV (--reference click)")
    parser.add_argument("--segmenter", choices=("threshold", "click"), default="threshold",
                        help="per-phase segmenter (itv --segmenter)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/itv.json"))
    args = parser.parse_args()
    rows = []
    for k in range(args.cases):
        folder, info = _case(args.seed, k, args.phases, args.size, args.cache)
        rows.append(accuracy_case(folder, info, args.reference, args.click_method,
                                  args.segmenter))
        m = rows[-1]["methods"]
        ref_dice = (f"reference GTV Dice {rows[-1]['reference_gtv_dice']:.3f}; "
                    if args.reference in ("click", "auto") else "")
        print(f"{folder.name} ({info['tumor']['diameter_mm']:.0f} mm "
              f"{info['tumor']['location']}): {ref_dice}" + "; ".join(
                  f"{k}: ITV {v['itv_dice']:.3f} GTV {v['gtv_dice_mean']:.3f} "
                  f"(min {v['gtv_dice_min']:.3f}) amp err {v['amplitude_error_mm']} mm "
                  f"{v['seconds']:.1f} s" for k, v in m.items()), flush=True)
    summary = {}
    for name in ("propagate", "per-phase"):
        ms = [r["methods"][name] for r in rows]
        summary[name] = {
            "itv_dice_mean": round(float(np.mean([m["itv_dice"] for m in ms])), 4),
            "itv_dice_min": round(float(np.min([m["itv_dice"] for m in ms])), 4),
            "gtv_dice_mean": round(float(np.mean([m["gtv_dice_mean"] for m in ms])), 4),
            "gtv_dice_min": round(float(np.min([m["gtv_dice_min"] for m in ms])), 4),
            "amplitude_error_mm_max": np.max([m["amplitude_error_mm"] for m in ms], axis=0)
            .round(3).tolist(),
            "amplitude_ok_cases": sum(m["amplitude_ok"] for m in ms),
            "seconds_mean": round(float(np.mean([m["seconds"] for m in ms])), 2),
        }
    result = {"machine": f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cases": len(rows), "phases": args.phases, "size": args.size,
              "reference": args.reference, "per_phase_segmenter": args.segmenter,
              "click_method": args.click_method if args.reference == "click" else None,
              "summary": summary, "per_case": rows,
              "automatic_detection_dice": [r["automatic_detection_dice"] for r in rows]}
    if not args.skip_speed:
        result["speed"] = speed(args.cache, args.seed, args.phases,
                                args.cache / "speed_out")
    print("\n| metric | propagate | per-phase | target |\n| --- | --- | --- | --- |")
    p, q = summary["propagate"], summary["per-phase"]
    print(f"| ITV Dice mean (min) | {p['itv_dice_mean']:.3f} ({p['itv_dice_min']:.3f}) | "
          f"{q['itv_dice_mean']:.3f} ({q['itv_dice_min']:.3f}) | ≥ 0.85 |")
    print(f"| GTV Dice mean (min) | {p['gtv_dice_mean']:.3f} ({p['gtv_dice_min']:.3f}) | "
          f"{q['gtv_dice_mean']:.3f} ({q['gtv_dice_min']:.3f}) | ≥ 0.80 |")
    print(f"| max amplitude error x, y, z mm | {p['amplitude_error_mm_max']} | "
          f"{q['amplitude_error_mm_max']} | ≤ 1 mm or 1 voxel |")
    print(f"| cases within amplitude target | {p['amplitude_ok_cases']}/{len(rows)} | "
          f"{q['amplitude_ok_cases']}/{len(rows)} | all |")
    print(f"| seconds per case | {p['seconds_mean']:.1f} | {q['seconds_mean']:.1f} | |")
    if args.reference == "click":
        d = [r["reference_gtv_dice"] for r in rows]
        result["reference_gtv_dice_mean"] = round(float(np.mean(d)), 4)
        print(f"| reference GTV Dice ({args.click_method}, 1 click) mean (min) | "
              f"{np.mean(d):.3f} ({np.min(d):.3f}) | | |")
    if "speed" in result:
        s = result["speed"]
        print(f"| itv propagate, {s['n_phases']} × 512×512×100 | {s['wall_s']:.0f} s | | "
              "≤ 180 s |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Benchmark ``tumorseg.metrics`` against MONAI on one large lesion pair (CPU).

The pair: 512×512×300 uint8 label maps, spacing (0.8, 0.8, 2.5) mm, a dozen irregular blobs
(equivalent diameters about 6–65 mm). The prediction perturbs the reference: lesions kept,
shifted by a few voxels, eroded or dilated by one voxel, one missed, plus one false positive.

Each engine runs in a fresh subprocess (so ``ru_maxrss`` is its own) on the same saved pair:

* ``ours``: :func:`tumorseg.metrics.evaluate_labels` — every per-case metric (Dice, IoU,
  precision, sensitivity, FNR, FP rate, HD95, ASSD, NSD at 2 mm, volumes) *and* the lesion-wise
  metrics — from the uint8 arrays; plus a breakdown of overlap / surface / lesion-wise.
* ``monai``: ``compute_dice``, ``compute_hausdorff_distance(percentile=95)``,
  ``compute_average_surface_distance(symmetric=True)`` and ``compute_surface_dice([2.0])`` on
  one-hot float tensors (the conversion is timed separately). MONAI has no lesion-wise metrics.

Times are wall-clock seconds, best and median of ``--repeats`` runs; memory is the
tracemalloc peak of one extra run (numpy allocations; torch tensors use their own allocator
and are not traced, so MONAI's figure is a lower bound) and the
process's peak resident set size (``ru_maxrss``) before and after the runs.

Usage:
    python benchmarks/bench_metrics.py --out benchmarks/out/metrics.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

SHAPE = (512, 512, 300)
SPACING = (0.8, 0.8, 2.5)
TOLERANCE_MM = 2.0
#: Lesion radii in mm and what the prediction does to each.
LESIONS = [
    (3, "keep"), (4, "shift"), (5, "erode"), (6, "dilate"), (8, "missed"), (10, "shift"),
    (12, "erode"), (15, "dilate"), (18, "keep"), (22, "shift"), (26, "erode"), (30, "dilate"),
]


# ------------------------------------------------------------------------------- the data


def blob(rng: np.random.Generator, radius_mm: float, irregularity: float = 0.25) -> np.ndarray:
    """An irregular blob: a ball whose radius varies smoothly with direction (bool, local box)."""
    sp = np.asarray(SPACING)
    half = np.ceil(radius_mm * (1 + irregularity) * 1.2 / sp).astype(int) + 1
    x, y, z = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, sp, strict=True)],
                          indexing="ij", sparse=True)
    r = np.sqrt(x * x + y * y + z * z) + 1e-9
    scale = np.ones_like(r)
    for _ in range(4):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        cosine = (x * d[0] + y * d[1] + z * d[2]) / r
        scale = scale + irregularity / 2 * rng.uniform(-1, 1) * np.cos(
            rng.uniform(1, 3) * np.pi * cosine + rng.uniform(0, 2 * np.pi))
    return r <= radius_mm * scale


def make_pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """The (prediction, reference) uint8 pair and a description of each lesion."""
    rng = np.random.default_rng(seed)
    ref = np.zeros(SHAPE, np.uint8)
    pred = np.zeros(SHAPE, np.uint8)
    described = []
    for radius, action in LESIONS:
        b = blob(rng, radius)
        centre = [int(rng.integers(b.shape[a] // 2 + 2, SHAPE[a] - b.shape[a] // 2 - 2))
                  for a in range(3)]
        box = tuple(slice(c - n // 2, c - n // 2 + n) for c, n in zip(centre, b.shape, strict=True))
        ref[box] |= b
        if action == "keep":
            pb = b
        elif action == "shift":
            pb = np.roll(b, (2, -1, 1), axis=(0, 1, 2))
        elif action == "erode":
            pb = ndi.binary_erosion(b)
        elif action == "dilate":
            pb = ndi.binary_dilation(b)
        else:
            pb = np.zeros_like(b)
        pred[box] |= pb
        described.append({"radius_mm": radius, "action": action, "centre_ijk": centre,
                          "voxels": int(b.sum())})
    fp = blob(rng, 7)
    box = tuple(slice(40, 40 + n) for n in fp.shape)
    pred[box] |= fp
    described.append({"radius_mm": 7, "action": "false positive", "centre_ijk":
                      [40 + n // 2 for n in fp.shape], "voxels": int(fp.sum())})
    return pred, ref, described


# ----------------------------------------------------------------------------- the engines


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """Time ``fn`` ``repeats`` times, then once more under tracemalloc for the peak."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"best_s": min(times), "median_s": statistics.median(times), "times_s": times,
            "tracemalloc_peak_mb": peak / 2**20}


def run_ours(pred: np.ndarray, ref: np.ndarray, repeats: int) -> dict[str, Any]:
    """Every per-case and lesion-wise metric with tumorseg.metrics."""
    from tumorseg.metrics import (
        MetricsConfig,
        evaluate_labels,
        lesion_metrics,
        overlap_metrics,
        surface_metrics,
    )

    config = MetricsConfig(nsd_tolerance_mm=TOLERANCE_MM)
    p, r = pred == 1, ref == 1
    out: dict[str, Any] = {"all": _measure(lambda: evaluate_labels(pred, ref, SPACING, config),
                                           repeats)}
    out["overlap_only"] = _measure(lambda: overlap_metrics(p, r, SPACING), repeats)
    out["surface_only"] = _measure(lambda: surface_metrics(p, r, SPACING, TOLERANCE_MM), repeats)
    out["lesionwise_only"] = _measure(lambda: lesion_metrics(p, r, SPACING, config), repeats)
    (m,) = evaluate_labels(pred, ref, SPACING, config)
    le = m.lesions
    out["values"] = {
        "dice": m.overlap.dice, "hd95_mm": m.surface.hd95_mm, "assd_mm": m.surface.assd_mm,
        "nsd": m.surface.nsd, "lesion_tp": le.tp, "lesion_fn": le.fn, "lesion_fp": le.fp,
        "lesionwise_dice": le.lesionwise_dice, "lesionwise_hd95_mm": le.lesionwise_hd95_mm,
    }
    return out


def run_monai(pred: np.ndarray, ref: np.ndarray, repeats: int) -> dict[str, Any]:
    """Dice, HD95, ASSD and NSD with MONAI (no lesion-wise metrics exist there)."""
    import torch
    from monai.metrics import (
        compute_average_surface_distance,
        compute_dice,
        compute_hausdorff_distance,
        compute_surface_dice,
    )

    warnings.simplefilter("ignore")

    def onehot() -> tuple[torch.Tensor, torch.Tensor]:
        p = torch.from_numpy(pred == 1)[None, None]
        r = torch.from_numpy(ref == 1)[None, None]
        return torch.cat([~p, p], 1).float(), torch.cat([~r, r], 1).float()

    out: dict[str, Any] = {"onehot_conversion": _measure(onehot, 1)}
    p, r = onehot()
    calls = {
        "dice": lambda: compute_dice(p, r, include_background=False),
        "hd95_mm": lambda: compute_hausdorff_distance(p, r, percentile=95, spacing=SPACING),
        "assd_mm": lambda: compute_average_surface_distance(p, r, symmetric=True,
                                                            spacing=SPACING),
        "nsd": lambda: compute_surface_dice(p, r, [TOLERANCE_MM], spacing=SPACING),
    }
    out["all"] = _measure(lambda: [f() for f in calls.values()], repeats)
    for name, f in calls.items():
        out[f"{name}_only"] = _measure(f, 1)
    out["values"] = {name: float(f().item()) for name, f in calls.items()}
    out["torch_threads"] = torch.get_num_threads()
    return out


def _child(engine: str, data: Path, repeats: int) -> None:
    with np.load(data) as z:
        pred, ref = z["pred"], z["ref"]
    baseline = _maxrss_mb()
    result = (run_ours if engine == "ours" else run_monai)(pred, ref, repeats)
    result["maxrss_mb_before"] = baseline
    result["maxrss_mb_after"] = _maxrss_mb()
    print(json.dumps(result))


# ------------------------------------------------------------------------------- the report


def _machine() -> dict[str, Any]:
    import monai
    import scipy
    import torch

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(), "cpu_model": cpu, "processor": platform.processor(),
        "machine": platform.machine(), "system": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "monai": monai.__version__, "torch": torch.__version__,
    }


def _table(ours: dict[str, Any], monai: dict[str, Any]) -> str:
    rows = [
        ("tumorseg: all per-case + lesion-wise metrics", ours["all"]),
        ("tumorseg: overlap only", ours["overlap_only"]),
        ("tumorseg: HD95 + ASSD + NSD only", ours["surface_only"]),
        ("tumorseg: lesion-wise only", ours["lesionwise_only"]),
        ("MONAI: Dice + HD95 + ASSD + NSD", monai["all"]),
        ("MONAI: one-hot conversion (extra)", monai["onehot_conversion"]),
        ("MONAI: Dice only", monai["dice_only"]),
        ("MONAI: HD95 only", monai["hd95_mm_only"]),
        ("MONAI: ASSD only", monai["assd_mm_only"]),
        ("MONAI: NSD only", monai["nsd_only"]),
    ]
    lines = ["| what | best s | median s | tracemalloc peak MB |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {m['best_s']:.2f} | {m['median_s']:.2f} | "
              f"{m['tracemalloc_peak_mb']:.0f} |" for name, m in rows]
    lines.append("")
    lines.append("| engine | maxrss before runs MB | maxrss after runs MB |")
    lines.append("|---|---:|---:|")
    for name, m in (("tumorseg", ours), ("MONAI", monai)):
        lines.append(f"| {name} | {m['maxrss_mb_before']:.0f} | {m['maxrss_mb_after']:.0f} |")
    lines.append("")
    lines.append("| value | tumorseg | MONAI |")
    lines.append("|---|---:|---:|")
    for key in ("dice", "hd95_mm", "assd_mm", "nsd"):
        lines.append(f"| {key} | {ours['values'][key]:.6f} | {monai['values'][key]:.6f} |")
    for key in ("lesion_tp", "lesion_fn", "lesion_fp", "lesionwise_dice", "lesionwise_hd95_mm"):
        v = ours["values"][key]
        lines.append(f"| {key} | {v:.4f} | n/a |" if isinstance(v, float) else
                     f"| {key} | {v} | n/a |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/metrics.json"),
                        help="JSON report path (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=["ours", "monai"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        _child(args.engine, args.data, args.repeats)
        return 0

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    pred, ref, lesions = make_pair(args.seed)
    print(f"pair {SHAPE} spacing {SPACING} mm: {len(LESIONS)} reference lesions "
          f"({int(np.count_nonzero(ref))} voxels), made in {time.perf_counter() - t0:.1f} s")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pair.npz"
        np.savez(data, pred=pred, ref=ref)
        for engine in ("ours", "monai"):
            proc = subprocess.run(
                [sys.executable, __file__, "--engine", engine, "--data", str(data),
                 "--repeats", str(args.repeats)],
                capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    load_after = os.getloadavg()
    table = _table(results["ours"], results["monai"])
    speedup = results["monai"]["all"]["best_s"] / results["ours"]["all"]["best_s"]
    print(table)
    print(f"\nMONAI (4 metrics, no lesion-wise) / tumorseg (all metrics): {speedup:.1f}x")
    print("load average (1, 5, 15 min) before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}"
          .format(*load_before, *load_after))
    report = {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": _machine(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "data": {"shape": SHAPE, "spacing_mm": SPACING, "seed": args.seed,
                 "nsd_tolerance_mm": TOLERANCE_MM, "lesions": lesions,
                 "ref_voxels": int(np.count_nonzero(ref)),
                 "pred_voxels": int(np.count_nonzero(pred))},
        "results": results,
        "speedup_monai_over_ours": speedup,
        "table_markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

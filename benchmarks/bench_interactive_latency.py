"""Click-guided segmentation benchmark: latency per click, and Dice after 1…N robot clicks.

Latency: a full-size ``abdomen-ct`` phantom (512×512×100 at 0.8×0.8×2.5 mm, test seed) is
segmented lesion by lesion through :class:`~tumorseg.interactive.session.InteractiveSession`
with the bundled (or given) model: ``--clicks`` robot clicks per lesion (first at the point
of the lesion farthest from its border, then at the centre of the largest error region).
Reported: median / p95 seconds from click to updated mask, and the peak RSS of the process
that ran the session (a child process: the phantom generator's memory is not counted).

Accuracy (``--accuracy-cases N``): the same robot on N held-out phantom cases of each kind
(``abdomen-ct``, ``pet-ct`` first channel, ``brain-mri`` FLAIR; "Ts" seeds, never used in
training), mean Dice per lesion after 1…``--clicks`` clicks, on each image's own grid.

Usage::

    python benchmarks/bench_interactive_latency.py --clicks 5 --accuracy-cases 4

Targets (issue 4): median ≤ 0.5 s and p95 ≤ 1.0 s per click, ≤ 3 GB; Dice ≥ 0.80 after 1
click and ≥ 0.90 after 5 on phantom test cases.
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

import cc3d
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = {"abdomen-ct": 0, "pet-ct": 0, "brain-mri": 3}


def load_model(model: str | None, mirror: tuple[int, ...], refinement: str = "model",
               **kw):
    """The click model with the benchmark's options; ``refinement`` "model" keeps the model
    folder's own (:mod:`tumorseg.interactive.refine`)."""
    from tumorseg.interactive.model import InteractiveModel
    from tumorseg.interactive.refine import override

    return InteractiveModel.load(model, mirror_axes=mirror, refinement=override(refinement),
                                 **kw)


def robot_session(volume, label: np.ndarray, model, n_clicks: int, min_voxels: int = 20,
                  first_prompt_passes: int = 1) -> tuple[list[list[float]], list[list[float]]]:
    """Segment every lesion of ``label`` with robot clicks; (Dice per lesion per click,
    seconds per lesion per click)."""
    from tumorseg.interactive.session import InteractiveSession
    from tumorseg.interactive.simulation import error_click

    session = InteractiveSession(volume, model=model, first_prompt_passes=first_prompt_passes)
    comps = cc3d.connected_components((label > 0).astype(np.uint8), connectivity=26)
    stats = cc3d.statistics(comps)
    dices, seconds = [], []
    for k in range(1, int(comps.max()) + 1):
        if stats["voxel_counts"][k] < min_voxels:
            continue
        box = tuple(slice(max(s.start - 12, 0), s.stop + 12) for s in stats["bounding_boxes"][k])
        offset = np.array([s.start for s in box])
        target = comps[box] == k
        if k > 1 or dices:
            session.new_lesion()
        lesion = session.active_lesion
        row, times = [], []
        for _ in range(n_clicks):
            pred = session.mask[box] == lesion
            click = error_click(pred, target, volume.spacing)
            if click is None:
                row.append(row[-1] if row else 1.0)
                continue
            index = tuple(int(v) for v in np.rint(np.array(click[0]) + offset))
            session.add_click(index, positive=click[1])
            times.append(session.last_seconds)
            pred = session.mask[box] == lesion
            row.append(2.0 * (pred & target).sum() / (pred.sum() + target.sum()))
        dices.append(row)
        seconds.append(times)
    return dices, seconds


def child(image: Path, label: Path, model: str | None, n_clicks: int, out: Path,
          threads: int | None, mirror: tuple[int, ...], device: str = "cpu",
          warm_up: bool = False, refinement: str = "model") -> None:
    """Latency run in its own process (peak RSS is the session's)."""
    from tumorseg.io import read_volume

    volume = read_volume(image)
    lab = np.asarray(read_volume(label).array)
    t0 = time.perf_counter()
    loaded = load_model(model, mirror, refinement, device=device, threads=threads)
    load_s = time.perf_counter() - t0
    warm_s = loaded.warm_up() if warm_up else None
    dices, seconds = robot_session(volume, lab, loaded, n_clicks)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    out.write_text(json.dumps({"seconds": seconds, "dice": dices, "load_s": load_s,
                               "warm_up_s": warm_s,
                               "peak_rss_gb": peak, "shape": list(volume.shape)}))


def latency(model: str | None, n_clicks: int, seed: int, threads: int | None,
            mirror: tuple[int, ...], device: str = "cpu", warm_up: bool = False,
            refinement: str = "model") -> dict:
    from tumorseg.io import write_volume
    from tumorseg.phantoms import case_seed, make_case

    with tempfile.TemporaryDirectory() as tmp:
        case = make_case("abdomen-ct", seed=case_seed(seed, 0, "Ts"), size="full",
                         shape=(512, 512, 100))
        img = write_volume(case.channels[0], Path(tmp) / "ct.nii.gz")
        lab = write_volume(case.label, Path(tmp) / "label.nii.gz")
        res = Path(tmp) / "res.json"
        cmd = [sys.executable, __file__, "--child", str(img), str(lab), str(res),
               "--clicks", str(n_clicks)] + (["--model", model] if model else []) \
            + (["--threads", str(threads)] if threads else []) \
            + ["--mirror-axes", "".join(map(str, mirror)) or "none", "--device", device] \
            + (["--warm-up"] if warm_up else []) + ["--refinement", refinement]
        subprocess.run(cmd, check=True)
        r = json.loads(res.read_text())
    s = np.array([t for lesion in r["seconds"] for t in lesion])
    return {"threads": threads or "torch default", "device": device, "clicks": len(s),
            "warm_up_s": r["warm_up_s"],
            "median_s": float(np.median(s)), "p95_s": float(np.percentile(s, 95)),
            "max_s": float(s.max()), "model_load_s": r["load_s"], "peak_rss_gb": r["peak_rss_gb"],
            "shape": r["shape"], "lesions": len(r["dice"]),
            "dice_per_click": np.mean(r["dice"], axis=0).tolist() if r["dice"] else [],
            "seconds_per_lesion_per_click": r["seconds"]}


def accuracy(model: str | None, n_cases: int, n_clicks: int, seed: int,
             mirror: tuple[int, ...], first_prompt_passes: int = 1,
             refinement: str = "model") -> dict:
    from tumorseg.phantoms import iter_cases

    loaded = load_model(model, mirror, refinement)
    out = {}
    for kind, channel in CHANNEL.items():
        rows = []
        for case in iter_cases(kind, n_cases, seed=seed, split="Ts", size="small"):
            dices, _ = robot_session(case.channels[channel], np.asarray(case.label.array),
                                     loaded, n_clicks, first_prompt_passes=first_prompt_passes)
            rows += dices
            print(f"{kind} {case.name}: {len(dices)} lesions, Dice after 1 click "
                  f"{np.mean([d[0] for d in dices]) if dices else float('nan'):.3f}", flush=True)
        out[kind] = {"lesions": len(rows),
                     "dice_per_click": np.mean(rows, axis=0).tolist() if rows else []}
    everything = [d for k in out for d in [out[k]["dice_per_click"]] if d]
    out["mean_over_kinds"] = np.mean(everything, axis=0).tolist() if everything else []
    return out


def real_mri(model: str | None, n_clicks: int, mirror: tuple[int, ...],
             first_prompt_passes: int = 1, refinement: str = "model") -> dict:
    """The robot on the real MRI tumors in ``../shared/data/real`` (never trained on)."""
    from tumorseg.io import read_volume

    real = ROOT.parent / "shared" / "data" / "real"
    loaded = load_model(model, mirror, refinement)
    out = {}
    for name in ("mri_brain_tumor", "mri_breast_tumor"):
        image, label = real / f"{name}.nrrd", real / f"{name}_label.nrrd"
        if not image.exists():
            continue
        dices, _ = robot_session(read_volume(image), np.asarray(read_volume(label).array),
                                 loaded, n_clicks, min_voxels=1,
                                 first_prompt_passes=first_prompt_passes)
        out[name] = {"lesions": len(dices),
                     "dice_per_click": np.mean(dices, axis=0).tolist() if dices else []}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: bundled)")
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026, help="phantom seed (Ts stream)")
    parser.add_argument("--accuracy-cases", type=int, default=0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--real", action="store_true",
                        help="also the real MRI tumors in ../shared/data/real")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the network (default: torch's choice)")
    parser.add_argument("--mirror-axes", default=None,
                        help="mirroring TTA axes of the click model, e.g. 01, or none "
                             "(default: the model's default)")
    parser.add_argument("--device", default="cpu",
                        help="where the click network runs in the latency run (cpu, cuda)")
    parser.add_argument("--first-prompt-passes", type=int, default=None,
                        help="network passes for a lesion's first click in the accuracy "
                             "runs, phantoms and --real (InteractiveSession."
                             "first_prompt_passes; default: its default)")
    parser.add_argument("--warm-up", action="store_true",
                        help="run the network once on zeros after loading it, before the "
                             "first timed click (InteractiveModel.warm_up, as the server does)")
    parser.add_argument("--refinement", default="model",
                        choices=["model", "none", "random-walker"],
                        help="refinement of the network's probability (default: the model "
                             "folder's; tumorseg.interactive.refine)")
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "interactive_latency.json")
    args = parser.parse_args()
    from tumorseg.interactive.model import DEFAULT_MIRROR_AXES
    from tumorseg.interactive.session import DEFAULT_FIRST_PROMPT_PASSES

    passes = args.first_prompt_passes or DEFAULT_FIRST_PROMPT_PASSES
    mirror = DEFAULT_MIRROR_AXES if args.mirror_axes is None else () \
        if args.mirror_axes == "none" else tuple(int(c) for c in args.mirror_axes)
    if args.child:
        child(args.child[0], args.child[1], args.model, args.clicks, args.child[2],
              args.threads, mirror, args.device, args.warm_up, args.refinement)
        return
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores",
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "model": args.model or "bundled interactive-lesions",
                    "mirror_axes": list(mirror), "first_prompt_passes": passes,
                    "refinement": args.refinement}
    if not args.skip_latency:
        result["latency"] = latency(args.model, args.clicks, args.seed, args.threads, mirror,
                                    args.device, args.warm_up, args.refinement)
    if args.accuracy_cases:
        result["accuracy"] = accuracy(args.model, args.accuracy_cases, args.clicks, args.seed,
                                      mirror, passes, args.refinement)
    if args.real:
        real = real_mri(args.model, args.clicks, mirror, passes, args.refinement)
        result["accuracy"] = {**result.get("accuracy", {}),
                              **{f"real {k}": v for k, v in real.items()}}
    print("\n| measure | value | target |\n| --- | --- | --- |")
    if "latency" in result:
        lat = result["latency"]
        print(f"| median s / click (512×512×100 CT, {lat['clicks']} clicks, "
              f"threads {lat['threads']}, {lat['device']}) | "
              f"{lat['median_s']:.3f} | ≤ 0.5 |")
        print(f"| p95 s / click | {lat['p95_s']:.3f} | ≤ 1.0 |")
        print(f"| peak RSS GB | {lat['peak_rss_gb']:.2f} | ≤ 3 |")
    for kind, acc in result.get("accuracy", {}).items():
        d = acc["dice_per_click"] if isinstance(acc, dict) else acc
        if d:
            print(f"| Dice after 1 / {len(d)} clicks, {kind} | {d[0]:.3f} / {d[-1]:.3f} | "
                  "≥ 0.80 / ≥ 0.90 |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Load test of ``tumorseg serve``: 1, 4 and 8 sessions clicking at once on loopback.

Starts the real server as a subprocess on a free loopback port with the bundled interactive
model when it exists (otherwise a model folder with the same architecture and random
weights, written to a temporary folder: the same compute per click, meaningless masks —
the output says which). Each simulated user opens its own study (a copy of one phantom CT)
and clicks in a loop near a lesion — positive clicks, every fourth one negative — until it
has sent ``--clicks`` clicks or ``--seconds`` have passed. Reports the click latency
(request sent → new state received) p50/p95/max per concurrency, clicks per second, and lost
interactions: clicks answered 200 whose event is missing from the session's audit trail,
plus clicks not answered 200 (both must be 0).

    python benchmarks/bench_server_load.py                      # small phantom CT
    python benchmarks/bench_server_load.py --size large         # 512×512×100 CT

Writes ``benchmarks/results/server_load_<size>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cc3d
import httpx
import numpy as np

from tumorseg.interactive.model import bundled_interactive_dir
from tumorseg.io import Volume, write_volume

RESULTS = Path(__file__).resolve().parent / "results"


def phantom(size: str, out: Path, copies: int) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Write ``copies`` identical CTs; return their names and lesion centres (voxels)."""
    if size == "small":
        from tumorseg.phantoms import make_case

        case = make_case("abdomen-ct", 7, size="small")
        volume, label = case.channels[0], np.asarray(case.label.array) > 0
    else:  # 512×512×100 at 0.8×0.8×2.5 mm: body ellipse, liver-like block, three lesions
        shape, rng = (512, 512, 100), np.random.default_rng(0)
        g = np.ogrid[:512, :512, :100]
        body = ((g[0] - 256) / 220.0) ** 2 + ((g[1] - 256) / 170.0) ** 2 <= 1
        arr = np.where(np.broadcast_to(body, shape), 40, -1000).astype(np.int16)
        label = np.zeros(shape, bool)
        for c in ((200, 230, 50), (320, 260, 40), (260, 330, 70)):
            ball = ((g[0] - c[0]) * 0.8) ** 2 + ((g[1] - c[1]) * 0.8) ** 2 + \
                ((g[2] - c[2]) * 2.5) ** 2 <= 12.0**2
            label |= ball
        arr[label] = 120
        arr += rng.normal(0, 8, shape).astype(np.int16)
        volume = Volume(arr, spacing=(0.8, 0.8, 2.5), modality="CT")
    comps = cc3d.connected_components(label.astype(np.uint8))
    stats = cc3d.statistics(comps)
    centres = [tuple(int(np.rint(v)) for v in c) for c in stats["centroids"][1:]
               if not np.isnan(c).any()]
    names = []
    for n in range(copies):
        names.append(f"ct{n}.nii.gz")
        write_volume(volume, out / names[-1])
    return names, centres or [tuple(s // 2 for s in volume.shape)]


def model_folder(tmp: Path) -> tuple[Path, str]:
    bundled = bundled_interactive_dir()
    if (bundled / "model.json").is_file():
        return bundled, "bundled interactive model"
    import torch

    from tumorseg.interactive.model import (
        InteractiveModelSpec,
        default_network,
        save_interactive_weights,
    )
    from tumorseg.models import build_network
    from tumorseg.training.interactive import InteractiveTrainingConfig

    cfg = InteractiveTrainingConfig()
    torch.manual_seed(0)
    spec = InteractiveModelSpec(spacing_mm=cfg.spacing_mm, patch_size=cfg.patch_size,
                                guidance=cfg.guidance, network=default_network(cfg.features))
    save_interactive_weights(tmp / "model", build_network(spec.network), spec)
    return tmp / "model", ("random-weight stand-in with the training defaults' architecture "
                           f"(patch {cfg.patch_size}, {cfg.spacing_mm} mm): bundled interactive "
                           "model not found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data: Path, state: Path, model: Path, port: int, torch_threads: int
          ) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tumorseg.cli.main", "serve", "--data", str(data), "--state",
           str(state), "--port", str(port), "--model", str(model),
           "--torch-threads", str(torch_threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def run_level(url: str, sids: list[str], centres: list, clicks: int, seconds: float
              ) -> dict:
    latencies: list[float] = []
    failed: list[str] = []
    sent_ok = {s: 0 for s in sids}
    before = {s: len(httpx.get(f"{url}/sessions/{s}/history").json()) for s in sids}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(n: int, sid: str) -> None:
        rng = np.random.default_rng(n)
        with httpx.Client(timeout=120) as client:
            for k in range(clicks):
                if time.monotonic() > stop:
                    break
                c = centres[(n + k) % len(centres)]
                ijk = [int(v + rng.integers(-2, 3)) for v in c]
                t0 = time.perf_counter()
                r = client.post(f"{url}/sessions/{sid}/clicks",
                                json={"ijk": ijk, "positive": k % 4 != 3})
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code == 200:
                        latencies.append(dt)
                        sent_ok[sid] += 1
                    else:
                        failed.append(f"{r.status_code} {r.text[:100]}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n, s)) for n, s in enumerate(sids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    recorded = {s: len(httpx.get(f"{url}/sessions/{s}/history").json()) - before[s]
                for s in sids}
    lost = sum(max(0, sent_ok[s] - recorded[s]) for s in sids) + len(failed)
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"sessions": len(sids), "clicks": len(latencies), "failed": len(failed),
            "lost_interactions": lost, "wall_s": wall,
            "clicks_per_s": len(latencies) / wall if wall else 0.0,
            "p50_s": float(np.percentile(lat, 50)), "p95_s": float(np.percentile(lat, 95)),
            "max_s": float(np.max(lat)), "errors": failed[:5]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["small", "large"], default="small")
    ap.add_argument("--levels", default="1,4,8")
    ap.add_argument("--clicks", type=int, default=10, help="clicks per session (at most)")
    ap.add_argument("--seconds", type=float, default=60.0, help="time limit per level")
    ap.add_argument("--torch-threads", type=int, default=1)
    args = ap.parse_args()
    levels = [int(v) for v in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="tumorseg-load-"))
    try:
        data = tmp / "data"
        data.mkdir()
        names, centres = phantom(args.size, data, max(levels))
        model, model_note = model_folder(tmp)
        port = free_port()
        proc = serve(data, tmp / "state", model, port, args.torch_threads)
        url = f"http://127.0.0.1:{port}/api"
        try:
            studies = {s["name"]: s for s in httpx.get(f"{url}/studies").json()}
            shape = studies[names[0]]["shape"]
            sids = [httpx.post(f"{url}/sessions", json={"study_id": studies[n]["id"]},
                               timeout=300).json()["session_id"] for n in names]
            for s in sids:  # warm-up: one click each (first ROI, caches), not measured
                httpx.post(f"{url}/sessions/{s}/clicks", json={"ijk": list(centres[0])},
                           timeout=300)
            rows = [run_level(url, sids[:n], centres, args.clicks, args.seconds)
                    for n in levels]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"server load test: {args.size} CT {shape}, model: {model_note}")
    print(f"{os.cpu_count()} CPU cores, torch threads per click {args.torch_threads}, "
          f"1 model worker")
    print(f"{'sessions':>8} {'clicks':>7} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'clicks/s':>8} {'lost':>5}")
    for r in rows:
        print(f"{r['sessions']:>8} {r['clicks']:>7} {r['p50_s']:>7.3f} {r['p95_s']:>7.3f} "
              f"{r['max_s']:>7.3f} {r['clicks_per_s']:>8.2f} {r['lost_interactions']:>5}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"server_load_{args.size}.json"
    out.write_text(json.dumps({"size": args.size, "shape": shape, "model": model_note,
                               "cpu_count": os.cpu_count(), "clicks_per_session": args.clicks,
                               "seconds_limit": args.seconds,
                               "torch_threads": args.torch_threads, "levels": rows},
                              indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

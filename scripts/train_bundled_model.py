"""Train the bundled automatic model ``abdomen-ct-lesions`` from scratch, reproducibly.

Generates the synthetic ``abdomen-ct`` training set (``--cases``, seed 2026, size "small":
3×3×4 mm), plans a network, trains fold ``all`` and copies the shippable files (plan,
manifest, fp16 weights with their SHA-256) into ``src/tumorseg/models/bundled/abdomen-ct-lesions/``.

The shipped model (usage, from the repository root; a GPU, 17 min on an H100)::

    python scripts/train_bundled_model.py --data data/abdomen-gpu --cases 100 --gen-workers 8 \
        --model-dir models/abdomen-ct-gpu --plan-device cuda --gpu-memory 8 \
        --network-size small --epochs 80 --iterations-per-epoch 100 --device cuda \
        --num-workers 7

plans nnU-Net's way for the GPU (patch and batch from ``--gpu-memory``; 16…160 features,
15 MB of float16 weights). The defaults (``--plan-device cpu --network-size tiny``: 8…80
features, 48×48×40-voxel patches, 40 phantoms) give the earlier CPU model, far less
accurate (``benchmarks/RESULTS.md``)::

    python scripts/train_bundled_model.py --epochs 14 --iterations-per-epoch 100 \
        --patch 48,48,40 --device auto
    python scripts/train_bundled_model.py --epochs 40 --iterations-per-epoch 100 \
        --patch 48,48,40 --device auto --resume

``--install-only --model-dir DIR`` copies a model trained elsewhere into the package.

The training data never includes the test seeds of the benchmarks (``case_seed`` streams
"Tr" vs "Ts"), nor any real scan.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from tumorseg.phantoms import generate_dataset
from tumorseg.planning import PlannerConfig, compute_fingerprint, make_plan, read_dataset
from tumorseg.planning.network import ARCHITECTURES
from tumorseg.training import NETWORK_SIZES, TrainingConfig, train

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "tumorseg" / "models" / "bundled" / "abdomen-ct-lesions"
SHIPPED = ("plan.json", "dataset.json", "model.json", "splits.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "abdomen-small")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "abdomen-ct-lesions")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--iterations-per-epoch", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--patch", default="48,48,40",
                        help="largest patch in voxels (i,j,k) when planning for the CPU")
    parser.add_argument("--plan-device", default="cpu", choices=["cpu", "cuda"],
                        help="plan patch and batch for this device (cuda: from --gpu-memory)")
    parser.add_argument("--gpu-memory", type=float, default=None,
                        help="GPU memory budget in GB for --plan-device cuda")
    parser.add_argument("--network-size", default="tiny", choices=list(NETWORK_SIZES),
                        help="feature maps: tiny 8…80, small 16…160, default 32…320")
    parser.add_argument("--num-workers", type=int, default=None,
                        help="data-loading processes (default: TrainingConfig's rule)")
    parser.add_argument("--gen-workers", type=int, default=1,
                        help="processes generating the phantom training set")
    parser.add_argument("--optimizer", default="adamw", choices=["sgd", "adamw"])
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--architecture", default="dynunet", choices=list(ARCHITECTURES),
                        help="unet: the plain MONAI UNet of the benchmark comparison")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--no-install", action="store_true",
                        help="do not copy the result into the package")
    parser.add_argument("--install-only", action="store_true",
                        help="train nothing: copy the trained --model-dir into the package "
                             "(e.g. one trained on a GPU machine)")
    args = parser.parse_args()
    if args.install_only:
        install(args.model_dir)
        return

    if not (args.data / "dataset.json").exists():
        generate_dataset("abdomen-ct", args.data, args.cases, seed=args.seed, size="small",
                         workers=args.gen_workers)
    dataset = read_dataset(args.data)
    if len(dataset.cases) != args.cases:
        raise SystemExit(f"{args.data}: holds {len(dataset.cases)} cases, not --cases "
                         f"{args.cases}; give another --data folder")
    args.model_dir.mkdir(parents=True, exist_ok=True)
    plan_file = args.model_dir / "plan_request.json"
    if not (args.model_dir / "plan.json").exists():
        patch = tuple(int(v) for v in args.patch.split(","))
        base, top = NETWORK_SIZES[args.network_size]
        config = PlannerConfig(base_features=base, max_features=top,
                               cpu_max_patch_voxels=patch[0] * patch[1] * patch[2],
                               architecture=args.architecture)
        plan = make_plan(compute_fingerprint(dataset), dataset, memory_budget_gb=args.gpu_memory,
                         device=args.plan_device, config=config)
        plan.save(plan_file)
    result = train(args.data, args.model_dir, fold="all",
                   config=TrainingConfig(epochs=args.epochs,
                                         iterations_per_epoch=args.iterations_per_epoch,
                                         plan_file=str(plan_file), val_max_cases=4, seed=0,
                                         optimizer=args.optimizer, learning_rate=args.lr,
                                         architecture=args.architecture,
                                         num_workers=args.num_workers),
                   device=args.device, resume=args.resume)
    print(json.dumps({"epochs": result.epochs_completed, "best_val_dice": result.best_val_dice,
                      "final_val_dice": result.final_val_dice,
                      "iterations_per_s": result.iterations_per_second}, default=str))
    if not args.no_install:
        install(args.model_dir)


def install(model_dir: Path) -> None:
    """Copy the shippable files of a trained ``model_dir`` (fold ``all``) into the package."""
    if BUNDLED.exists():
        shutil.rmtree(BUNDLED)
    (BUNDLED / "fold_all").mkdir(parents=True)
    for name in SHIPPED:
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, BUNDLED / name)
    for name in ("weights.pt", "fold.json", "training_log.csv", "training_config.json"):
        shutil.copy2(model_dir / "fold_all" / name, BUNDLED / "fold_all" / name)
    for path in BUNDLED.rglob("*.json"):
        _relative_paths(path)
    print(f"installed {BUNDLED}")


def _relative_paths(path: Path) -> None:
    """Rewrite absolute paths under the repository as repository-relative ones, so the
    shipped files do not name this machine's folders."""
    prefix = str(ROOT) + "/"

    def fix(value):
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, str) and value.startswith(prefix):
            return value[len(prefix):]
        return value

    path.write_text(json.dumps(fix(json.loads(path.read_text())), indent=2) + "\n")


if __name__ == "__main__":
    main()

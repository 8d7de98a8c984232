"""Train the bundled click-guided model ``interactive-lesions`` from scratch, reproducibly.

Generates a mixed synthetic training set ("Tr" seeds only, size "small"): ``abdomen-ct``
(CT lesions in liver, kidney, pancreas), ``pet-ct`` (CT + PET channels, avid lesions) and
``brain-mri`` (T1, T1c, T2, FLAIR gliomas) into ``data/interactive/`` (gitignored), trains the
guided U-Net on all three with domain randomisation and simulated clicks
(:func:`tumorseg.training.interactive.train_interactive`), and copies model.json, weights.pt and
training_log.csv into ``src/tumorseg/models/bundled/interactive-lesions/``.

Usage (from the repository root)::

    python scripts/train_interactive_model.py --epochs 24 --iterations-per-epoch 36

The shipped weights come from three runs of this script (a GPU run from scratch, stopped with
``--stop-after-epoch`` and resumed on a shorter schedule, then a CPU fine-tune with
``--init-from``); README, section ``tumorseg segment``, lists the exact commands.

No test seed ("Ts") and no real scan is ever used.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

from tumorseg.interactive.guidance import GuidanceConfig
from tumorseg.interactive.model import DEFAULT_NORMALIZATION, NORMALIZATION_SCHEMES
from tumorseg.interactive.refine import RefinementConfig
from tumorseg.phantoms import generate_dataset
from tumorseg.training.interactive import InteractiveTrainingConfig, train_interactive

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "tumorseg" / "models" / "bundled" / "interactive-lesions"
KINDS = {"abdomen-ct": 24, "pet-ct": 16, "brain-mri": 16}
SHIPPED = ("model.json", "weights.pt", "training_log.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "interactive")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "interactive-lesions")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the case counts")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--iterations-per-epoch", type=int, default=36)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--guidance", default="adaptive", choices=["ball", "gaussian", "adaptive"])
    parser.add_argument("--features", default="8,16,32,64")
    parser.add_argument("--normalization", default=DEFAULT_NORMALIZATION,
                        choices=sorted(NORMALIZATION_SCHEMES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init-from", default=None,
                        help="start from this interactive model folder's weights (fine-tune)")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--per-sample-dice", action="store_true",
                        help="Dice per sample instead of over the batch")
    parser.add_argument("--spatial-augmentation", action="store_true",
                        help="mirror (p 0.5 per axis), permute axes (p 0.5) and zoom "
                             "(p 0.5, 0.7-1.4x) the training patches")
    parser.add_argument("--min-contrast", type=float, default=0.0,
                        help="train on a lesion only in the channels where its contrast to "
                             "the 2 voxels around it is at least this (0: every channel)")
    parser.add_argument("--refinement", default="random-walker",
                        choices=["none", "random-walker"],
                        help="what the model does to its network's probability at inference "
                             "(recorded in model.json; tumorseg.interactive.refine)")
    parser.add_argument("--num-workers", type=int, default=0,
                        help="processes making training samples (0: the training process)")
    parser.add_argument("--gen-workers", type=int, default=1,
                        help="processes generating the phantom training sets")
    parser.add_argument("--stop-after-epoch", type=int, default=None,
                        help="end the run after this epoch; the LR schedule still follows "
                             "--epochs (continue with --resume)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not copy the result into the package")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    datasets = []
    for kind, n in KINDS.items():
        out, cases = args.data / kind, max(2, round(n * args.scale))
        if not (out / "dataset.json").exists():
            generate_dataset(kind, out, cases, seed=args.seed, size="small",
                             workers=args.gen_workers)
        found = json.loads((out / "dataset.json").read_text())["numTraining"]
        if found != cases:
            raise SystemExit(f"{out}: holds {found} cases, not {cases} (--scale "
                             f"{args.scale}); give another --data folder")
        datasets.append(out)
    config = InteractiveTrainingConfig(
        epochs=args.epochs, iterations_per_epoch=args.iterations_per_epoch,
        batch_size=args.batch_size, seed=0, guidance=GuidanceConfig(kind=args.guidance),
        normalization=args.normalization, learning_rate=args.learning_rate,
        batch_dice=not args.per_sample_dice,
        init_from=None if args.init_from is None else str(args.init_from),
        features=tuple(int(v) for v in args.features.split(",")),
        num_workers=args.num_workers, min_contrast=args.min_contrast,
        refinement=RefinementConfig(method=args.refinement),
        **({"p_flip": 0.5, "p_transpose": 0.5, "p_scale": 0.5}
           if args.spatial_augmentation else {}))
    result = train_interactive(datasets, args.model_dir, config, device=args.device,
                               resume=args.resume, stop_after_epoch=args.stop_after_epoch)
    print(json.dumps({"epochs": result.epochs_completed,
                      "val_dice_1click": result.val_dice_1click,
                      "val_dice_3clicks": result.val_dice_3clicks,
                      "iterations_per_s": result.iterations_per_second,
                      "seconds": result.seconds}))
    if args.no_install:
        return
    if BUNDLED.exists():
        shutil.rmtree(BUNDLED)
    BUNDLED.mkdir(parents=True)
    for name in SHIPPED:
        shutil.copy2(args.model_dir / name, BUNDLED / name)
    print(f"installed {BUNDLED}")


if __name__ == "__main__":
    main()

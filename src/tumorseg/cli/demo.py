"""``tumorseg demo``: the whole path on a built-in synthetic case, no data needed.

Generate an ``abdomen-ct`` phantom case → segment its lesions with the bundled automatic
3D U-Net (or, with ``--method baseline`` or when no bundled model is installed, the
classical organ-outlier baseline) → evaluate against the exact label → write images, mask,
lesion table, metrics (CSV/JSON) and a PNG montage, and print where they are.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tumorseg import __version__
from tumorseg.baselines import OrganOutlierConfig, segment_organ_outliers
from tumorseg.cli.common import case_progress, console, status
from tumorseg.io import atomic_write_text, write_volume
from tumorseg.metrics import MetricsConfig, evaluate_files
from tumorseg.phantoms import make_case, save_montage

__all__ = ["demo_command", "run_demo"]

#: The abdomen organs (phantom organ label values) searched by the baseline.
_BASELINE_ORGANS = ("liver", "kidney_right", "kidney_left", "pancreas")


def _segment_with_model(image, out: Path, fast: bool):
    """Bundled model → (mask Volume, method text, extra output paths)."""
    from tumorseg.inference import Predictor
    from tumorseg.inference.registry import DEFAULT_MODEL, bundled_model_dir
    from tumorseg.postprocessing import PostprocessConfig, lesion_table, write_lesion_table

    predictor = Predictor.from_model_dir(bundled_model_dir(), device="auto", fast=fast)
    with case_progress() as shown:
        prediction = predictor.predict_volume(image, progress=shown.windows("demo_case"))
    prediction = prediction.postprocessed(PostprocessConfig())
    paths = {"probabilities": write_volume(prediction.probabilities.channel(1),
                                           out / "lesion_probability.nii.gz"),
             "uncertainty": write_volume(prediction.uncertainty, out / "uncertainty.nii.gz")}
    lesions = lesion_table(prediction.labels, prediction.probabilities,
                           prediction.uncertainty, prediction.label_names)
    paths["lesion_table"] = write_lesion_table(lesions, out / "predicted_lesions.csv")
    mode = "fast, no mirroring" if fast else "mirroring TTA"
    return prediction.labels, f"bundled 3D U-Net '{DEFAULT_MODEL}' ({mode})", paths


#: ``--method auto`` uses the bundled model only when its recorded validation Dice (on
#: held-out phantom cases, ``fold_all/fold.json``) reaches this; else the baseline.
MIN_BUNDLED_VAL_DICE = 0.5


def bundled_model_available(min_val_dice: float = MIN_BUNDLED_VAL_DICE) -> bool:
    """True when the default bundled model is installed and its recorded validation Dice is
    at least ``min_val_dice``."""
    from tumorseg.errors import InputError
    from tumorseg.inference.registry import bundled_model_dir

    try:
        folder = bundled_model_dir()
    except InputError:
        return False
    dices = []
    for record in folder.glob("fold_*/fold.json"):
        dices.append(float(json.loads(record.read_text()).get("val_dice_mean") or 0.0))
    return bool(dices) and max(dices) >= min_val_dice


def run_demo(out: Path, seed: int = 7, size: str = "full", method: str = "auto",
             fast: bool = False) -> dict:
    """Run the demo into folder ``out`` and return a JSON-ready summary with output paths.

    ``method``: "model" (bundled U-Net), "baseline" (classical) or "auto" (the model when
    installed and validated, see :data:`MIN_BUNDLED_VAL_DICE`, else the baseline).
    """
    from tumorseg.errors import InputError
    from tumorseg.phantoms.abdomen_ct import ORGAN_LABELS

    if method not in ("auto", "model", "baseline"):
        raise InputError(f"--method {method}: use auto, model or baseline")
    use_model = method == "model" or (method == "auto" and bundled_model_available())

    out = Path(out)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with status(f"generating an abdomen-ct phantom (seed {seed}, size {size})"):
        case = make_case("abdomen-ct", seed=seed, name="demo_case", size=size)
    timings["phantom_s"] = time.perf_counter() - t0
    image, label, organs = case.channels[0], case.label, case.extras["organs"]
    paths = {
        "image": write_volume(image, out / "image.nii.gz"),
        "label": write_volume(label, out / "labels" / "demo_case.nii.gz"),
        "organs": write_volume(organs, out / "organs.nii.gz"),
    }
    t0 = time.perf_counter()
    if use_model:
        mask, method_text, extra = _segment_with_model(image, out, fast)
        paths.update(extra)
    else:
        with status("segmenting lesions (classical organ-outlier baseline)"):
            organ_values = tuple(v for k, v in ORGAN_LABELS.items() if k in _BASELINE_ORGANS)
            mask = segment_organ_outliers(image, organs,
                                          OrganOutlierConfig(organs=organ_values))
        method_text = "organ-outlier baseline (classical, uses the phantom's organ labels)"
    timings["segment_s"] = time.perf_counter() - t0
    paths["prediction"] = write_volume(mask, out / "predictions" / "demo_case.nii.gz")
    t0 = time.perf_counter()
    with status("evaluating against the phantom's exact label"):
        result = evaluate_files(paths["prediction"], paths["label"], out / "metrics",
                                MetricsConfig())
    timings["evaluate_s"] = time.perf_counter() - t0
    paths.update({"metrics_per_case": result.paths.per_case_csv,
                  "metrics_per_lesion": result.paths.per_lesion_csv,
                  "metrics_summary": result.paths.summary_json})
    paths["montage"] = save_montage(
        image, out / "montage.png", label=label, second_label=mask, window="ct-abdomen",
        title="demo: reference (red) vs prediction (dashed yellow)")
    row = result.cases[0].labels[0].as_row() if result.cases[0].labels else {}
    summary = {
        "tumorseg": __version__,
        "seed": seed,
        "size": size,
        "lesions_in_phantom": len(case.info.get("lesions", [])),
        "method": method_text,
        "metrics": row,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    atomic_write_text(out / "demo_summary.json", json.dumps(summary, indent=2, default=str))
    return summary


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "tumorseg-demo"),
    seed: Annotated[int, typer.Option(help="Phantom seed.")] = 7,
    size: Annotated[str, typer.Option(help="Phantom size: 'full' or 'small' (fast).")] = "full",
    method: Annotated[str, typer.Option(
        help="auto (the bundled model when installed with validation Dice >= 0.5, else the "
             "baseline), model or baseline.")
    ] = "auto",
    fast: Annotated[bool, typer.Option("--fast", help="No mirroring test-time augmentation.")
                    ] = False,
) -> None:
    """Run the built-in demo: phantom CT → lesion segmentation → metrics → files.

    Example: tumorseg demo --out tumorseg-demo
    """
    s = run_demo(out, seed=seed, size=size, method=method, fast=fast)
    m = s["metrics"]
    table = Table(title=f"demo case: {s['lesions_in_phantom']} lesions, {s['method']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, fmt in [("dice", ".3f"), ("hd95_mm", ".1f"), ("nsd", ".3f"),
                     ("lesion_sensitivity", ".2f"), ("lesion_fp", "d"),
                     ("lesionwise_dice", ".3f"), ("volume_ref_ml", ".1f"),
                     ("volume_pred_ml", ".1f")]:
        if key in m and m[key] is not None:
            value = m[key]
            table.add_row(key, format(int(value) if fmt == "d" else float(value), fmt))
    console.print(table)
    console.print(f"outputs in [bold]{out}[/bold]:")
    for key, path in s["outputs"].items():
        console.print(f"  {key:<22} {path}")
    console.print(f"  {'summary':<22} {Path(out) / 'demo_summary.json'}")

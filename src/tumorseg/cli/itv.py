"""``tumorseg itv``: GTV on every phase of a 4D CT, the ITV, the MIP and the tumor motion."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from tumorseg.cli.common import console, err_console, progress_bar, status
from tumorseg.errors import InputError
from tumorseg.fourd import (
    ITVSettings,
    PerPhaseSettings,
    RegistrationSettings,
    choose_reference_phase,
    compute_itv,
    detect_lung_tumor,
    gtv_from_clicks,
    gtv_from_mask,
    load_phases,
    write_itv_outputs,
)
from tumorseg.fourd.gtv_source import (
    CLICK_METHODS,
    DEFAULT_CLICK_METHOD,
    click_session_factory,
)
from tumorseg.fourd.outputs import is_itv_output, write_rtstruct_output
from tumorseg.io import parse_point, point_to_index
from tumorseg.io.atomic import atomic_folder, replaceable_folder, require_folder_name

__all__ = ["itv_command"]


class MethodOption(StrEnum):
    """``--method``."""

    propagate = "propagate"
    per_phase = "per-phase"
    both = "both"


class CoordsOption(StrEnum):
    """``--coords``."""

    voxel = "voxel"
    mm = "mm"


#: ``--click-method``: one member per :data:`tumorseg.fourd.gtv_source.CLICK_METHODS`.
ClickMethodOption = StrEnum("ClickMethodOption", {m.replace("-", "_"): m for m in CLICK_METHODS})
_DEFAULT_CLICK_METHOD = ClickMethodOption(DEFAULT_CLICK_METHOD)


class SegmenterOption(StrEnum):
    """``--segmenter`` (per-phase method)."""

    auto = "auto"
    threshold = "threshold"
    click = "click"


def _per_phase_segmenter(choice: SegmenterOption, device: str) -> tuple[str, Any]:
    """(segmenter name, session factory or None); ``auto`` = threshold, chosen by measurement:
    per-phase GTV Dice 0.944 against 0.378 for the click-guided model on the 4 benchmark
    lung-4dct phantoms (``benchmarks/bench_itv.py --segmenter click``; RESULTS.md, 4D CT)."""
    if choice != SegmenterOption.click:
        return "threshold", None
    return "click", click_session_factory(device)


def itv_command(
    phases: Annotated[list[Path], typer.Argument(
        help="Phase volumes in breathing order (files or DICOM series folders), one 4D "
             "image, or one folder with one DICOM series per phase.", show_default=False)],
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Output folder.", show_default=False)],
    method: Annotated[MethodOption, typer.Option(
        help="propagate: deformable registration of the reference phase to every phase; "
             "per-phase: segment every phase on its own; both: run both and report their "
             "agreement (the files hold the propagated GTVs).")] = MethodOption.propagate,
    reference_phase: Annotated[int | None, typer.Option(
        help="Phase the GTV is drawn on (0-based, breathing order); required with --mask. "
             "Default for --click and the automatic detector: end-exhale = the phase with the "
             "smallest lung air volume.", show_default=False)] = None,
    mask: Annotated[Path | None, typer.Option(
        help="The GTV drawn on phase --reference-phase (label file on the phases' grid).",
        show_default=False)] = None,
    click: Annotated[list[str] | None, typer.Option(
        help="A click X,Y,Z on the tumor in the reference phase (repeatable), segmented by "
             "--click-method.", show_default=False)] = None,
    click_method: Annotated[ClickMethodOption, typer.Option(
        help="Segmenter of the reference GTV from --click (and of the automatic detector's "
             "seed): random-walker (default: the most "
             "accurate after one click on 12 lung-4dct phantoms: mean Dice 0.79 against "
             "0.71 for the model), region-growing (SimpleITK), or model (the bundled "
             "click-guided network, trained on abdomen/PET/brain phantoms).")
    ] = _DEFAULT_CLICK_METHOD,
    coords: Annotated[CoordsOption, typer.Option(
        help="Click coordinates: voxel indices or LPS mm.")] = CoordsOption.voxel,
    segmenter: Annotated[SegmenterOption, typer.Option(
        help="How per-phase segments a phase: threshold (classical), click (the click-guided "
             "model at the located tumor), auto (= threshold: per-phase GTV Dice 0.94 "
             "against 0.38 for the model on the benchmark phantoms).")
    ] = SegmenterOption.auto,
    margin_mm: Annotated[float, typer.Option(
        help="Registration region: reference GTV box + this margin (mm); must exceed the "
             "motion.")] = 30.0,
    translation_only: Annotated[bool, typer.Option(
        "--translation-only", help="Propagate by translation only (no B-spline).")] = False,
    device: Annotated[str, typer.Option(help="Device of the click-guided model.")] = "cpu",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier itv output in -o, whole (default: -o must be "
                            "new or empty).")] = False,
) -> None:
    """GTV on every respiratory phase of a 4D CT, the ITV (their union), the maximum intensity
    projection, and the tumor motion.

    The GTV on the reference phase comes from --mask, from --click (segmented by
    --click-method, the random walker by default), or, with neither, from an automatic
    classical detector (the bundled network is abdominal, not lung): the strongest blob in
    the lungs (a Hessian "dot" filter), segmented as if it were a click. It misses tumors
    grown onto the chest wall or mediastinum: check it, or prefer --mask/--click.

    Writes OUT/gtv_phase_XX.nii.gz, itv.nii.gz, mip.nii.gz, motion.csv (centroid per phase,
    LPS mm; volume mL), motion.png, itv_on_mip.png and summary.json (amplitude per axis,
    volumes, warnings); for DICOM phases also rtstruct.dcm (ITV and GTVs on the reference
    phase's series). OUT must be new or empty; --overwrite replaces an earlier itv output
    there whole (no file of the earlier run is left). The files appear only when all are
    written.

    Example: tumorseg itv case_000/phase_*.nii.gz -o itv_out --mask gtv_05.nii.gz
    --reference-phase 5
    """
    require_folder_name(out, "-o", "")
    if mask is not None and click:
        raise InputError("--mask and --click: give one source of the reference GTV, not both")
    if mask is not None and reference_phase is None:
        raise InputError(f"{mask}: --mask needs --reference-phase N, the phase (0-based, "
                         "breathing order) the mask was drawn on; a mask taken for another "
                         "phase shifts every GTV by the tumor's motion")
    replaceable_folder(out, overwrite, is_itv_output, "itv output (its summary.json)", "-o")
    with status("reading phases"):
        phase_set = load_phases(phases)
    with status("choosing the reference phase"):
        ref, air = choose_reference_phase(phase_set.volumes, reference_phase)
    reference = phase_set.volumes[ref]
    if mask is not None:
        gtv, source = gtv_from_mask(mask, reference), "mask"
    elif click:
        idx = [point_to_index(reference, parse_point(c), coords.value, what=f"--click {c}")
               for c in click]
        with status(f"segmenting the reference phase ({click_method.value})"):
            gtv = gtv_from_clicks(reference, idx, method=click_method.value, device=device)
        source = "click"
    else:
        with status("detecting the tumor on the reference phase"):
            gtv = detect_lung_tumor(reference, click_method=click_method.value, device=device)
        source = "automatic"
    name, factory = (("threshold", None) if method == MethodOption.propagate
                     else _per_phase_segmenter(segmenter, device))
    settings = ITVSettings(
        method=method.value,
        registration=RegistrationSettings(margin_mm=margin_mm, deformable=not translation_only),
        per_phase=PerPhaseSettings(segmenter=name, margin_mm=margin_mm),
        session_factory=factory,
    )
    with progress_bar() as bar:
        def wrap(items: Iterable[Any], total: int, description: str) -> Iterator[Any]:
            task = bar.add_task(description, total=total)
            for item in items:
                yield item
                bar.advance(task)

        result = compute_itv(phase_set, gtv, ref, settings, progress=wrap)
        extra = {"reference_gtv_source": source,
                 "reference_click_method": (click_method.value if source in ("click", "automatic")
                                            else None),
                 "lung_air_ml": [round(a, 1) for a in air],
                 "per_phase_segmenter": name if method != MethodOption.propagate else None,
                 "registration_settings": {"margin_mm": margin_mm,
                                           "deformable": not translation_only}}
        with atomic_folder(out, replace=True) as staging:
            write_itv_outputs(result, phase_set, staging, extra, progress=wrap)
            if phase_set.dicom_files is not None:
                with status("writing the RTSTRUCT"):
                    _rtstruct(result, phase_set, staging, out)
    _print_table(result, phase_set.names, phase_set.grid.voxel_volume_mm3)
    console.print(f"wrote {out}/ (gtv_phase_00…{len(phase_set) - 1:02d}, itv, mip, motion.csv, "
                  "motion.png, itv_on_mip.png, summary.json)")


def _rtstruct(result: Any, phase_set: Any, staging: Path, out: Path) -> None:
    """RTSTRUCT beside the NIfTI outputs (written into ``staging``, which becomes ``out``); a
    problem with it is a warning, not a failure."""
    try:
        path = write_rtstruct_output(result, phase_set, staging)
        console.print(f"wrote {out / path.name} (ITV and GTVs on phase "
                      f"{result.reference_phase:02d})")
    except (InputError, ImportError) as exc:
        err_console.print(f"[yellow]warning:[/yellow] no RTSTRUCT written: {exc}")


def _print_table(result: Any, names: tuple[str, ...], voxel_mm3: float) -> None:
    m = result.motion
    table = Table(title=f"{result.method}: reference phase {result.reference_phase}")
    for col in ("phase", "name", "x mm", "y mm", "z mm", "GTV mL"):
        table.add_column(col, justify="right")
    if result.agreement_dice is not None:
        table.add_column("Dice propagate vs per-phase", justify="right")
    for p, (c, v) in enumerate(zip(m.centroids_mm, m.volumes_ml, strict=True)):
        row = [f"{p:02d}", names[p], *(f"{x:.1f}" for x in c), f"{v:.2f}"]
        if result.agreement_dice is not None:
            row.append(f"{result.agreement_dice[p]:.3f}")
        table.add_row(*row)
    console.print(table)
    a = m.amplitude_mm
    itv_ml = float(np.count_nonzero(result.itv)) * voxel_mm3 / 1000.0
    console.print(f"motion amplitude x {a[0]:.1f} mm, y {a[1]:.1f} mm, z {a[2]:.1f} mm; "
                  f"ITV {itv_ml:.2f} mL")

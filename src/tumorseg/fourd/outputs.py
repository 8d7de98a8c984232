"""Write an ITV run's files, with the names scripts rely on (every write atomic)::

    OUTDIR/gtv_phase_XX.nii.gz   GTV per phase (XX = 00…N−1 in breathing order), uint8
    OUTDIR/itv.nii.gz            union of the GTVs, uint8
    OUTDIR/mip.nii.gz            maximum intensity projection over the phases
    OUTDIR/motion.csv            phase, name, x_mm, y_mm, z_mm (GTV centroid, LPS), volume_ml
    OUTDIR/motion.png            centroid per axis against phase
    OUTDIR/itv_on_mip.png        the ITV drawn on the MIP
    OUTDIR/summary.json          everything else (amplitudes, volumes, settings, warnings)

With ``--method both`` the per-phase method's GTVs go to ``OUTDIR/per-phase/``. When the
phases are DICOM series, :func:`write_rtstruct_output` adds ``OUTDIR/rtstruct.dcm``: one RT
Structure Set on the reference phase's series (the planning CT of a 4D workflow) with the ITV
and every phase's GTV as ROIs (all phases share its frame of reference and grid).
"""

from __future__ import annotations

import csv
import io as _io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.errors import InputError
from tumorseg.fourd.figures import save_itv_on_mip, save_motion_plot
from tumorseg.fourd.motion import Motion
from tumorseg.fourd.phases import PhaseSet
from tumorseg.fourd.pipeline import ITVResult
from tumorseg.io import atomic_write_text, write_volume

__all__ = ["OUTPUT_NAMES", "motion_csv", "summary_dict", "write_itv_outputs",
           "write_rtstruct_output"]

#: Files every run writes besides ``gtv_phase_XX.nii.gz``.
OUTPUT_NAMES = ("itv.nii.gz", "mip.nii.gz", "motion.csv", "motion.png", "itv_on_mip.png",
                "summary.json")


def motion_csv(motion: Motion, phases: PhaseSet) -> str:
    """CSV text: one row per phase with its centroid (LPS mm) and GTV volume (mL)."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["phase", "name", "x_mm", "y_mm", "z_mm", "volume_ml"])
    for p, (c, v) in enumerate(zip(motion.centroids_mm, motion.volumes_ml, strict=True)):
        w.writerow([p, phases.names[p], *(f"{float(x):.4f}" for x in c), f"{float(v):.4f}"])
    return buf.getvalue()


def _motion_json(m: Motion) -> dict[str, Any]:
    return {"centroids_mm": [[round(float(v), 4) for v in c] for c in m.centroids_mm],
            "amplitude_mm": {ax: round(float(v), 4) for ax, v in zip("xyz", m.amplitude_mm,
                                                                       strict=True)},
            "vector_amplitude_mm": round(m.vector_amplitude_mm, 4),
            "volumes_ml": [round(float(v), 4) for v in m.volumes_ml]}


#: ``summary.json["tool"]`` of every ``tumorseg itv`` output folder.
ITV_SUMMARY_TOOL = "tumorseg itv"


def is_itv_output(folder: Path) -> bool:
    """Whether ``folder`` holds an earlier ``tumorseg itv`` output (its summary.json says so;
    summaries written before the "tool" key are known by their reference phase and phase
    names)."""
    try:
        doc = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and (doc.get("tool") == ITV_SUMMARY_TOOL
                                      or {"reference_phase", "phase_names"} <= doc.keys())


def summary_dict(result: ITVResult, phases: PhaseSet, extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The JSON summary of a run (see :func:`write_itv_outputs`)."""
    grid = phases.grid
    doc: dict[str, Any] = {
        "tool": ITV_SUMMARY_TOOL,
        "method": result.method,
        "n_phases": len(phases),
        "phase_names": list(phases.names),
        "phase_percents": list(phases.percents),
        "phase_order_from": phases.order_from,
        "reference_phase": result.reference_phase,
        "grid": {"size_ijk": list(grid.shape), "spacing_mm": list(grid.spacing),
                 "origin_mm": list(grid.origin), "direction": grid.direction.tolist()},
        "itv_volume_ml": round(float(result.itv.sum()) * grid.voxel_volume_mm3 / 1000.0, 4),
        **_motion_json(result.motion),
        "by_method": {k: _motion_json(m) for k, m in result.motion_by_method.items()},
        "seconds": result.seconds,
        "registration": result.registration,
        "warnings": list(result.warnings),
        "axes": "x, y, z = LPS patient axes (mm); phases in breathing order from 0",
    }
    if result.agreement_dice is not None:
        doc["agreement_dice_per_phase"] = [round(v, 4) for v in result.agreement_dice]
        doc["agreement_dice_mean"] = round(float(np.mean(result.agreement_dice)), 4)
    doc.update(extra or {})
    return doc


def write_itv_outputs(result: ITVResult, phases: PhaseSet, out_dir: str | Path,
                      extra: dict[str, Any] | None = None,
                      progress: Callable | None = None) -> list[Path]:
    """Write every output file of ``result`` into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    grid = phases.grid
    written: list[Path] = []

    def mask(m: np.ndarray, path: Path) -> None:
        written.append(write_volume(grid.with_array(m.astype(np.uint8), modality="SEG"), path))

    items = list(enumerate(result.gtvs))
    for p, g in (progress(items, len(items), "writing") if progress else items):
        mask(g, out / f"gtv_phase_{p:02d}.nii.gz")
    if result.method == "both":
        for p, g in enumerate(result.gtvs_by_method["per-phase"]):
            mask(g, out / "per-phase" / f"gtv_phase_{p:02d}.nii.gz")
    mask(result.itv, out / "itv.nii.gz")
    mip_volume = grid.with_array(result.mip)
    written.append(write_volume(mip_volume, out / "mip.nii.gz"))
    written.append(atomic_write_text(out / "motion.csv", motion_csv(result.motion, phases)))
    written.append(save_motion_plot(result.motion_by_method, out / "motion.png"))
    written.append(save_itv_on_mip(mip_volume, result.itv,
                                   result.gtvs[result.reference_phase], out / "itv_on_mip.png"))
    doc = summary_dict(result, phases, extra)
    written.append(atomic_write_text(out / "summary.json", json.dumps(doc, indent=2) + "\n"))
    return written


#: Display colours (RGB) of the RTSTRUCT ROIs: the ITV, then the GTVs in turn.
_ITV_COLOUR = (255, 208, 0)
_GTV_COLOURS = ((255, 48, 48), (255, 128, 64), (255, 64, 160), (200, 40, 40))


def write_rtstruct_output(result: ITVResult, phases: PhaseSet, out_dir: str | Path) -> Path:
    """Write ``out_dir/rtstruct.dcm`` (DICOM phases only): ROIs "ITV" and "GTV phase XX" on
    the reference phase's series. Raises :class:`InputError` when the phases are not DICOM or
    the reference series cannot be referenced (e.g. several series in one folder)."""
    if phases.dicom_files is None:
        raise InputError("an RTSTRUCT needs DICOM phases")
    from tumorseg.export.reference import load_reference
    from tumorseg.export.rtstruct import write_rtstruct
    from tumorseg.export.segments import Segment
    from tumorseg.fourd.dicom_tags import read_phase_tags

    ref = result.reference_phase
    files = phases.dicom_files[ref]
    reference = load_reference(Path(files[0]).parent)
    wanted = read_phase_tags(files[0]).series_uid
    if str(reference.first.get("SeriesInstanceUID", "")) != wanted:
        raise InputError(f"{Path(files[0]).parent}: holds several series; put each phase in "
                         "its own folder to get an RTSTRUCT")
    segments = [Segment(1, "ITV", _ITV_COLOUR, result.itv)]
    segments += [Segment(p + 2, f"GTV phase {p:02d}", _GTV_COLOURS[p % len(_GTV_COLOURS)], g)
                 for p, g in enumerate(result.gtvs)]
    return write_rtstruct(reference, segments, Path(out_dir) / "rtstruct.dcm",
                          label="TUMORSEG_ITV")

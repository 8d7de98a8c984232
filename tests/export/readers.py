"""Independent readers of the exported objects: highdicom, rt-utils, dciodvfy."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest


def seg_labels(path, reference) -> np.ndarray:
    """The SEG read back by highdicom as a label map ``[i, j, k]`` on the reference grid."""
    hd = pytest.importorskip("highdicom")
    seg = hd.seg.segread(str(path))
    uids = [d.SOPInstanceUID for d in reference.datasets]
    frames = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, combine_segments=True)
    return np.asarray(frames).transpose(2, 1, 0)


def rtutils_masks(path, series_folder) -> dict[str, np.ndarray]:
    """Every ROI rasterised by rt-utils, as boolean ``[i, j, k]`` (rt-utils gives [row, col, k])."""
    rt_utils = pytest.importorskip("rt_utils")
    rt = rt_utils.RTStructBuilder.create_from(dicom_series_path=str(series_folder),
                                              rt_struct_path=str(path))
    return {name: rt.get_roi_mask_by_name(name).transpose(1, 0, 2)
            for name in rt.get_roi_names()}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def dciodvfy_errors(path) -> list[str]:
    """The ``Error`` lines dciodvfy (dicom3tools) reports; skips when it is not installed."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy not installed (apt-get install dicom3tools; .ci/run does)")
    run = subprocess.run([exe, str(path)], capture_output=True,
                         text=True, encoding="utf-8", errors="replace", timeout=60)
    lines = (run.stdout + run.stderr).splitlines()
    return [ln for ln in lines if ln.startswith("Error")]

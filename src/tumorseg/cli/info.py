"""``tumorseg info``: what a scan is — size, spacing, origin, direction, modality, values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from tumorseg.cli.common import console
from tumorseg.io import Volume, read_volume

__all__ = ["info_command", "volume_summary"]


def volume_summary(volume: Volume) -> dict:
    """A JSON-ready description of ``volume``: geometry and intensity statistics."""
    arr = volume.array
    p = np.percentile(arr, [0.5, 50, 99.5]) if arr.size else [np.nan] * 3
    return {
        "source": volume.source,
        "modality": volume.modality,
        "size_ijk": list(volume.shape),
        "channels": volume.n_channels,
        "channel_names": list(volume.channel_names) if volume.channel_names else None,
        "spacing_mm": [round(s, 6) for s in volume.spacing],
        "origin_lps_mm": [round(o, 4) for o in volume.origin],
        "direction": [[round(v, 6) for v in row] for row in volume.direction.tolist()],
        "extent_mm": [round(n * s, 2) for n, s in zip(volume.shape, volume.spacing, strict=True)],
        "dtype": str(arr.dtype),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
        "p0.5": float(p[0]),
        "median": float(p[1]),
        "p99.5": float(p[2]),
    }


def info_command(
    input: Annotated[Path, typer.Argument(
        help="Image file (.nii.gz, .nrrd, .mha) or DICOM series folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Print size, spacing, origin, direction, modality and intensity range of a scan.

    Example: tumorseg info ct.nii.gz
    """
    s = volume_summary(read_volume(input))
    if as_json:
        console.print_json(json.dumps(s))
        return
    fmt = lambda v: "(" + ", ".join(f"{x:g}" for x in v) + ")"  # noqa: E731
    console.print(f"[bold]{s['source']}[/bold]")
    console.print(f"  modality   {s['modality']}")
    channels = f", {s['channels']} channels" if s["channels"] > 1 else ""
    console.print(f"  size       {' x '.join(map(str, s['size_ijk']))} voxels (i, j, k){channels}")
    console.print(f"  spacing    {fmt(s['spacing_mm'])} mm")
    console.print(f"  extent     {fmt(s['extent_mm'])} mm")
    console.print(f"  origin     {fmt(s['origin_lps_mm'])} mm (LPS)")
    console.print(f"  direction  {' '.join(fmt(r) for r in s['direction'])} (rows: L, P, S)")
    console.print(f"  values     {s['dtype']}, min {s['min']:g}, max {s['max']:g}, "
                  f"mean {s['mean']:.4g}, p0.5–p99.5 {s['p0.5']:g}–{s['p99.5']:g}")

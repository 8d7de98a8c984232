"""``tumorseg pull`` and ``tumorseg push``: exchange DICOM with a PACS over DICOMweb."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated

import typer

from tumorseg.cli.common import console, progress_bar
from tumorseg.errors import InputError
from tumorseg.io.atomic import require_folder_name
from tumorseg.pacs import connect, pull_study, push_files, search_series

__all__ = ["pull_command", "push_command"]

# dicomweb-client logs every request at INFO; the commands report what matters themselves.
logging.getLogger("dicomweb_client").setLevel(logging.WARNING)

_URL = typer.Option("--dicomweb", help="DICOMweb root URL, e.g. http://localhost:8042/dicom-web.",
                    show_default=False)
_USER = typer.Option(help="User name for HTTP basic authentication.", show_default=False)
_PASSWORD = typer.Option(help="Password for HTTP basic authentication.", show_default=False)
_TOKEN = typer.Option(help="Bearer token (instead of --user/--password).", show_default=False)
_ATTEMPTS = typer.Option(help="Tries per request when the server cannot be reached.")


#: A DICOM UID: numeric components separated by dots, no leading zeros, ≤ 64 characters.
_UID = re.compile(r"(?=.{1,64}$)(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def pull_command(
    dicomweb: Annotated[str, _URL],
    study: Annotated[str, typer.Option(help="StudyInstanceUID to pull.", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--out", help="New (or empty) output folder.",
                                      show_default=False)],
    series: Annotated[str | None, typer.Option(
        help="Only this SeriesInstanceUID of the study.", show_default=False)] = None,
    user: Annotated[str | None, _USER] = None,
    password: Annotated[str | None, _PASSWORD] = None,
    token: Annotated[str | None, _TOKEN] = None,
    attempts: Annotated[int, _ATTEMPTS] = 3,
) -> None:
    """Download a study (or one series) from a PACS over DICOMweb (QIDO-RS, WADO-RS) into
    OUT/<SeriesInstanceUID>/<SOPInstanceUID>.dcm. Nothing appears under OUT unless the
    whole download succeeds.

    Example: tumorseg pull --dicomweb http://localhost:8042/dicom-web --study 1.2.3 -o ct/
    """
    require_folder_name(out, "-o", "")
    for option, uid in (("--study", study), ("--series", series)):
        if uid is not None and not _UID.fullmatch(uid):
            raise InputError(f"{option} {uid!r}: not a DICOM UID (digits and dots, e.g. "
                             "1.2.840.113619.2.55.3, at most 64 characters)")
    client = connect(dicomweb, user, password, token, attempts=attempts)
    total, uids = None, [series] if series else None
    if series is None:
        found = search_series(client, study)
        if not found:
            raise InputError(f"{dicomweb}: study {study} not found (no series)")
        total = sum(int(s["instances"] or 0) for s in found) or None
        uids = [str(s["uid"]) for s in found]
    with progress_bar(transient=True) as bar:
        task = bar.add_task("Pulling", total=total)
        files = pull_study(client, study, out, series_uids=uids,
                           progress=lambda n: bar.advance(task, n))
    n_series = len({f.parent for f in files})
    console.print(f"wrote {len(files)} instance(s) of {n_series} series to {out}")


def push_command(
    files: Annotated[list[Path], typer.Argument(
        help="DICOM files to store (SEG, RTSTRUCT, images, …).", show_default=False)],
    dicomweb: Annotated[str, _URL],
    user: Annotated[str | None, _USER] = None,
    password: Annotated[str | None, _PASSWORD] = None,
    token: Annotated[str | None, _TOKEN] = None,
    attempts: Annotated[int, _ATTEMPTS] = 3,
) -> None:
    """Store DICOM files in a PACS over DICOMweb (STOW-RS), one request per study.

    Example: tumorseg push seg.dcm rt.dcm --dicomweb http://localhost:8042/dicom-web
    """
    client = connect(dicomweb, user, password, token, attempts=attempts)
    with progress_bar(transient=True) as bar:
        task = bar.add_task("Pushing", total=len(files))
        stored = push_files(client, files, progress=lambda n: bar.advance(task, n))
    console.print(f"stored {len(stored)} instance(s) at {dicomweb}")

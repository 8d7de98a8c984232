"""Exchange with a PACS over DICOMweb (QIDO-RS search, WADO-RS retrieve, STOW-RS store).

Built on ``dicomweb-client``. Authentication: HTTP basic (user and password) or a bearer
token. Pulled instances land in a temporary folder beside the destination, which is renamed
to the destination once everything arrived: an interrupted or failed pull leaves nothing
under the destination's name. Every server failure is a :class:`DicomwebError` (an
:class:`~tumorseg.errors.InputError`) with one line naming the server (unreachable,
authentication refused, study not found, instances rejected) and the HTTP status the server
answered (None when it did not answer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from tumorseg.errors import InputError
from tumorseg.io.atomic import atomic_folder, require_empty_folder

__all__ = ["DicomwebError", "connect", "pull_series", "pull_study", "push_files",
           "search_series"]

#: QIDO attribute tags (hex) read from search results, by the key they get in a result row.
_TAGS = {"uid": "0020000E", "modality": "00080060", "instances": "00201209",
         "study_uid": "0020000D", "patient": "00100010", "study_description": "00081030",
         "description": "0008103E", "number": "00200011"}
#: QIDO ``includefield`` keywords: attributes a server may leave out of a series search.
_FIELDS = ("StudyInstanceUID", "PatientName", "StudyDescription", "SeriesDescription",
           "SeriesNumber", "NumberOfSeriesRelatedInstances")


class DicomwebError(InputError):
    """A DICOMweb request failed; ``status`` is the server's HTTP status (None: no answer,
    e.g. unreachable or timed out)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def connect(url: str, user: str | None = None, password: str | None = None,
            token: str | None = None, timeout_s: float = 30.0, attempts: int = 3,
            ) -> DICOMwebClient:
    """A DICOMweb client for ``url`` (e.g. ``http://host:8042/dicom-web``).

    ``user``/``password`` select HTTP basic auth, ``token`` a bearer token (not both).
    A request that fails to connect (or gets 408/429/503/504) is tried ``attempts`` times
    in all, waiting 1 s, 2 s, … between tries (dicomweb-client's default, 5 tries over
    ~30 s, made an unreachable server slow to report). No request is made here.
    """
    if attempts < 1:
        raise InputError(f"{url}: attempts must be at least 1, got {attempts}")
    if token and (user or password):
        raise InputError(f"{url}: give --token or --user/--password, not both")
    if (user is None) != (password is None):
        raise InputError(f"{url}: --user and --password go together")
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"{url}: a DICOMweb URL starts with http:// or https://")
    session = requests.Session()
    if user is not None:
        session.auth = (user, password or "")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    client = DICOMwebClient(url.rstrip("/"), session=session, headers=headers,
                            timeout=timeout_s)
    client.set_http_retry_params(retry=attempts > 1, max_attempts=attempts,
                                 wait_exponential_multiplier=500)
    return client


@contextmanager
def _server_errors(client: DICOMwebClient, what: str) -> Iterator[None]:
    url = client.base_url
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise DicomwebError(f"{url}: cannot reach the DICOMweb server while {what} "
                            f"({type(exc).__name__})") from exc
    except requests.exceptions.Timeout as exc:
        raise DicomwebError(f"{url}: the DICOMweb server timed out while {what}") from exc
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else None
        reason = {401: "authentication required or refused", 403: "access forbidden",
                  404: "not found"}.get(code, "request failed")  # type: ignore[arg-type]
        raise DicomwebError(f"{url}: HTTP {code or '?'} ({reason}) while {what}",
                            code) from exc


def _value(item: dict, tag: str) -> str | int:
    """The first value of a DICOM JSON attribute ("" when absent); a person name as its
    alphabetic form."""
    values = item.get(tag, {}).get("Value", [""])
    first = values[0] if values else ""
    if isinstance(first, dict):  # PN: {"Alphabetic": "Family^Given"}
        return str(first.get("Alphabetic", ""))
    return first  # type: ignore[no-any-return]


def search_series(client: DICOMwebClient, study_uid: str | None, modality: str | None = None,
                  limit: int | None = None) -> list[dict[str, str | int]]:
    """QIDO-RS: the series of a study (``study_uid`` None: of every study on the server).

    Returns dicts with ``uid``, ``modality``, ``instances``, ``study_uid``, ``patient``,
    ``study_description``, ``description`` and ``number`` ("" where the server gives no
    value). ``limit``: at most that many series (None: every one, paging as needed).
    """
    filters = {"Modality": modality} if modality else None
    what = f"searching study {study_uid}" if study_uid else "searching series"
    with _server_errors(client, what):
        found = client.search_for_series(study_instance_uid=study_uid, search_filters=filters,
                                         fields=list(_FIELDS), limit=limit,
                                         get_remaining=limit is None)
    return [{key: _value(s, tag) for key, tag in _TAGS.items()} for s in found]


def pull_study(client: DICOMwebClient, study_uid: str, out: str | os.PathLike[str],
               series_uids: Sequence[str] | None = None,
               progress: Callable[[int], None] | None = None) -> list[Path]:
    """WADO-RS: download a study (or some series of it) into ``out/<SeriesUID>/<SOPUID>.dcm``.

    ``series_uids``: the series to pull (default: every series QIDO-RS finds in the study).
    ``out`` must not exist or be an empty folder. ``progress`` is called with 1 per
    instance received. Returns the written files (under their final names).
    """
    dest = require_empty_folder(out)  # before any request
    series = list(series_uids) if series_uids else [
        str(s["uid"]) for s in search_series(client, study_uid)]
    if not series:
        raise DicomwebError(f"{client.base_url}: study {study_uid} not found (no series)", 404)
    with atomic_folder(dest) as tmp:
        written: list[Path] = []
        for uid in series:
            written += _save_series(client, study_uid, uid, tmp / _safe(uid), progress)
        if not written:
            raise DicomwebError(f"{client.base_url}: study {study_uid} has no instances to "
                                "pull", 404)
    return [dest / p.relative_to(tmp) for p in written]


def pull_series(client: DICOMwebClient, study_uid: str, series_uid: str,
                out: str | os.PathLike[str], progress: Callable[[int], None] | None = None
                ) -> list[Path]:
    """WADO-RS: download one series into ``out/<SOPInstanceUID>.dcm``, atomically as
    :func:`pull_study` (``out`` must not exist or be an empty folder).

    Returns the written files (under their final names). A series the server does not
    have is a :class:`DicomwebError` with status 404.
    """
    dest = Path(out)
    with atomic_folder(dest) as tmp:
        written = _save_series(client, study_uid, series_uid, tmp, progress)
        if not written:
            raise DicomwebError(f"{client.base_url}: series {series_uid} of study {study_uid} "
                                "not found (no instances)", 404)
    return [dest / p.relative_to(tmp) for p in written]


def _save_series(client: DICOMwebClient, study_uid: str, series_uid: str, folder: Path,
                 progress: Callable[[int], None] | None) -> list[Path]:
    """Retrieve one series into ``folder/<SOPInstanceUID>.dcm`` (created on the first
    instance); returns the files written."""
    written: list[Path] = []
    with _server_errors(client, f"retrieving series {series_uid}"):
        for ds in client.iter_series(study_instance_uid=study_uid,
                                     series_instance_uid=series_uid):
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{_safe(str(ds.SOPInstanceUID))}.dcm"
            ds.save_as(path, enforce_file_format=True)
            written.append(path)
            if progress is not None:
                progress(1)
    return written


def _safe(uid: str) -> str:
    return "".join(ch for ch in uid if ch.isalnum() or ch in ".-_") or "unnamed"


def push_files(client: DICOMwebClient, files: Sequence[str | os.PathLike[str]],
               progress: Callable[[int], None] | None = None) -> list[str]:
    """STOW-RS: store DICOM files, one request per study; returns the stored SOP UIDs.

    Raises :class:`InputError` when a file is not DICOM or the server rejects an instance.
    """
    by_study: dict[str, list[Dataset]] = {}
    for f in files:
        try:
            ds = pydicom.dcmread(str(f))
        except Exception as exc:  # pydicom raises many types for non-DICOM input
            raise InputError(f"{f}: not a readable DICOM file ({type(exc).__name__})") from exc
        if not str(ds.get("StudyInstanceUID", "") or ""):
            raise InputError(f"{f}: StudyInstanceUID is empty; a PACS cannot store it")
        by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
    stored: list[str] = []
    for study, datasets in by_study.items():
        with _server_errors(client, f"storing {len(datasets)} instance(s) of study {study}"):
            response = client.store_instances(datasets=datasets, study_instance_uid=study)
        failed = response.get("FailedSOPSequence") if response is not None else None
        if failed:
            reasons = ", ".join(f"{i.get('ReferencedSOPInstanceUID', '?')} (reason "
                                f"{i.get('FailureReason', '?')})" for i in failed)
            raise DicomwebError(f"{client.base_url}: the server rejected {reasons}")
        stored.extend(str(ds.SOPInstanceUID) for ds in datasets)
        if progress is not None:
            progress(len(datasets))
    return stored

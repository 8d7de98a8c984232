"""Exchange with a PACS over DICOMweb (QIDO-RS search, WADO-RS retrieve, STOW-RS store).

Built on ``dicomweb-client``. Authentication: HTTP basic (user and password) or a bearer
token. Pulled instances land in a temporary folder beside the destination, which is renamed
to the destination once everything arrived: an interrupted or failed pull leaves nothing
under the destination's name. Every failure is an :class:`~tumorseg.errors.InputError`
with one line naming the server (unreachable, authentication refused, study not found,
instances rejected).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from tumorseg.errors import InputError

__all__ = ["connect", "pull_study", "push_files", "search_series"]

#: QIDO attribute tags (hex) read from search results.
_SERIES_UID, _MODALITY, _N_INSTANCES = "0020000E", "00080060", "00201209"


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
        raise InputError(f"{url}: cannot reach the DICOMweb server while {what} "
                         f"({type(exc).__name__})") from exc
    except requests.exceptions.Timeout as exc:
        raise InputError(f"{url}: the DICOMweb server timed out while {what}") from exc
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        reason = {401: "authentication required or refused", 403: "access forbidden",
                  404: "not found"}.get(code, "request failed")  # type: ignore[call-overload]
        raise InputError(f"{url}: HTTP {code} ({reason}) while {what}") from exc


def search_series(client: DICOMwebClient, study_uid: str, modality: str | None = None
                  ) -> list[dict[str, str | int]]:
    """QIDO-RS: the series of a study as dicts with ``uid``, ``modality``, ``instances``."""
    filters = {"Modality": modality} if modality else None
    with _server_errors(client, f"searching study {study_uid}"):
        found = client.search_for_series(study_instance_uid=study_uid, search_filters=filters,
                                         get_remaining=True)

    def value(item: dict, tag: str) -> str | int:
        values = item.get(tag, {}).get("Value", [""])
        return values[0] if values else ""

    return [{"uid": value(s, _SERIES_UID), "modality": value(s, _MODALITY),
             "instances": value(s, _N_INSTANCES)} for s in found]


def pull_study(client: DICOMwebClient, study_uid: str, out: str | os.PathLike[str],
               series_uids: Sequence[str] | None = None,
               progress: Callable[[int], None] | None = None) -> list[Path]:
    """WADO-RS: download a study (or some series of it) into ``out/<SeriesUID>/<SOPUID>.dcm``.

    ``series_uids``: the series to pull (default: every series QIDO-RS finds in the study).
    ``out`` must not exist or be an empty folder. ``progress`` is called with 1 per
    instance received. Returns the written files (under their final names).
    """
    dest = Path(out)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest}: exists and is not an empty folder")
    series = list(series_uids) if series_uids else [
        str(s["uid"]) for s in search_series(client, study_uid)]
    if not series:
        raise InputError(f"{client.base_url}: study {study_uid} not found (no series)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        written: list[Path] = []
        for uid in series:
            with _server_errors(client, f"retrieving series {uid}"):
                for ds in client.iter_series(study_instance_uid=study_uid,
                                             series_instance_uid=uid):
                    folder = tmp / _safe(uid)
                    folder.mkdir(exist_ok=True)
                    path = folder / f"{_safe(str(ds.SOPInstanceUID))}.dcm"
                    ds.save_as(path, enforce_file_format=True)
                    written.append(path.relative_to(tmp))
                    if progress is not None:
                        progress(1)
        if not written:
            raise InputError(f"{client.base_url}: study {study_uid} has no instances to pull")
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return [dest / p for p in written]


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
            raise InputError(f"{client.base_url}: the server rejected {reasons}")
        stored.extend(str(ds.SOPInstanceUID) for ds in datasets)
        if progress is not None:
            progress(len(datasets))
    return stored

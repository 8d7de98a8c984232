"""Series on a DICOMweb server as studies of ``tumorseg serve`` (``--dicomweb URL``).

* **Listing.** QIDO-RS for the series of modality CT, MR and PT (at most
  :data:`MAX_SERIES` of each). Each becomes a :class:`~tumorseg.server.studies.StudyRef`
  with root ``"dicomweb"``, ``rel_path`` ``"<StudyInstanceUID>/<SeriesInstanceUID>"`` and
  the usual stable id derived from them; shape and spacing stay None until it is opened.
  A failed search never raises: the listing is empty and :attr:`DicomwebSource.last_error`
  holds the one-line reason (None after a search that worked).
* **Listing cache.** A listing that worked is reused for ``refresh_s`` seconds (default
  :data:`DEFAULT_REFRESH_S`; 0: every listing asks the server), so repeated
  ``GET /api/studies`` do not each make three searches. A failed listing is not cached:
  the next listing asks again. Concurrent listings wait for one search instead of each
  making their own.
* **Opening.** :meth:`DicomwebSource.fetch` retrieves the series over WADO-RS into
  ``cache_dir/<SeriesInstanceUID>/`` (a temporary folder renamed once complete, see
  :func:`tumorseg.pacs.dicomweb.pull_series`); later opens read that folder without asking
  the server again. Concurrent fetches of one series wait for each other.
* **Stale series.** The listing carries each series' number of instances
  (``NumberOfSeriesRelatedInstances`` when the server gives it, as Orthanc does). When it
  differs from the number of files in the cached folder (the series was still arriving
  when it was first opened, or instances were added or removed since),
  :meth:`DicomwebSource.refresh` retrieves the series again into a temporary folder and
  swaps it in: the old folder is renamed aside, the new one renamed into place, the old
  one removed. The folder is never half-written, but for a moment it does not exist, and
  a reader listing the old folder while it is swapped would miss its files. The caller
  decides when a refresh is safe: the server refreshes a series only when it is opened
  and no session of it is loaded or holds accepted lesions (their masks are on the old
  grid); see ``tumorseg.server.app``.
* **Security.** Clients name a remote study only by its id; the server maps the id to the
  row it stored from QIDO. Both UIDs must be DICOM UIDs (digits and dots, at most 64
  characters): a series with other UIDs is not listed, and a cache folder is only ever
  derived from a checked UID and confined to ``cache_dir``
  (:class:`~tumorseg.server.security.PathRefused` otherwise).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from tumorseg.errors import InputError
from tumorseg.pacs.dicomweb import DicomwebError, connect, pull_series, search_series
from tumorseg.server.security import PathRefused, confine
from tumorseg.server.studies import StudyRef, study_id

__all__ = ["DEFAULT_REFRESH_S", "DICOMWEB_ROOT", "MAX_SERIES", "MODALITIES", "DicomwebSource",
           "http_status", "redact_url"]

log = logging.getLogger(__name__)
logging.getLogger("dicomweb_client").setLevel(logging.WARNING)  # one INFO line per request

#: The ``root`` of studies found on the DICOMweb server.
DICOMWEB_ROOT = "dicomweb"
#: Modalities listed (one QIDO search each).
MODALITIES = ("CT", "MR", "PT")
#: Most series listed per modality.
MAX_SERIES = 500
#: Seconds a listing that worked is reused before the server is asked again.
DEFAULT_REFRESH_S = 60.0
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def _is_uid(text: str) -> bool:
    return len(text) <= 64 and _UID.fullmatch(text) is not None


def redact_url(url: str) -> str:
    """``url`` without any ``user:password@`` part (for logs and ``server.json``)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def http_status(exc: DicomwebError) -> int:
    """The status the server answers a failed retrieve with: 404 when the DICOMweb server
    does not have the series, else 502 (unreachable, timed out, authentication refused,
    any other failure of the upstream server)."""
    return 404 if exc.status == 404 else 502


def _split(rel_path: str) -> tuple[str, str]:
    """(study UID, series UID) of a remote study's ``rel_path``; PathRefused unless both
    are DICOM UIDs."""
    parts = rel_path.split("/")
    if len(parts) != 2 or not all(_is_uid(p) for p in parts):
        raise PathRefused(f"{rel_path!r}: not a DICOMweb study (StudyUID/SeriesUID)")
    return parts[0], parts[1]


def _shown_name(series: dict[str, str | int]) -> str:
    """``patient / study description / series description [modality]`` (empty parts left
    out; the series number stands in for a missing series description)."""
    described = str(series["description"] or "").strip() or (
        f"series {series['number']}" if series["number"] != "" else f"series {series['uid']}")
    parts = [str(series[k] or "").strip() for k in ("patient", "study_description")]
    return " / ".join([p for p in parts if p] + [described]) + f" [{series['modality']}]"


class DicomwebSource:
    """The series of one DICOMweb server, listed and cached for the server.

    Args:
        url: the DICOMweb root (e.g. ``http://pacs:8042/dicom-web``); a ``user:password@``
            in it is taken as the basic authentication (and kept out of every message).
        cache_dir: where retrieved series are kept (``STATE/dicomweb``).
        user, password: HTTP basic authentication; token: a bearer token (not both).
        timeout_s: per-request timeout in seconds. Requests are not retried, so a server
            that is down is reported at once.
        refresh_s: seconds a listing that worked is reused (0: never reused).
        clock: the time in seconds the listing's age is measured with (tests pass a fake).

    Raises:
        InputError: a URL that is not http(s), a wrong combination of credentials, or a
            negative ``refresh_s``.
    """

    def __init__(self, url: str, cache_dir: str | Path, user: str | None = None,
                 password: str | None = None, token: str | None = None,
                 timeout_s: float = 30.0, refresh_s: float = DEFAULT_REFRESH_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = redact_url(url)
        parts = urlsplit(url)
        if self.url != url:
            if user is not None or password is not None:
                raise InputError(f"{self.url}: credentials both in the URL and given apart")
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
        if not refresh_s >= 0:  # also refuses NaN
            raise InputError(f"{self.url}: the listing refresh must be >= 0 s, got {refresh_s}")
        self.client = connect(self.url, user, password, token, timeout_s=timeout_s,
                              attempts=1)
        self.cache_dir = Path(cache_dir)
        self.refresh_s = float(refresh_s)
        self.last_error: str | None = None
        self._clock = clock
        self._listing: tuple[float, list[StudyRef]] | None = None  # (when, studies)
        self._listing_lock = threading.Lock()
        self._instances: dict[str, int] = {}  # series UID -> instances, as last listed
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def list_studies(self) -> list[StudyRef]:
        """The server's CT, MR and PT series as studies (never raises; see
        :attr:`last_error`), from the listing cache while it is younger than ``refresh_s``."""
        with self._listing_lock:
            if self._listing is not None and self._clock() - self._listing[0] < self.refresh_s:
                return list(self._listing[1])
            asked = self._clock()
            try:
                refs, counts = self._search()
            except Exception as exc:  # a broken remote must never break the local listing
                reason = str(exc) if isinstance(exc, DicomwebError) else (
                    f"{self.url}: unexpected answer to a series search ({type(exc).__name__})")
                reason = " ".join(reason.split())
                if reason != self.last_error:  # once per new problem, not on every listing
                    log.warning("DICOMweb series are not listed: %s", reason)
                self.last_error = reason
                self._listing = None
                return []
            self.last_error = None
            self._listing = (asked, refs)
            with self._guard:
                self._instances = counts
            return list(refs)

    def _search(self) -> tuple[list[StudyRef], dict[str, int]]:
        """One QIDO search per modality: the studies, sorted by name, and the number of
        instances of each series whose count the server gave."""
        refs: dict[str, StudyRef] = {}
        counts: dict[str, int] = {}
        for modality in MODALITIES:
            for s in search_series(self.client, None, modality=modality, limit=MAX_SERIES):
                study_uid, series_uid = str(s["study_uid"]), str(s["uid"])
                if not (_is_uid(study_uid) and _is_uid(series_uid)):
                    log.warning("%s: series %r of study %r skipped: not DICOM UIDs",
                                self.url, series_uid, study_uid)
                    continue
                rel = f"{study_uid}/{series_uid}"
                refs[rel] = StudyRef(study_id(DICOMWEB_ROOT, rel), _shown_name(s),
                                     DICOMWEB_ROOT, rel, str(s["modality"]), None, None)
                count = s.get("instances", "")
                if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                    counts[series_uid] = count
        return sorted(refs.values(), key=lambda r: (r.name, r.rel_path)), counts

    def folder(self, rel_path: str) -> Path:
        """The cache folder of a remote study (it may not exist yet).

        Raises:
            PathRefused: ``rel_path`` is not ``<StudyUID>/<SeriesUID>`` of DICOM UIDs.
        """
        return confine(self.cache_dir, _split(rel_path)[1])

    def _lock_of(self, series_uid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(series_uid, threading.Lock())

    def fetch(self, rel_path: str) -> Path:
        """The cache folder of a remote study, retrieved over WADO-RS unless cached (a cached
        folder is returned as it is, even when stale: see :meth:`refresh`).

        Raises:
            PathRefused: see :meth:`folder`.
            DicomwebError: the retrieve failed (its ``status``: the server's HTTP status).
        """
        study_uid, series_uid = _split(rel_path)
        folder = self.folder(rel_path)
        with self._lock_of(series_uid):
            if not folder.is_dir():
                pull_series(self.client, study_uid, series_uid, folder)
        return folder

    def is_stale(self, rel_path: str) -> bool:
        """Whether the cached folder exists and holds another number of files than the
        last listing gave for the series (False when the count is unknown)."""
        series_uid = _split(rel_path)[1]
        folder = self.folder(rel_path)
        with self._guard:
            listed = self._instances.get(series_uid)
        return listed is not None and folder.is_dir() and _count_files(folder) != listed

    def refresh(self, rel_path: str) -> bool:
        """Retrieve a stale cached series again (see :meth:`is_stale`) and swap the new
        folder in; True when it was replaced. A failed retrieve keeps the old folder.

        Raises:
            PathRefused: see :meth:`folder`.
            DicomwebError: the retrieve failed.
        """
        study_uid, series_uid = _split(rel_path)
        folder = self.folder(rel_path)
        with self._lock_of(series_uid):
            if not self.is_stale(rel_path):  # another request may have refreshed it
                return False
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.fresh-", dir=self.cache_dir))
            aside = self.cache_dir / f".{folder.name}.old-{uuid.uuid4().hex[:12]}"
            try:
                pull_series(self.client, study_uid, series_uid, staging)
                os.replace(folder, aside)
                try:
                    os.replace(staging, folder)
                except OSError:
                    os.replace(aside, folder)  # put the old one back
                    raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(aside, ignore_errors=True)
            log.info("%s: series %s retrieved again (%d instances)", self.url, series_uid,
                     _count_files(folder))
        return True


def _count_files(folder: Path) -> int:
    """The number of files (not hidden) directly in ``folder``."""
    return sum(1 for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

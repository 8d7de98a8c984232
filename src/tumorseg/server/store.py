"""SQLite persistence of studies, sessions, accepted lesions, downloads and the audit trail.

One database file ``STATE/tumorseg.sqlite`` in WAL mode (``synchronous=NORMAL``: a committed
transaction survives the process being killed; only a power cut may lose the last ones).
Accepted lesion masks are NIfTI files under ``STATE/masks/`` written atomically *before* the
row that names them is committed, so after ``kill -9`` every row points at a complete file.

Tables::

    studies    id, name, root ("data" | "uploads"), rel_path, modality, shape, spacing, added
    sessions   id, study_id (unique), created, version, active_lesion
    lesions    session_id, lesion, mask_path (relative to STATE), voxels, volume_ml, time
               (one row per *accepted* lesion)
    events     id, session_id, time, action, detail (JSON), lesion, model_version, seconds,
               version  -- the audit trail, one row per interaction, never updated
    downloads  token, session_id, path (relative to STATE), name, created

Times are ISO 8601 UTC. The store is thread-safe (one connection behind a lock).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "Store", "utc_now"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, root TEXT NOT NULL, rel_path TEXT NOT NULL,
    modality TEXT, shape TEXT, spacing TEXT, added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, study_id TEXT NOT NULL UNIQUE REFERENCES studies(id),
    created TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0,
    active_lesion INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS lesions (
    session_id TEXT NOT NULL REFERENCES sessions(id), lesion INTEGER NOT NULL,
    mask_path TEXT NOT NULL, voxels INTEGER NOT NULL, volume_ml REAL NOT NULL,
    time TEXT NOT NULL, PRIMARY KEY (session_id, lesion));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
    time TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, lesion INTEGER,
    model_version TEXT, seconds REAL, version INTEGER);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id, id);
CREATE TABLE IF NOT EXISTS downloads (
    token TEXT PRIMARY KEY, session_id TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL,
    created TEXT NOT NULL);
"""


def utc_now() -> str:
    """The current time, ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """The server's database (see the module docstring).

    Args:
        path: the SQLite file (its folder is created).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together (or not at all)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def _one(self, sql: str, args: tuple = ()) -> dict[str, Any] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    # ---------------------------------------------------------------- studies
    def put_study(self, study: dict[str, Any]) -> None:
        """Insert or refresh a study row (keys as the ``studies`` columns; shape/spacing lists)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO studies (id, name, root, rel_path, modality, shape, spacing, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name=excluded.name,"
                " modality=excluded.modality, shape=excluded.shape, spacing=excluded.spacing",
                (study["id"], study["name"], study["root"], study["rel_path"],
                 study.get("modality"), json.dumps(study.get("shape")),
                 json.dumps(study.get("spacing")), utc_now()))

    def study(self, study_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM studies WHERE id = ?", (study_id,))
        return None if row is None else _decode_study(row)

    def studies(self) -> list[dict[str, Any]]:
        return [_decode_study(r) for r in self._all("SELECT * FROM studies ORDER BY rel_path")]

    # --------------------------------------------------------------- sessions
    def session_of_study(self, study_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sessions WHERE study_id = ?", (study_id,))

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))

    def create_session(self, session_id: str, study_id: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO sessions (id, study_id, created) VALUES (?, ?, ?)",
                       (session_id, study_id, utc_now()))

    # ------------------------------------------------------------ the journal
    def record(self, session_id: str, action: str, detail: dict[str, Any], *,
               lesion: int | None, model_version: str | None, seconds: float | None,
               version: int, active_lesion: int,
               accept: tuple[int, str, int, float] | None = None,
               unaccept: tuple[int, ...] = ()) -> None:
        """One interaction, atomically: its audit event, the session's version and active
        lesion, and accepted-lesion changes (``accept`` = (lesion, mask path, voxels, mL))."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO events (session_id, time, action, detail, lesion, model_version,"
                " seconds, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, utc_now(), action, json.dumps(detail), lesion, model_version,
                 seconds, version))
            db.execute("UPDATE sessions SET version = ?, active_lesion = ? WHERE id = ?",
                       (version, active_lesion, session_id))
            for n in unaccept:
                db.execute("DELETE FROM lesions WHERE session_id = ? AND lesion = ?",
                           (session_id, n))
            if accept is not None:
                n, path, voxels, ml = accept
                db.execute("INSERT OR REPLACE INTO lesions (session_id, lesion, mask_path, "
                           "voxels, volume_ml, time) VALUES (?, ?, ?, ?, ?, ?)",
                           (session_id, n, path, voxels, ml, utc_now()))

    def history(self, session_id: str) -> list[dict[str, Any]]:
        """The audit trail of a session, oldest first (detail decoded)."""
        rows = self._all("SELECT * FROM events WHERE session_id = ? ORDER BY id", (session_id,))
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return rows

    def accepted(self, session_id: str) -> list[dict[str, Any]]:
        """Accepted lesions of a session, by lesion number."""
        return self._all("SELECT * FROM lesions WHERE session_id = ? ORDER BY lesion",
                         (session_id,))

    # -------------------------------------------------------------- downloads
    def add_download(self, token: str, session_id: str, path: str, name: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO downloads (token, session_id, path, name, created) "
                       "VALUES (?, ?, ?, ?, ?)", (token, session_id, path, name, utc_now()))

    def download(self, token: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM downloads WHERE token = ?", (token,))


def _decode_study(row: dict[str, Any]) -> dict[str, Any]:
    row["shape"] = json.loads(row["shape"]) if row.get("shape") else None
    row["spacing"] = json.loads(row["spacing"]) if row.get("spacing") else None
    return row

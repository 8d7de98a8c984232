"""Study sessions: one :class:`~tumorseg.interactive.session.InteractiveSession` per opened
study, persisted, audited, and safe under concurrent requests.

Every change to a session is a *turn*: the request takes a ticket when it arrives, and turns
run strictly in ticket order (clicks of one session are applied in the order sent, even
when several model workers run). Each turn, in one SQLite transaction, appends an audit
event and bumps the session ``version``. Accepting a lesion first writes its mask
(NIfTI, atomically), then commits the row naming it.

Re-opening a study (also after the server was killed) restores its session from the
database: the accepted lesions, with their numbers, become the session's starting mask, and
the history is the audit trail. Work not accepted is not restored.

Deleting a lesion and running the automatic model rebuild the InteractiveSession from the
current mask: the undo history before them is dropped (an undo then answers 409).

Each event names the model that ran (the interactive model for clicks and boxes, the
automatic model for auto), and the session keeps which models made each lesion
(:attr:`ServerSession.models`, saved with each acceptance and restored with it) so an
export's report names every model behind the mask.
"""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cc3d
import numpy as np

from tumorseg.interactive.prompts import Box, Click
from tumorseg.interactive.session import InteractiveSession
from tumorseg.io import Volume, read_volume, write_volume
from tumorseg.server.engine import Engine
from tumorseg.server.errors import Conflict, NotFound
from tumorseg.server.exports import mask_dtype
from tumorseg.server.store import Store

__all__ = ["ServerSession", "SessionRegistry", "Turns", "changed_box"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Index = tuple[int, int, int]


class Turns:
    """A ticket lock: :meth:`ticket` when a request arrives, :meth:`wait` for its turn in a
    worker, :meth:`done` after it. Turns run one at a time, in ticket order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0

    def ticket(self) -> int:
        with self._cond:
            t = self._next
            self._next += 1
            return t

    def wait(self, ticket: int) -> None:
        with self._cond:
            while self._serving != ticket:
                self._cond.wait()

    def done(self) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


def changed_box(before: np.ndarray, after: np.ndarray) -> tuple[Index, Index] | None:
    """Inclusive voxel box ``(lo, hi)`` of the voxels that differ, or None."""
    diff = before != after
    axes = [np.flatnonzero(diff.any(axis=tuple(b for b in range(3) if b != a)))
            for a in range(3)]
    if any(a.size == 0 for a in axes):
        return None
    return (tuple(int(a[0]) for a in axes),  # type: ignore[return-value]
            tuple(int(a[-1]) for a in axes))


@dataclass
class _Change:
    box: tuple[Index, Index] | None
    lesions: set[int]


class ServerSession:
    """One study's interactive session on the server (see the module docstring).

    Attributes:
        id: session id; study: the study row; volume: the image.
        version: increments on every change; accepted: accepted lesion numbers.
        models: lesion → {"interactive" | "automatic": model id} of the models that
            wrote it (may name lesions no longer in the mask).
    """

    def __init__(self, session_id: str, study: dict[str, Any], volume: Volume, engine: Engine,
                 store: Store, state_dir: Path, version: int = 0, active: int = 1,
                 accepted: dict[int, dict[str, Any]] | None = None,
                 prior: np.ndarray | None = None,
                 models: dict[int, dict[str, str]] | None = None) -> None:
        self.id = session_id
        self.study = study
        self.volume = volume
        self.engine = engine
        self.store = store
        self.state_dir = Path(state_dir)
        self.version = version
        self.accepted: dict[int, dict[str, Any]] = dict(accepted or {})
        self.models: dict[int, dict[str, str]] = {n: dict(m) for n, m in
                                                  (models or {}).items()}
        self.turns = Turns()
        self.lock = threading.RLock()  # held while the mask changes or is read
        self.session = self._new_session(prior)
        if prior is not None and not np.array_equal(self.session.mask, prior):
            log.warning("session %s: the restored lesions were renumbered", session_id)
        if active >= 1:
            self.session.select_lesion(active)
        self._shadow = np.array(self.session.mask)
        self.changed: tuple[Index, Index] | None = None
        self.seconds: float | None = None
        self._undoable = 0  # prompts that undo() can take back (rebuilds clear them)
        self._redoable = 0

    def _new_session(self, prior: np.ndarray | None) -> InteractiveSession:
        model = self.engine.require_model() if self.engine.model is not None else _NoModel()
        return InteractiveSession(self.volume, model=model, prior=prior)

    # ------------------------------------------------------------------- turns
    def run_turn(self, ticket: int, fn: Callable[[], T]) -> T:
        """Run ``fn`` when ``ticket``'s turn comes (called in a worker thread)."""
        self.turns.wait(ticket)
        try:
            with self.lock:
                return fn()
        finally:
            self.turns.done()

    def _commit(self, action: str, detail: dict[str, Any], lesion: int | None,
                seconds: float | None = None, model_version: str | None = None,
                accept: tuple[int, str, int, float] | None = None,
                unaccept: set[int] | None = None) -> None:
        """Finish a change: diff the mask, drop acceptance of changed lesions, journal it."""
        change = self._diff()
        gone = set(unaccept or set()) | (change.lesions & set(self.accepted))
        if accept is not None:
            gone.discard(accept[0])
        self.version += 1
        self.changed = change.box
        self.seconds = seconds
        self.store.record(self.id, action, detail, lesion=lesion,
                          model_version=model_version,
                          seconds=seconds, version=self.version,
                          active_lesion=self.session.active_lesion, accept=accept,
                          unaccept=tuple(sorted(gone)))
        for n in gone:
            self.accepted.pop(n, None)
        if accept is not None:
            self.accepted[accept[0]] = {"mask_path": accept[1]}

    def _diff(self) -> _Change:
        mask = self.session.mask
        region = self.session.last_changed  # the session's own record of where it wrote
        if region is None:
            box = changed_box(self._shadow, mask)
        else:
            inner = changed_box(self._shadow[region], mask[region])
            start = [s.indices(n)[0] for s, n in zip(region, mask.shape, strict=True)]
            box = None if inner is None else (
                tuple(a + o for a, o in zip(inner[0], start, strict=True)),
                tuple(b + o for b, o in zip(inner[1], start, strict=True)))  # type: ignore[assignment]
        lesions: set[int] = set()
        if box is not None:
            sl = tuple(slice(a, b + 1) for a, b in zip(*box, strict=True))
            old, new = self._shadow[sl], mask[sl]
            d = old != new
            lesions = {int(v) for v in np.unique(np.concatenate([old[d], new[d]]))} - {0}
            self._shadow[sl] = new
        return _Change(box, lesions)

    # ------------------------------------------------------------------ actions
    def _check_lesion(self, lesion: int) -> None:
        if not 1 <= int(lesion) <= 65535:
            from tumorseg.errors import InputError
            raise InputError(f"lesion numbers are 1…65535, got {lesion}")

    def _require_lesion(self, lesion: int) -> None:
        """A lesion a prompt or select may name: the active lesion, or one that has voxels
        or prompts. Any other number is :class:`NotFound` (new lesions come from
        :meth:`new_lesion`, so numbers never skip)."""
        self._check_lesion(lesion)
        n = int(lesion)
        if n == self.session.active_lesion or n in self.session.prompts \
                or any(r.label == n for r in self.session.results):
            return
        raise NotFound(f"lesion {n}: no such lesion in this session; start a new lesion "
                       f"with POST /api/sessions/{self.id}/new-lesion")

    def click(self, ijk: Index, positive: bool, lesion: int | None) -> None:
        self.engine.require_model()
        if lesion is not None:
            self._require_lesion(lesion)
            self.session.select_lesion(lesion)
        self.session.add_click(Click(tuple(ijk), bool(positive)))  # type: ignore[arg-type]
        self._undoable, self._redoable = self._undoable + 1, 0
        self._ran_interactive()
        self._commit("click", {"ijk": list(ijk), "positive": bool(positive)},
                     self.session.active_lesion, self.session.last_seconds,
                     model_version=self.engine.model_version)

    def box(self, lo: Index, hi: Index, lesion: int | None) -> None:
        self.engine.require_model()
        if lesion is not None:
            self._require_lesion(lesion)
            self.session.select_lesion(lesion)
        b = Box(tuple(lo), tuple(hi))  # type: ignore[arg-type]
        self.session.set_box(b)
        self._undoable, self._redoable = self._undoable + 1, 0
        self._ran_interactive()
        self._commit("box", {"box": {"lo": list(b.lo), "hi": list(b.hi)}},
                     self.session.active_lesion, self.session.last_seconds,
                     model_version=self.engine.model_version)

    def _ran_interactive(self) -> None:
        version = self.engine.model_version
        if version is not None:
            self.models.setdefault(self.session.active_lesion, {})["interactive"] = version

    def new_lesion(self) -> None:
        n = self.session.new_lesion()
        self.models.pop(n, None)
        self._commit("new-lesion", {}, n)

    def select(self, lesion: int) -> None:
        self._require_lesion(lesion)
        self.session.select_lesion(lesion)
        self._commit("select", {}, int(lesion))

    def undo(self) -> None:
        if not self._undoable or not self.session.undo():
            raise Conflict("nothing to undo")
        self._undoable, self._redoable = self._undoable - 1, self._redoable + 1
        self._commit("undo", {}, self.session.active_lesion)

    def redo(self) -> None:
        if not self._redoable or not self.session.redo():
            raise Conflict("nothing to redo")
        self._undoable, self._redoable = self._undoable + 1, self._redoable - 1
        self._commit("redo", {}, self.session.active_lesion)

    def _rebuild(self, mask: np.ndarray, active: int) -> None:
        self.session = self._new_session(mask if mask.any() else None)
        self._undoable = self._redoable = 0
        if active >= 1:
            self.session.select_lesion(active)

    def auto(self) -> None:
        import time

        t0 = time.perf_counter()
        found = self.engine.auto_segment(self.volume)
        if found.shape != self.volume.shape:
            raise Conflict(f"the automatic model returned size {found.shape}, "
                           f"not the image size {self.volume.shape}")
        mask = np.array(self.session.mask)
        free = (found > 0) & (mask == 0)
        comps = cc3d.connected_components(free.astype(np.uint8), connectivity=26)
        start = int(max(mask.max(initial=0), *self.session.prompts, 0))
        added = []
        for c in range(1, int(comps.max(initial=0)) + 1):
            n = start + len(added) + 1
            mask[comps == c] = n
            added.append(n)
        seconds = time.perf_counter() - t0
        self._rebuild(mask, self.session.active_lesion)
        version = self.engine.auto_version
        for n in added:
            self.models[n] = {} if version is None else {"automatic": version}
        self._commit("auto", {"lesions_added": added}, None, seconds, model_version=version)

    def accept(self, lesion: int) -> None:
        self._check_lesion(lesion)
        region = self.session.mask == lesion
        voxels = int(region.sum())
        if voxels == 0:
            raise NotFound(f"lesion {lesion}: no such lesion in this session")
        rel = f"masks/{self.id}/lesion_{lesion:03d}_v{self.version + 1:05d}.nii.gz"
        write_volume(self.volume.with_array(region.astype(np.uint8), modality="SEG"),
                     self.state_dir / rel)
        ml = voxels * self.volume.voxel_volume_mm3 / 1000.0
        self._commit("accept", {"voxels": voxels, "volume_ml": ml, "mask_path": rel,
                                "models": dict(self.models.get(lesion, {}))},
                     lesion, accept=(lesion, rel, voxels, ml))

    def delete(self, lesion: int) -> None:
        self._check_lesion(lesion)
        mask = np.array(self.session.mask)
        region = mask == lesion
        if not region.any():
            raise NotFound(f"lesion {lesion}: no such lesion in this session")
        mask[region] = 0
        self._rebuild(mask, self.session.active_lesion)
        self.models.pop(lesion, None)
        self._commit("delete", {"voxels": int(region.sum())}, lesion, unaccept={lesion})

    # -------------------------------------------------------------------- reads
    def mask_copy(self) -> np.ndarray:
        with self.lock:
            return np.array(self.session.mask)

    def report_model(self, mask: np.ndarray) -> dict[str, Any] | None:
        """What the report's "Model" section says about ``mask`` (a copy of this session's).

        The interactive model's description when it alone made the lesions (or there are
        none); otherwise each model (interactive, automatic) that made a lesion, with those
        lesions. Lesions without a record (accepted by versions before records were kept)
        are counted as the interactive model's.
        """
        lesions = sorted(int(v) for v in np.unique(mask) if v)
        interactive = self.engine.model_version
        by_model: dict[tuple[str, str], list[int]] = {}
        for n in lesions:
            made = self.models.get(n) or ({"interactive": interactive} if interactive else {})
            for kind, version in made.items():
                by_model.setdefault((kind, version), []).append(n)
        if all(kind == "interactive" and version == interactive for kind, version in by_model):
            return self.engine.info
        out: dict[str, Any] = {}
        for (kind, version), numbers in sorted(by_model.items()):
            key = f"{kind} model"
            while key in out:  # several versions of one kind (a restart with another)
                key += " (other)"
            out[key] = version
            out[f"{key}: lesions"] = ", ".join(str(n) for n in numbers)
        return out

    def state(self) -> dict[str, Any]:
        with self.lock:
            results = self.session.results
            can_undo, can_redo = self._undoable > 0, self._redoable > 0
            mine = self.session.prompts.get(self.session.active_lesion)
            box = None if mine is None else mine.box
            return {
                "session_id": self.id, "version": self.version,
                "active_lesion": self.session.active_lesion,
                "lesions": [{"id": r.label, "volume_ml": r.volume_ml, "voxels": r.voxels,
                             "accepted": r.label in self.accepted} for r in results],
                "changed": None if self.changed is None else
                {"lo": list(self.changed[0]), "hi": list(self.changed[1])},
                "seconds": self.seconds, "can_undo": can_undo, "can_redo": can_redo,
                "prompts": {
                    "clicks": [{"ijk": list(c.index), "positive": c.positive}
                               for c in (mine.clicks if mine else ())],
                    "box": None if box is None else {"lo": list(box.lo), "hi": list(box.hi)}}}

    def patch(self, lo: Index, hi: Index) -> dict[str, Any]:
        """The mask inside the inclusive box ``lo…hi``, Fortran order (i fastest), base64."""
        from tumorseg.errors import InputError

        shape = self.volume.shape
        if any(not 0 <= a <= b < n for a, b, n in zip(lo, hi, shape, strict=True)):
            raise InputError(f"box {list(lo)}…{list(hi)} is not inside the image of size "
                             f"{list(shape)} (lo ≤ hi, inclusive)")
        with self.lock:
            part = self.session.mask[tuple(slice(a, b + 1) for a, b in zip(lo, hi,
                                                                          strict=True))]
            dtype = mask_dtype(part)
            data = np.asarray(part, dtype=dtype).tobytes(order="F")
        return {"lo": list(lo), "hi": list(hi), "dtype": np.dtype(dtype).name, "order": "F",
                "data": base64.b64encode(data).decode("ascii")}


class _NoModel:
    """Stands in when no interactive model is loaded (prompts are refused before it runs)."""

    def __init__(self) -> None:
        from tumorseg.interactive.guidance import GuidanceConfig
        from tumorseg.interactive.model import InteractiveModelSpec, default_network

        self.spec = InteractiveModelSpec((1.0, 1.0, 1.0), (8, 8, 8), GuidanceConfig(),
                                         default_network())

    def predict(self, *args: Any) -> np.ndarray:
        raise Conflict("no interactive model loaded")


class SessionRegistry:
    """The open sessions, one per study, created or restored on demand."""

    def __init__(self, engine: Engine, store: Store, state_dir: Path,
                 read_study: Callable[[dict[str, Any]], Volume]) -> None:
        self.engine = engine
        self.store = store
        self.state_dir = Path(state_dir)
        self._read_study = read_study
        self._open: dict[str, ServerSession] = {}
        self._by_study: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> ServerSession:
        """An open session, restoring it from the database if the server restarted."""
        with self._lock:
            s = self._open.get(session_id)
        if s is not None:
            return s
        row = self.store.session(session_id)
        if row is None:
            raise NotFound(f"session {session_id}: no such session")
        return self.open(row["study_id"])

    def open(self, study_id: str) -> ServerSession:
        """The session of a study: the open one, the persisted one, or a new one."""
        with self._lock:
            sid = self._by_study.get(study_id)
            if sid is not None:
                return self._open[sid]
            study = self.store.study(study_id)
            if study is None:
                raise NotFound(f"study {study_id}: no such study")
            volume = self._read_study(study)
            row = self.store.session_of_study(study_id)
            if row is None:
                sid = uuid.uuid4().hex
                self.store.create_session(sid, study_id)
                s = ServerSession(sid, study, volume, self.engine, self.store, self.state_dir)
            else:
                s = self._restore(row, study, volume)
            self._open[s.id] = s
            self._by_study[study_id] = s.id
            return s

    def _restore(self, row: dict[str, Any], study: dict[str, Any], volume: Volume
                 ) -> ServerSession:
        accepted = {int(r["lesion"]): r for r in self.store.accepted(row["id"])}
        models: dict[int, dict[str, str]] = {}
        for event in self.store.history(row["id"]):  # the latest acceptance of each wins
            if event["action"] == "accept" and event["lesion"] in accepted:
                models[int(event["lesion"])] = dict(event["detail"].get("models") or {})
        prior = None
        if accepted:
            prior = np.zeros(volume.shape, np.uint16)
            for n, r in accepted.items():
                part = read_volume(self.state_dir / r["mask_path"]).array
                prior[(np.asarray(part) > 0) & (prior == 0)] = n
        return ServerSession(row["id"], study, volume, self.engine, self.store,
                             self.state_dir, version=int(row["version"]),
                             active=int(row["active_lesion"]), accepted=accepted, prior=prior,
                             models=models)

    def all(self) -> list[ServerSession]:
        with self._lock:
            return list(self._open.values())

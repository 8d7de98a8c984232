"""The FastAPI application: :func:`create_app` builds it from a :class:`ServerConfig`.

Routes (all JSON; errors ``{"detail": "<one line>"}`` with 400/403/404/409/413/422) are
documented in ``src/tumorseg/server/API.md`` and at ``/docs`` and ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from tumorseg import __version__
from tumorseg.errors import InputError, TumorsegError
from tumorseg.io import Volume, read_volume, write_volume
from tumorseg.pacs.dicomweb import DicomwebError
from tumorseg.server import schemas as S
from tumorseg.server.config import ServerConfig
from tumorseg.server.dicomweb_source import DICOMWEB_ROOT, DicomwebSource, http_status
from tumorseg.server.engine import Engine
from tumorseg.server.errors import Conflict, status_of
from tumorseg.server.exports import download_path, export_mask, mask_dtype
from tumorseg.server.lesions import lesion_table
from tumorseg.server.security import is_loopback, token_matches
from tumorseg.server.sessions import ServerSession, SessionRegistry
from tumorseg.server.store import Store
from tumorseg.server.studies import TooLarge, discover, save_upload, study_path
from tumorseg.server.viewer import STATIC_DIR, find_niivue, install_page

__all__ = ["create_app"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Response header of ``GET /api/studies`` saying why the DICOMweb series are missing.
DICOMWEB_ERROR_HEADER = "X-Tumorseg-Dicomweb-Error"


def _int_triple(text: str, name: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{name}={text}: expected three integers i,j,k") from None
    if len(values) != 3:
        raise InputError(f"{name}={text}: expected three integers i,j,k")
    return values  # type: ignore[return-value]


class _UploadLimit:
    """ASGI middleware: refuse an upload body over the limit before it is stored (413)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/studies/upload"):
            await self.app(scope, receive, send)
            return
        slack = 1 << 20  # multipart headers and boundaries
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit + slack:
            body = (b'{"detail":"upload: larger than the upload limit of '
                    + f'{self.limit / 2**20:.0f} MiB"}}'.encode())
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit + slack:
                raise TooLarge(f"upload: larger than the upload limit of "
                               f"{self.limit / 2**20:.0f} MiB")
            return message

        await self.app(scope, counted, send)


def create_app(config: ServerConfig) -> FastAPI:
    """The application serving ``config.data_dir`` (see the module docstring).

    Raises:
        InputError: a non-loopback ``host`` without a token; a bad ``dicomweb_url`` or
            combination of its credentials.
    """
    if not is_loopback(config.host) and config.token is None:
        raise InputError(f"--host {config.host}: serving beyond this computer needs a token")
    state = Path(config.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    roots = {"data": Path(config.data_dir).resolve(), "uploads": (state / "uploads").resolve()}
    remote = None
    if config.dicomweb_url is not None:
        remote = DicomwebSource(config.dicomweb_url, state / "dicomweb", config.dicomweb_user,
                                config.dicomweb_password, config.dicomweb_token,
                                refresh_s=config.dicomweb_refresh_s)
    elif any(v is not None for v in (config.dicomweb_user, config.dicomweb_password,
                                      config.dicomweb_token)):
        raise InputError("DICOMweb credentials given without a DICOMweb URL (--dicomweb)")
    store = Store(state / "tumorseg.sqlite")
    engine = Engine(config)

    def source_path(study: dict[str, Any]) -> Path:
        """The file or folder of a study; a DICOMweb series is retrieved unless cached."""
        if study["root"] == DICOMWEB_ROOT:
            if remote is None:
                raise Conflict(f"{study['name']}: a DICOMweb study, but the server was started "
                               "without --dicomweb")
            return remote.fetch(study["rel_path"])
        return study_path(roots, study["root"], study["rel_path"])

    def load(study: dict[str, Any]) -> Volume:
        volume = read_volume(source_path(study))
        store.put_study({**study, "modality": volume.modality, "shape": list(volume.shape),
                         "spacing": list(volume.spacing)})
        return volume

    registry = SessionRegistry(engine, store, state, load)

    def viewer_image(study_id: str) -> Path:
        """Where the viewer's NIfTI copy of a study's image is cached."""
        return state / "cache" / f"{study_id}_image.nii.gz"

    def refresh_remote(study: dict[str, Any]) -> None:
        """Retrieve a stale cached DICOMweb series again (instance count changed on the
        server), unless a session of it is loaded (its volume and SEG reference are the
        old files) or has accepted lesions (their masks are on the old grid)."""
        if remote is None or not remote.is_stale(study["rel_path"]):
            return
        if any(s.study["id"] == study["id"] for s in registry.all()):
            return
        row = store.session_of_study(study["id"])
        if row is not None and store.accepted(row["id"]):
            return
        if remote.refresh(study["rel_path"]):
            viewer_image(study["id"]).unlink(missing_ok=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.shutdown()
        store.close()

    app = FastAPI(lifespan=lifespan, title="tumorseg", version=__version__,
                  description="Click-guided 3D tumor segmentation: studies, sessions, clicks, "
                              "lesions, exports. Voxel indices are [i, j, k] of the image.",
                  responses={400: {"model": S.ErrorBody}, 403: {"model": S.ErrorBody},
                             404: {"model": S.ErrorBody}, 409: {"model": S.ErrorBody},
                             413: {"model": S.ErrorBody}, 422: {"model": S.ErrorBody}})
    app.state.config, app.state.store, app.state.engine = config, store, engine
    app.state.registry = registry
    app.state.dicomweb = remote

    # ----------------------------------------------------------------- errors
    @app.exception_handler(TumorsegError)
    async def _tumorseg_error(request: Request, exc: TumorsegError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(DicomwebError)
    async def _dicomweb_error(request: Request, exc: DicomwebError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:3]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", ""))
        return JSONResponse({"detail": "invalid request: " + "; ".join(parts)},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)

    @app.middleware("http")
    async def _token(request: Request, call_next: Callable) -> Response:
        path = request.url.path
        if path.startswith("/api/") and not token_matches(
                config.token, request.headers.get("authorization"),
                request.query_params.get("token")):
            return JSONResponse({"detail": "a valid token is required (Authorization: Bearer "
                                 "<token> or ?token=<token>)"}, status_code=403)
        return await call_next(request)

    app.add_middleware(_UploadLimit, limit=config.max_upload_bytes)

    # ---------------------------------------------------------------- helpers
    async def in_pool(pool: Any, fn: Callable[[], T]) -> T:
        future = asyncio.get_running_loop().run_in_executor(pool, fn)
        return await asyncio.shield(future)

    async def turn(sid: str, fn: Callable[[ServerSession], Any], heavy: bool = False
                   ) -> dict[str, Any]:
        s = await in_pool(engine.light_pool, lambda: registry.get(sid))
        ticket = s.turns.ticket()
        pool = engine.model_pool if heavy else engine.light_pool
        await in_pool(pool, lambda: s.run_turn(ticket, lambda: fn(s)))
        return s.state()

    def refresh_studies() -> list[dict[str, Any]]:
        known = {r["id"]: r for r in store.studies()}
        found = []
        refs = [ref for name, root in roots.items() for ref in discover(name, root)]
        for ref in refs + (remote.list_studies() if remote is not None else []):
            row = ref.as_row()
            old = known.get(ref.id)
            if old is None or old.get("shape") is None:
                store.put_study(row)
            else:  # opened studies keep the exact values read then
                known_modality = old["modality"] not in (None, "unknown")
                row = {**row, "modality": old["modality"] if known_modality
                       else row["modality"], "shape": old["shape"], "spacing": old["spacing"]}
                if row["modality"] != old["modality"]:  # rows listed before it was read
                    store.put_study(row)
            found.append(row)
        return found

    def study_json(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in ("id", "name", "modality", "shape", "spacing")}

    # ------------------------------------------------------------------ routes
    @app.get("/api/health", response_model=S.Health, tags=["server"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "model": engine.info,
                "model_error": engine.model_error}

    @app.get("/api/studies", response_model=list[S.Study], tags=["studies"])
    async def studies(response: Response) -> list[dict[str, Any]]:
        rows = await in_pool(engine.light_pool, refresh_studies)
        if remote is not None and remote.last_error is not None:
            text = remote.last_error.encode("ascii", "replace").decode()[:500]
            response.headers[DICOMWEB_ERROR_HEADER] = text
        return [study_json(r) for r in rows]

    @app.post("/api/studies/upload", response_model=S.Study, tags=["studies"])
    async def upload(file: UploadFile = File(...)) -> dict[str, Any]:  # noqa: B008
        ref = await in_pool(engine.light_pool, lambda: save_upload(
            file.file, file.filename, roots["uploads"], config.max_upload_bytes))
        store.put_study(ref.as_row())
        return study_json(ref.as_row())

    @app.post("/api/sessions", response_model=S.SessionWithStudy, tags=["sessions"])
    async def open_session(body: S.OpenSession) -> dict[str, Any]:
        def run() -> ServerSession:
            if store.study(body.study_id) is None:
                refresh_studies()
            study = store.study(body.study_id)
            if study is not None and study["root"] == DICOMWEB_ROOT:
                refresh_remote(study)
                source_path(study)  # retrieve now, outside the registry's lock
            return registry.open(body.study_id)
        s = await in_pool(engine.light_pool, run)
        v = s.volume
        return {**s.state(), "study_id": body.study_id, "shape": list(v.shape),
                "spacing": list(v.spacing), "origin": list(v.origin),
                "direction": np.asarray(v.direction).tolist(), "modality": v.modality}

    @app.get("/api/sessions/{sid}", response_model=S.SessionState, tags=["sessions"])
    async def get_state(sid: str) -> dict[str, Any]:
        s = await in_pool(engine.light_pool, lambda: registry.get(sid))
        return s.state()

    def nifti_bytes(volume: Volume) -> bytes:
        fd, name = tempfile.mkstemp(suffix=".nii.gz", dir=state)
        os.close(fd)
        try:
            write_volume(volume, name)
            return Path(name).read_bytes()
        finally:
            Path(name).unlink(missing_ok=True)

    @app.get("/api/sessions/{sid}/image.nii.gz", tags=["sessions"],
             response_class=Response)
    async def image(sid: str) -> Response:
        def run() -> Path:
            s = registry.get(sid)
            path = viewer_image(s.study["id"])
            if not path.is_file():
                v = s.volume.channel(0) if s.volume.is_multichannel else s.volume
                a = v.array
                small = np.issubdtype(a.dtype, np.integer) and a.min() >= -32768 \
                    and a.max() <= 32767
                write_volume(v, path, dtype=np.int16 if small else np.float32)
            return path
        path = await in_pool(engine.light_pool, run)
        return FileResponse(path, media_type="application/gzip", filename="image.nii.gz")

    @app.get("/api/sessions/{sid}/mask.nii.gz", tags=["sessions"], response_class=Response)
    async def mask(sid: str) -> Response:
        def run() -> bytes:
            s = registry.get(sid)
            m = s.mask_copy()
            return nifti_bytes(s.volume.with_array(m.astype(mask_dtype(m)), modality="SEG"))
        data = await in_pool(engine.light_pool, run)
        return Response(data, media_type="application/gzip",
                        headers={"Content-Disposition": 'attachment; filename="mask.nii.gz"'})

    @app.get("/api/sessions/{sid}/mask-patch", response_model=S.MaskPatch, tags=["sessions"])
    async def mask_patch(sid: str, lo: str, hi: str) -> dict[str, Any]:
        a, b = _int_triple(lo, "lo"), _int_triple(hi, "hi")
        s = await in_pool(engine.light_pool, lambda: registry.get(sid))
        return s.patch(a, b)

    @app.post("/api/sessions/{sid}/clicks", response_model=S.SessionState, tags=["prompts"])
    async def click(sid: str, body: S.ClickRequest) -> dict[str, Any]:
        return await turn(sid, lambda s: s.click(tuple(body.ijk), body.positive, body.lesion),
                          heavy=True)

    @app.post("/api/sessions/{sid}/box", response_model=S.SessionState, tags=["prompts"])
    async def box(sid: str, body: S.BoxRequest) -> dict[str, Any]:
        return await turn(sid, lambda s: s.box(tuple(body.lo), tuple(body.hi), body.lesion),
                          heavy=True)

    @app.post("/api/sessions/{sid}/new-lesion", response_model=S.SessionState,
              tags=["prompts"])
    async def new_lesion(sid: str) -> dict[str, Any]:
        return await turn(sid, lambda s: s.new_lesion())

    @app.post("/api/sessions/{sid}/select", response_model=S.SessionState, tags=["prompts"])
    async def select(sid: str, body: S.SelectRequest) -> dict[str, Any]:
        return await turn(sid, lambda s: s.select(body.lesion))

    @app.post("/api/sessions/{sid}/undo", response_model=S.SessionState, tags=["prompts"])
    async def undo(sid: str) -> dict[str, Any]:
        return await turn(sid, lambda s: s.undo())

    @app.post("/api/sessions/{sid}/redo", response_model=S.SessionState, tags=["prompts"])
    async def redo(sid: str) -> dict[str, Any]:
        return await turn(sid, lambda s: s.redo())

    @app.post("/api/sessions/{sid}/auto", response_model=S.SessionState, tags=["prompts"])
    async def auto(sid: str) -> dict[str, Any]:
        return await turn(sid, lambda s: s.auto(), heavy=True)

    @app.post("/api/sessions/{sid}/lesions/{n}/accept", response_model=S.SessionState,
              tags=["lesions"])
    async def accept(sid: str, n: int) -> dict[str, Any]:
        return await turn(sid, lambda s: s.accept(n))

    @app.delete("/api/sessions/{sid}/lesions/{n}", response_model=S.SessionState,
                tags=["lesions"])
    async def delete(sid: str, n: int) -> dict[str, Any]:
        return await turn(sid, lambda s: s.delete(n))

    @app.get("/api/sessions/{sid}/lesions", response_model=list[S.LesionRow],
             tags=["lesions"])
    async def lesions(sid: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            s = registry.get(sid)
            with s.lock:
                m, accepted = s.mask_copy(), set(s.accepted)
            return lesion_table(s.volume, m, accepted)
        return await in_pool(engine.light_pool, run)

    @app.get("/api/sessions/{sid}/history", response_model=list[S.HistoryEvent],
             tags=["sessions"])
    async def history(sid: str) -> list[dict[str, Any]]:
        s = await in_pool(engine.light_pool, lambda: registry.get(sid))
        return [{**e["detail"], "time": e["time"], "action": e["action"],
                 "lesion": e["lesion"], "model_version": e["model_version"],
                 "seconds": e["seconds"], "version": e["version"]}
                for e in store.history(s.id)]

    @app.post("/api/sessions/{sid}/export", response_model=S.ExportResponse,
              tags=["exports"])
    async def export(sid: str, body: S.ExportRequest) -> dict[str, Any]:
        def run() -> str:
            s = registry.get(sid)
            path = source_path(s.study)
            with s.lock:
                mask = s.mask_copy()
                model = s.report_model(mask)
            return export_mask(body.format, s.volume, mask, s.study["name"], path,
                               s.id, state, store, model)
        return {"url": await in_pool(engine.light_pool, run)}

    @app.get("/api/downloads/{token}/{name}", tags=["exports"], response_class=Response)
    async def download(token: str, name: str) -> Response:
        path = download_path(store, state, token, name)
        media = {".gz": "application/gzip", ".dcm": "application/dicom",
                 ".html": "text/html"}.get(path.suffix, "application/octet-stream")
        return FileResponse(path, media_type=media, filename=path.name)

    # ----------------------------------------------------------------- viewer
    niivue = find_niivue(config.viewer_modules)
    app.state.niivue = niivue
    if niivue is not None:
        app.mount("/vendor/niivue", StaticFiles(directory=niivue), name="niivue")
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> Response:
        page = STATIC_DIR / "index.html"
        if niivue is None or not page.is_file():
            return HTMLResponse(install_page(), status_code=200)
        return FileResponse(page, media_type="text/html")

    refresh_studies()
    (state / "server.json").write_text(config.to_json(), encoding="utf-8")
    return app

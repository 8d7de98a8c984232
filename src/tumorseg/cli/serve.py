"""``tumorseg serve``: the web application (API + browser viewer) on a local port."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from tumorseg.cli.common import console, err_console
from tumorseg.errors import InputError

__all__ = ["serve_command"]


def serve_command(
    host: Annotated[str, typer.Option(
        help="Address to bind. Anything but 127.0.0.1/localhost requires a token "
             "(generated and printed when --token is not given).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
    data: Annotated[Path, typer.Option(
        "--data", help="Folder of scans to open (NIfTI, NRRD, MHA, DICOM series); only read.")
    ] = Path("."),
    state: Annotated[Path | None, typer.Option(
        "--state", help="Folder for the database, accepted masks, uploads and exports "
                        "(default: DATA/.tumorseg-state).", show_default=False)] = None,
    token: Annotated[str | None, typer.Option(
        help="Require this bearer token on every API request.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help="Interactive model: a bundled name or a model folder (default: the bundled "
             "interactive model).", show_default=False)] = None,
    auto_model: Annotated[str | None, typer.Option(
        "--auto-model", help="Automatic model for 'run automatic segmentation' (default: "
                             "the bundled one).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    max_upload_mb: Annotated[float, typer.Option(
        "--max-upload-mb", help="Largest upload (and unpacked zip), MiB.")] = 512.0,
    model_workers: Annotated[int, typer.Option(
        "--model-workers", help="Threads running the model (FIFO across sessions).")] = 1,
    torch_threads: Annotated[int | None, typer.Option(
        "--torch-threads", help="Torch threads per model call (default: torch's).",
        show_default=False)] = None,
    viewer_modules: Annotated[Path | None, typer.Option(
        "--viewer-modules", help="node_modules folder holding @niivue/niivue (default: "
                                 "./node_modules or the repository's).", show_default=False)
    ] = None,
    dicomweb: Annotated[str | None, typer.Option(
        "--dicomweb", help="Also list the CT/MR/PT series of this DICOMweb server (e.g. "
                           "http://pacs:8042/dicom-web); opened series are cached under "
                           "--state.", show_default=False)] = None,
    dicomweb_user: Annotated[str | None, typer.Option(
        "--dicomweb-user", help="DICOMweb HTTP basic auth user.", show_default=False)] = None,
    dicomweb_password: Annotated[str | None, typer.Option(
        "--dicomweb-password", help="DICOMweb HTTP basic auth password.",
        show_default=False)] = None,
    dicomweb_token: Annotated[str | None, typer.Option(
        "--dicomweb-token", help="DICOMweb bearer token (instead of user and password).",
        show_default=False)] = None,
    dicomweb_refresh: Annotated[float, typer.Option(
        "--dicomweb-refresh", min=0.0, help="Seconds a DICOMweb series listing is reused "
                                            "before the server is searched again (0: always "
                                            "search).")] = 60.0,
) -> None:
    """Serve the interactive web application: open a scan in the browser, click on tumors,
    correct, accept and export lesions. Sessions, accepted masks and an audit trail of
    every interaction persist in SQLite under --state.

    Binds to 127.0.0.1 by default (no token needed); with --host 0.0.0.0 a token is
    required and printed. Stop with Ctrl-C.

    Example: tumorseg serve --data scans/ --port 8000
    (add --dicomweb http://pacs:8042/dicom-web to list a PACS's series as well)
    """
    import uvicorn

    from tumorseg.server import ServerConfig, create_app
    from tumorseg.server.security import ensure_token
    from tumorseg.server.viewer import INSTALL_HINT, find_niivue

    if data.exists() and not data.is_dir():
        raise InputError(f"{data}: is a file; --data takes the folder of studies to serve")
    if not data.is_dir():
        raise InputError(f"{data}: no such folder (--data)")
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: not a TCP port")
    token, generated = ensure_token(host, token)
    config = ServerConfig(data_dir=data.resolve(),
                          state_dir=(state or data / ".tumorseg-state").resolve(), host=host,
                          token=token, model=model, auto_model=auto_model, device=device,
                          max_upload_mb=max_upload_mb, model_workers=model_workers,
                          torch_threads=torch_threads, viewer_modules=viewer_modules,
                          dicomweb_url=dicomweb, dicomweb_user=dicomweb_user,
                          dicomweb_password=dicomweb_password, dicomweb_token=dicomweb_token,
                          dicomweb_refresh_s=dicomweb_refresh)
    app = create_app(config)
    if app.state.engine.model is None:
        err_console.print(f"[yellow]warning:[/yellow] {app.state.engine.model_error}; clicks "
                          "will be refused (start with --model DIR)")
    if find_niivue(viewer_modules) is None:
        err_console.print(f"[yellow]warning:[/yellow] {INSTALL_HINT}")
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           access_log=False))
    original_startup = server.startup

    async def startup(sockets: list | None = None) -> None:
        await original_startup(sockets)
        bound = port
        for s in server.servers:
            for sock in s.sockets:
                bound = sock.getsockname()[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
        console.print(f"tumorseg serving {config.data_dir} at {url}", soft_wrap=True)
        if generated:
            console.print(f"token (generated): {token}")
        console.print(f"state: {config.state_dir}")

    server.startup = startup  # type: ignore[method-assign]
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server.run()

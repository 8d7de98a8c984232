"""Settings of ``tumorseg serve``: one typed object, filled by the CLI, saved beside the state.

Paths are arguments (no environment variables). ``data_dir`` is read-only to the server;
everything it writes (SQLite database, accepted masks, uploads, exports) goes under
``state_dir``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tumorseg.server.dicomweb_source import DEFAULT_REFRESH_S, redact_url

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """What the server serves and how.

    Attributes:
        data_dir: folder of scans (NIfTI, NRRD, MHA, DICOM series folders); only read.
        state_dir: folder for ``tumorseg.sqlite``, masks, uploads and exports (created).
        host: the address bound; anything but loopback requires ``token``.
        token: bearer token every ``/api`` request must carry (None: no check, loopback only).
        model: the interactive model: None (bundled), a bundled name, a folder, or a loaded
            object with ``spec`` and ``predict`` (tests pass a fake).
        auto_model: the automatic model for ``POST …/auto``: None (bundled), a name or folder,
            or a callable ``Volume -> label array [i, j, k]`` (tests pass a fake).
        device: "cpu" or "cuda".
        max_upload_mb: upload size limit (MiB; also the unpacked size limit of a zip).
        model_workers: threads running model work (FIFO across sessions); 1 suits a small
            CPU, where torch already uses every core inside one call.
        torch_threads: torch intra-op threads per model call (None: torch's default).
        viewer_modules: ``node_modules`` folder holding ``@niivue/niivue`` (None: search
            the current directory and the repository root).
        dicomweb_url: a DICOMweb server whose CT/MR/PT series are listed as studies too
            (None: none); retrieved series are cached under ``state_dir/dicomweb``.
        dicomweb_user, dicomweb_password: its HTTP basic authentication;
        dicomweb_token: or its bearer token (not both).
        dicomweb_refresh_s: seconds a DICOMweb listing is reused before the server is
            searched again (0: search on every listing).
    """

    data_dir: Path
    state_dir: Path
    host: str = "127.0.0.1"
    token: str | None = None
    model: Any = None
    auto_model: str | Path | Callable[[Any], np.ndarray] | None = None
    device: str = "cpu"
    max_upload_mb: float = 512.0
    model_workers: int = 1
    torch_threads: int | None = None
    viewer_modules: Path | None = None
    dicomweb_url: str | None = None
    dicomweb_user: str | None = None
    dicomweb_password: str | None = field(default=None, repr=False)
    dicomweb_token: str | None = field(default=None, repr=False)
    dicomweb_refresh_s: float = DEFAULT_REFRESH_S
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        if self.viewer_modules is not None:
            object.__setattr__(self, "viewer_modules", Path(self.viewer_modules))
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}")
        if self.model_workers < 1:
            raise ValueError(f"model_workers must be at least 1, got {self.model_workers}")
        if not self.dicomweb_refresh_s >= 0:
            raise ValueError(f"dicomweb_refresh_s must be >= 0, got {self.dicomweb_refresh_s}")

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (no token or password), written to ``state_dir/server.json``
        at start."""
        def name(value: Any) -> str | None:
            if value is None or isinstance(value, str | Path):
                return None if value is None else str(value)
            return type(value).__name__
        return {"data_dir": str(self.data_dir), "state_dir": str(self.state_dir),
                "host": self.host, "token_required": self.token is not None,
                "model": name(self.model), "auto_model": name(self.auto_model),
                "device": self.device, "max_upload_mb": self.max_upload_mb,
                "model_workers": self.model_workers, "torch_threads": self.torch_threads,
                "viewer_modules": None if self.viewer_modules is None
                else str(self.viewer_modules),
                "dicomweb": None if self.dicomweb_url is None
                else redact_url(self.dicomweb_url),
                "dicomweb_refresh_s": self.dicomweb_refresh_s,
                "dicomweb_auth": "token" if self.dicomweb_token else "basic"
                if self.dicomweb_user is not None or "@" in str(self.dicomweb_url) else None}

    def to_json(self) -> str:
        return json.dumps(self.describe(), indent=2) + "\n"

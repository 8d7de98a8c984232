"""A real Orthanc + DICOMweb plugin on 127.0.0.1 for tests (the ``orthanc`` fixture in
``tests/conftest.py`` uses it): HTTP basic auth :data:`USER`/:data:`PASSWORD`, storage in a
temporary folder, DICOM port disabled."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.processes import stop_process

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "tumorseg", "s3cret"


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_orthanc(root: Path) -> Iterator[str]:
    """Start Orthanc with its data in ``root``; yields its DICOMweb URL, stops it after.

    Skips the test when Orthanc or the plugin is missing; fails it when Orthanc does not
    answer within 30 s (with the end of its log).
    """
    exe = shutil.which("Orthanc")
    if exe is None or not PLUGIN.exists():
        pytest.skip("Orthanc or its DICOMweb plugin is not installed "
                    "(apt-get install orthanc orthanc-dicomweb; .ci/run does)")
    port = free_port()
    config = {
        "Name": "tumorseg-test",
        "StorageDirectory": str(root / "db"),
        "IndexDirectory": str(root / "db"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (root / "config.json").write_text(json.dumps(config))
    with open(root / "orthanc.log", "w") as log:
        proc = subprocess.Popen([exe, str(root / "config.json")], stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{url}/system", auth=(USER, PASSWORD), timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Orthanc did not start: "
                                + (root / "orthanc.log").read_text()[-2000:])
                time.sleep(0.2)
            yield f"{url}/dicom-web"
        finally:
            stop_process(proc)

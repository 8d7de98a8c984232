"""The public API: every exported name resolves; the registry loads without torch."""

from __future__ import annotations

import subprocess
import sys

import tumorseg.inference as inference
import tumorseg.postprocessing as postprocessing


def test_every_exported_name_resolves():
    for module in (inference, postprocessing):
        for name in module.__all__:
            assert getattr(module, name) is not None, name
        assert sorted(set(module.__all__)) == sorted(module.__all__)


def test_registry_does_not_import_torch():
    code = ("import sys, tumorseg.inference.registry as r; "
            "r.BUNDLED_MODELS; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, encoding="utf-8", errors="replace",
                         check=True)
    assert out.stdout.strip() == "False"

"""The public APIs of tumorseg.models and tumorseg.training: names exist once, documented."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("module", ["tumorseg.models", "tumorseg.training"])
def test_exported_members(module):
    mod = importlib.import_module(module)
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj):
            assert obj.__doc__, f"{module}.{name} has no docstring"

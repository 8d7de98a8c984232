"""The public API of tumorseg.metrics: every exported name exists and is documented."""

from __future__ import annotations

import tumorseg.metrics as metrics


def test_all_names_exist_once_and_are_documented():
    names = metrics.__all__
    assert len(names) == len(set(names))
    for name in names:
        obj = getattr(metrics, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"

"""A fixture pinning torch to one intra-op thread for the duration of a test.

Tiny networks gain nothing from more threads, and on a busy 2-core machine one thread per
process runs faster and steadier. Import it into a ``conftest.py`` to make it autouse there.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run the test with ``torch.set_num_threads(1)``; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

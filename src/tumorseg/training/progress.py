"""Callbacks through which a training run reports progress (the CLI draws bars with them).

Only the main process (rank 0) calls them. The default implementation does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TrainingCallback"]


class TrainingCallback:
    """Override the hooks you need; every hook is optional."""

    def on_preprocess(self, done: int, total: int, case: str) -> None:
        """A case was preprocessed into the cache (or found there)."""

    def on_train_start(self, fold: str, start_epoch: int, epochs: int, iterations: int) -> None:
        """Training begins at ``start_epoch`` (0-based; > 0 when resuming) of ``epochs``."""

    def on_epoch_start(self, epoch: int) -> None:
        """Epoch ``epoch`` (0-based) begins."""

    def on_iteration(self, epoch: int, iteration: int, loss: float) -> None:
        """Training step ``iteration`` (0-based) of ``epoch`` finished with ``loss``."""

    def on_validation_start(self, epoch: int, n_cases: int) -> None:
        """Validation of ``epoch`` begins on ``n_cases`` cases (or batches)."""

    def on_epoch_end(self, epoch: int, row: Mapping[str, Any]) -> None:
        """Epoch ``epoch`` finished; ``row`` is its training-log row."""

    def on_train_end(self, result: Any) -> None:
        """Training finished with this :class:`~tumorseg.training.TrainResult`."""

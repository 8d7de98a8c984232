"""``tumorseg train`` for ``torchrun``: one process per GPU (or CPU process with Gloo).

Usage::

    torchrun --standalone --nproc_per_node=4 -m tumorseg.training.ddp_entry \\
        data/abdomen -o models/abdomen --fold 0 --epochs 1000 --device cuda

The arguments are those of ``tumorseg train``. Each rank logs one line
``rank R/W: fold …`` when it starts training; only rank 0 draws progress and writes files.
Exit status: 0 on success, 2 on a :class:`~tumorseg.errors.TumorsegError` (one line), 1 otherwise.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``tumorseg train`` with ``argv`` (default: the command line) in this rank."""
    from tumorseg.cli.train import train_command
    from tumorseg.errors import TumorsegError

    rank = os.environ.get("RANK", "0")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"[rank {rank}] %(levelname)s: %(message)s"))
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(logging.INFO)
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(train_command)
    try:
        app(args=sys.argv[1:] if argv is None else argv, prog_name="tumorseg-train-ddp",
            standalone_mode=False)
    except TumorsegError as exc:
        print(f"error: [rank {rank}] {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

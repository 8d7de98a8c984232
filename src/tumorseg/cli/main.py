"""Entry point of the ``tumorseg`` command.

Errors: a :class:`~tumorseg.errors.TumorsegError` prints one line (``error: …``) and exits
with status 2; anything unexpected prints one line and exits with status 1. ``--verbose``
(before the command) shows the traceback and debug logging.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from tumorseg import __version__
from tumorseg.cli.common import err_console
from tumorseg.cli.convert import convert_command
from tumorseg.cli.demo import demo_command
from tumorseg.cli.evaluate import evaluate_command
from tumorseg.cli.info import info_command
from tumorseg.cli.phantom import phantom_command
from tumorseg.cli.plan import plan_command
from tumorseg.cli.predict import predict_command
from tumorseg.cli.train import train_command
from tumorseg.errors import TumorsegError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tumorseg",
    help="3D tumor segmentation in CT, MRI and PET: phantoms, conversion, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        print(f"tumorseg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Show tracebacks and debug messages.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """tumorseg: 3D tumor segmentation in CT, MRI and PET."""
    _state["verbose"] = verbose
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.INFO)


app.command("demo")(demo_command)
app.command("phantom")(phantom_command)
app.command("info")(info_command)
app.command("convert")(convert_command)
app.command("evaluate")(evaluate_command)
app.command("plan")(plan_command)
app.command("train")(train_command)
app.command("predict")(predict_command)


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the status code."""
    _setup_logging()
    args = sys.argv[1:] if argv is None else argv
    _state["verbose"] = "--verbose" in args or "-v" in args
    try:
        app(args=args, prog_name="tumorseg", standalone_mode=False)
    except TumorsegError as exc:
        if _state["verbose"]:
            err_console.print_exception()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory (try a smaller input or --fast options)", file=sys.stderr)
        return 1
    except Exception as exc:  # the CLI's last resort: one line, not a traceback
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # usage errors from typer/click
            exc.show()
            return int(exc.exit_code)
        if _state["verbose"]:
            err_console.print_exception()
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of the ``tumorseg`` command.

Errors: a :class:`~tumorseg.errors.TumorsegError` prints one line (``error: …``) and exits
with status 2, as does an operating-system error on a named file (``error: PATH: No such
file or directory``: an output under a folder that cannot be made, a read-only folder, a
full disk); anything unexpected prints one line and exits with status 1. ``--verbose``
(before the command) shows the traceback and debug logging.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from tumorseg import __version__
from tumorseg.cli.common import err_console
from tumorseg.errors import TumorsegError

__all__ = ["COMMANDS", "CommandSpec", "app", "load_command", "main"]


@dataclass(frozen=True)
class CommandSpec:
    """Where a command lives and the one line ``tumorseg --help`` shows for it."""

    module: str
    function: str
    summary: str


#: Every command, in ``--help`` order. Modules are imported only when their command runs, so
#: ``tumorseg --help`` and light commands (measure, export, …) do not pay for torch and MONAI.
COMMANDS: dict[str, CommandSpec] = {
    "demo": CommandSpec("tumorseg.cli.demo", "demo_command",
                        "Run the built-in demo: phantom CT → segmentation → metrics → files."),
    "phantom": CommandSpec("tumorseg.cli.phantom", "phantom_command",
                           "Generate a synthetic tumor dataset with exact labels."),
    "info": CommandSpec("tumorseg.cli.info", "info_command",
                        "Print size, spacing, origin, direction, modality and intensity range."),
    "convert": CommandSpec("tumorseg.cli.convert", "convert_command",
                           "Convert a scan between formats, keeping its geometry exactly."),
    "evaluate": CommandSpec("tumorseg.cli.evaluate", "evaluate_command",
                            "Compare predicted with reference segmentations (Dice, HD95, "
                            "lesion-wise, …)."),
    "evaluate-interactive": CommandSpec("tumorseg.cli.evaluate_interactive",
                                        "evaluate_interactive_command",
                                        "Measure click-guided segmentation with the click robot."),
    "plan": CommandSpec("tumorseg.cli.plan", "plan_command",
                        "Fingerprint a dataset and plan preprocessing and the 3D U-Net."),
    "train": CommandSpec("tumorseg.cli.train", "train_command",
                         "Train the automatic or the click-guided 3D U-Net on one fold."),
    "predict": CommandSpec("tumorseg.cli.predict", "predict_command",
                           "Segment tumors automatically with a trained 3D U-Net."),
    "segment": CommandSpec("tumorseg.cli.segment", "segment_command",
                           "Segment lesions from clicks (positive, negative, box)."),
    "itv": CommandSpec("tumorseg.cli.itv", "itv_command",
                       "4D CT: GTV on every respiratory phase, ITV, MIP and tumor motion."),
    "measure": CommandSpec("tumorseg.cli.measure", "measure_command",
                           "Measure every lesion: volume, RECIST axes, 3D diameter, HU/SUV."),
    "report": CommandSpec("tumorseg.cli.report", "report_command",
                          "Write a self-contained HTML lesion report with pictures."),
    "export": CommandSpec("tumorseg.cli.export", "export_command",
                          "Export a mask as DICOM SEG or RTSTRUCT referencing its source series."),
    "pull": CommandSpec("tumorseg.cli.pacs", "pull_command",
                        "Download a study or series from a PACS over DICOMweb."),
    "push": CommandSpec("tumorseg.cli.pacs", "push_command",
                        "Store DICOM files in a PACS over DICOMweb (STOW-RS)."),
    "serve": CommandSpec("tumorseg.cli.serve", "serve_command",
                         "Serve the web application: click-guided segmentation in the browser."),
}


def load_command(name: str) -> Callable[..., object]:
    """Import and return the function behind command ``name`` (KeyError if unknown)."""
    spec = COMMANDS[name]
    return getattr(importlib.import_module(spec.module), spec.function)


def reflow_help(doc: str | None) -> str | None:
    """A command docstring with each paragraph on one line, so ``--help`` wraps it to the
    terminal; lines starting with "- " or "* " (lists) keep their own line."""
    if not doc:
        return doc
    paragraphs = []
    for paragraph in inspect.cleandoc(doc).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            text = line.strip()
            if lines and not text.startswith(("- ", "* ")):
                lines[-1] += " " + text
            else:
                lines.append(text)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


class _LazyGroup(TyperGroup):
    """A command group that imports a command's module only when that command runs."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        if self._listing:  # the group's own --help: name and summary are enough
            return TyperCommand(cmd_name, help=spec.summary, short_help=spec.summary)
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                             context_settings=CONTEXT_SETTINGS)
        function = load_command(cmd_name)
        single.command(cmd_name, help=reflow_help(function.__doc__))(function)
        command = typer.main.get_command(single)
        command.name = cmd_name
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="tumorseg",
    help="3D tumor segmentation in CT, MRI and PET: phantoms, conversion, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
    cls=_LazyGroup,
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
    except OSError as exc:
        if _state["verbose"]:
            err_console.print_exception()
        if exc.filename is None:  # no file to name (a socket, a pipe): the last resort below
            print(f"error: unexpected {type(exc).__name__}: {exc} (run with --verbose for "
                  "details)", file=sys.stderr)
            return 1
        # an unwritable or missing path (-o /proc/x/out.csv, a read-only folder, a full disk)
        print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2
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

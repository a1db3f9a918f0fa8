"""The `scai` command line: a thin skin over the Python API (no logic lives here)."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.text import Text

from scai import __version__
from scai.cli_common import err, out
from scai.errors import ScaiError
from scai.kinds import register_clis

app = typer.Typer(
    help="scai: alignment research by simulation.", no_args_is_help=True,
    pretty_exceptions_enable=False, add_completion=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also show the libraries' own "
                                 "log lines and warnings (llama.cpp, transformers, TRL) on "
                                 "stderr; they always go to the log file."),
) -> None:
    if version:
        out.print(f"scai {__version__}")
        raise typer.Exit()
    from scai.logs import setup

    setup(verbose)


# Every command comes from a feature record (scai/kinds.py): the core's own commands too.
register_clis(app)


def main() -> None:
    """Entry point: user mistakes become one line on stderr and a non-zero exit code."""
    try:
        app()
    except ScaiError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        sys.exit(exc.exit_code)
    except ValidationError as exc:  # an option value out of range, e.g. --max-tokens 0
        from scai.config import format_validation_error

        message = format_validation_error("options", exc)
        err.print(Text.assemble(("error: ", "bold red"), message), highlight=False)
        sys.exit(2)
    except OSError as exc:  # a path the user gave cannot be read or written
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; finished work is kept in the run store (resume with --resume)")
        sys.exit(130)


if __name__ == "__main__":
    main()

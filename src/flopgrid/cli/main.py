"""Entry point: builds the Typer app from the command modules and maps errors to exit
codes (2 = bad input, 1 = failure), one line on stderr, never a traceback for a user
mistake."""

from __future__ import annotations

import sys

import typer

from flopgrid import __version__
from flopgrid.errors import FlopgridError

app = typer.Typer(
    name="flopgrid",
    help="An independent system operator for AI compute: meter, forecast, clear and settle useful FLOPs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"flopgrid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    """flopgrid: useful FLOPs, metered, forecast, cleared and settled."""


def _register() -> None:
    from flopgrid.cli import catalog_cmd, mfu_cmd, peak_cmd

    mfu_cmd.register(app)
    peak_cmd.register(app)
    catalog_cmd.register(app)
    from flopgrid.cli import perf_cmd

    perf_cmd.register(app)
    from flopgrid.cli import market_cmd

    market_cmd.register(app)
    from flopgrid.cli import meter_cmd

    meter_cmd.register(app)
    from flopgrid.cli import reliability_cmd, sim_cmd

    reliability_cmd.register(app)
    sim_cmd.register(app)
    from flopgrid.cli import client_cmd, serve_cmd

    serve_cmd.register(app)
    client_cmd.register(app)
    from flopgrid.cli import dispatch_cmd

    dispatch_cmd.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit with 2 on bad input, 1 on failure."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        args = ["--help"]
    try:
        app(args=args, prog_name="flopgrid", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("flopgrid: aborted", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:  # click usage errors (exit_code 2)
        print(f"flopgrid: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except FlopgridError as exc:
        print(f"flopgrid: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        print("flopgrid: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0)

if __name__ == "__main__":
    main()

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
    from flopgrid.cli import schema_cmd

    schema_cmd.register(app)
    from flopgrid.cli import diagnose_cmd; diagnose_cmd.register(app)  # noqa: E702, I001
    from flopgrid.cli import client_cmd, serve_cmd

    serve_cmd.register(app)
    client_cmd.register(app)
    from flopgrid.cli import dispatch_cmd

    dispatch_cmd.register(app)
    from flopgrid.cli import demo_cmd; demo_cmd.register(app)  # noqa: E702, I001


_register()


def _plain_help() -> None:
    """Click's plain help instead of Rich panels: it wraps option names and help text at
    the terminal width (80 in a pipe) and never truncates a name or a value with '…'."""
    import typer.core

    typer.core.HAS_RICH = False


def _interrupt_on_sigint() -> None:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt even when the process started with SIGINT
    ignored (a shell's background job), so it always ends with exit code 130."""
    import signal

    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):  # not the main thread (embedded use): leave it alone
        pass


def _given_value(exc: Exception, args: list[str]) -> str:
    """' (got VALUE)' for a usage error about an option given on the command line: the
    parser's message names the option and the rule, not what was typed."""
    param = getattr(exc, "param", None)
    for opt in getattr(param, "opts", None) or ():
        for i, arg in enumerate(args):
            if arg == opt and i + 1 < len(args):
                return f" (got {args[i + 1]!r})"
            if arg.startswith(opt + "="):
                return f" (got {arg[len(opt) + 1:]!r})"
    return ""


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _interrupted() -> None:
    """Exit 130 after Ctrl-C. Under `python -m flopgrid`, CPython kills the process with
    SIGINT at exit (return code -2, not 130) whenever the KeyboardInterrupt was raised inside
    code run from a string (`exec`/`eval`: dataclass and namedtuple methods, torch's
    generated code), even though it was caught: `run_eval_code_obj` sets the runtime's
    "unhandled KeyboardInterrupt" flag and `Py_RunMain` checks it after the module's
    SystemExit. The flag is cleared at the start of every string evaluation, so evaluate one."""
    exec("None")  # noqa: S102 - a constant: only clears the flag described above
    print("flopgrid: interrupted", file=sys.stderr)
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit with 2 on bad input, 1 on failure, 130 on Ctrl-C."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        args = ["--help"]
    _plain_help()
    _interrupt_on_sigint()
    try:
        rv = app(args=args, prog_name="flopgrid", standalone_mode=False)
        if isinstance(rv, int) and rv:  # typer returns Exit codes in non-standalone mode
            if rv == 130:  # its translation of KeyboardInterrupt
                _interrupted()
            sys.exit(rv)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("flopgrid: aborted", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:  # click usage errors (exit_code 2)
        print(f"flopgrid: error: {exc.format_message()}{_given_value(exc, args)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except FlopgridError as exc:
        print(f"flopgrid: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        _interrupted()
    except UnicodeDecodeError as exc:  # a file read outside flopgrid.files: still one line
        print(f"flopgrid: error: an input is not UTF-8 text ({exc.reason} at byte {exc.start})", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if _caused_by_interrupt(exc):  # Ctrl-C inside a C extension's import or a callback
            _interrupted()
        raise
    sys.exit(0)

if __name__ == "__main__":
    main()

"""`flopgrid serve`, `flopgrid admin create-key`, `flopgrid db upgrade`: the operator's side."""

from __future__ import annotations

import logging

import typer

from flopgrid.cli.output import console, emit
from flopgrid.errors import UserInputError

admin_app = typer.Typer(help="Operator administration (keys).", no_args_is_help=True)
db_app = typer.Typer(help="The service database (migrations).", no_args_is_help=True)
ROLES = ("operator", "provider", "buyer", "dispatcher")
DB_HELP = "database URL: a SQLite file (default $FLOPGRID_DB or ./flopgrid.db) or postgresql://..."


def _open(db: str | None, upgrade: bool = True):
    from sqlalchemy.exc import SQLAlchemyError

    from flopgrid.store import open_store

    try:
        return open_store(db, upgrade=upgrade)
    except SQLAlchemyError as exc:
        raise UserInputError(f"--db: cannot open the database: {str(exc).splitlines()[0]}") from None


def serve_cmd(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="listen address"),
    port: int = typer.Option(8765, "--port", help="listen port"),
    auto: bool = typer.Option(False, "--auto", help="run the market timeline on the clock (gate -> clear -> settle)"),
    clear_time_limit: float = typer.Option(60.0, "--clear-time-limit", help="HiGHS time limit per clearing, seconds"),
    log_level: str = typer.Option("info", "--log-level", help="debug | info | warning"),
) -> None:
    """Run the grid: the HTTP API, public prices and the dashboard (migrations applied on start)."""
    import uvicorn

    from flopgrid.api import asgi

    if not (0 < port < 65536):
        raise UserInputError(f"--port must be in 1..65535, got {port}")
    if log_level not in ("debug", "info", "warning"):
        raise UserInputError(f"--log-level must be debug, info or warning, got {log_level!r}")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = _open(db)
    logging.getLogger("flopgrid.serve").info("serving %s on http://%s:%d (auto=%s)", store.dialect, host, port, auto)
    uvicorn.run(asgi(store, auto=auto, clear_time_limit_s=clear_time_limit), host=host, port=port,
                log_level=log_level, access_log=log_level == "debug")


@admin_app.command("create-key")
def create_key_cmd(
    role: str = typer.Option(..., "--role", help="operator | provider | buyer | dispatcher"),
    name: str = typer.Option(..., "--name", help="participant name (created if new)"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="print {key, participant}"),
) -> None:
    """Create an API key (shown once; the database keeps only its salted hash)."""
    from flopgrid.api.errors import ApiError
    from flopgrid.api.participants.schemas import ParticipantIn
    from flopgrid.api.participants.service import create_key

    if role not in ROLES:
        raise UserInputError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    try:
        ParticipantIn(name=name, role=role)
    except Exception:  # noqa: BLE001
        raise UserInputError(f"--name {name!r}: letters, digits, '.', '_' or '-', starting with a letter or digit") from None
    try:
        out = create_key(_open(db), name, role)
    except ApiError as exc:
        raise UserInputError(f"--name: {exc.detail}") from None
    emit(out.model_dump(mode="json"), as_json,
         lambda r: console.print(f"key for {r['participant']['name']} ({r['participant']['role']}): {r['key']}\n"
                                 "[dim]shown once; only its salted hash is stored[/dim]", highlight=False))


@db_app.command("upgrade")
def upgrade_cmd(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Apply the schema migrations (Alembic) to the database."""
    from flopgrid.store.migrate import current_revision

    store = _open(db)
    console.print(f"{store.dialect} database at revision {current_revision(store.engine)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.add_typer(admin_app, name="admin")
    app.add_typer(db_app, name="db")

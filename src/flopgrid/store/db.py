"""Engines and sessions: SQLite (file, WAL, BEGIN IMMEDIATE for writes) or PostgreSQL (psycopg 3).

Two session factories share one engine: `read()` (deferred transactions, concurrent with
writers under WAL) and `write()` (on SQLite `BEGIN IMMEDIATE`, so a read-then-write
transaction never fails on lock upgrade; on PostgreSQL the same READ COMMITTED transaction).
Each is used as `with store.write() as s: ...` - one database transaction that commits on
exit and rolls back on any exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from flopgrid.errors import UserInputError


def default_db_url() -> str:
    """`FLOPGRID_DB` or a SQLite file `flopgrid.db` in the working directory."""
    return os.environ.get("FLOPGRID_DB") or "sqlite:///flopgrid.db"


def normalize_url(url: str) -> str:
    """Accept a bare path (SQLite file), `sqlite:///...` or `postgresql://...` (psycopg 3)."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith(("sqlite:", "postgresql+psycopg:")):
        return url
    raise UserInputError(f"--db: {url!r} is not a database URL (allowed: a file path, sqlite:///FILE, postgresql://...)")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own is deferred-only)
        cur = dbapi_conn.cursor()
        if ":memory:" not in url:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("flopgrid_write") else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


@dataclass
class Store:
    """One database: an engine and its read / write session factories."""

    url: str
    engine: Engine

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(flopgrid_write=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as s, s.begin():
            yield s

    def upgrade(self) -> None:
        from flopgrid.store.migrate import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None, *, upgrade: bool = False) -> Store:
    """A Store for `url` (default `default_db_url()`); `upgrade=True` applies the migrations."""
    store = Store(normalize_url(url or default_db_url()), make_engine(url or default_db_url()))
    if upgrade:
        store.upgrade()
    return store

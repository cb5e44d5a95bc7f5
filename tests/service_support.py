"""Shared pieces of the service tests: a throw-away PostgreSQL server, fresh databases, a real
`flopgrid serve` process on a free loopback port, and small market fixtures.

PostgreSQL: `FLOPGRID_TEST_POSTGRES_URL` (what `.ci/run` exports) or, failing that, a server
started here with initdb + pg_ctl in a temp dir (as the `postgres` user when run as root);
tests on PostgreSQL skip with the reason when neither is possible."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flopgrid.api.process import ServerProcess  # noqa: F401 - re-exported for the test modules
from flopgrid.store.throwaway import PostgresServer as _PostgresServer
from flopgrid.store.throwaway import PostgresUnavailable

REPO = Path(__file__).resolve().parents[1]


class PostgresServer(_PostgresServer):
    @classmethod
    def start(cls) -> PostgresServer:
        try:
            return super().start()
        except PostgresUnavailable as exc:
            pytest.skip(f"PostgreSQL not available: {exc}")


def make_db(kind: str, pg: PostgresServer | None, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'flopgrid.db'}"
    assert pg is not None
    return pg.new_database()


def module_db(request, tmp_path_factory, tag: str) -> tuple[Path, str]:  # noqa: ANN001
    """(a temp dir, a fresh database URL) for a module fixture parametrized by database kind."""
    kind = getattr(request, "param", "sqlite")
    tmp = tmp_path_factory.mktemp(f"{tag}-{kind}")
    pg = request.getfixturevalue("postgres_server") if kind == "postgresql" else None
    return tmp, make_db(kind, pg, tmp)


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "flopgrid", *args], capture_output=True, text=True, env=full,
                          timeout=timeout)


def create_key(db: str, role: str, name: str) -> str:
    """A key made in-process, as `flopgrid admin create-key` does (migrations applied)."""
    from flopgrid.api.participants.service import create_key as make
    from flopgrid.store import open_store

    store = open_store(db, upgrade=True)
    try:
        return make(store, name, role).key
    finally:
        store.close()


def gate_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def small_pool(pid: str, provider: str, chips: int = 64, price: float = 2.0) -> dict:
    return {"id": pid, "provider": provider, "hardware": "h100-sxm", "chips": chips, "island_chips": chips,
            "region": "us-east", "offer": [{"chips": chips, "price_per_chip_hour": price}]}


def small_bid(bid_id: str, buyer: str, chips: int = 8, price: float = 5.0, intervals: int = 2) -> dict:
    return {"id": bid_id, "buyer": buyer, "model": "llama3-8b", "chips": [chips], "intervals": intervals,
            "window": [0, 4], "max_price_per_chip_hour": price}

"""Shared pieces of the service tests: a throw-away PostgreSQL server, fresh databases, a real
`flopgrid serve` process on a free loopback port, and small market fixtures.

PostgreSQL: `FLOPGRID_TEST_POSTGRES_URL` (what `.ci/run` exports) or, failing that, a server
started here with initdb + pg_ctl in a temp dir (as the `postgres` user when run as root);
tests on PostgreSQL skip with the reason when neither is possible."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

PG_BIN = Path(os.environ.get("FLOPGRID_PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-c", " ".join(cmd)]


@dataclass
class PostgresServer:
    """A PostgreSQL server for the test session: `url` of its `postgres` database."""

    url: str
    data_dir: Path | None = None
    owned: bool = False
    _made: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PostgresServer:
        given = os.environ.get("FLOPGRID_TEST_POSTGRES_URL")
        if given:
            return cls(given)
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL not available: no {PG_BIN}/initdb and no FLOPGRID_TEST_POSTGRES_URL")
        base = Path(tempfile.mkdtemp(prefix="flopgrid-pg-"))
        data = base / "data"
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
            base.chmod(0o755)
        port = free_port()
        run = lambda cmd: subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120)  # noqa: E731
        r = run([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        if r.returncode != 0:
            pytest.skip(f"PostgreSQL initdb failed: {r.stderr.strip().splitlines()[-1:]}")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        r = run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"])
        if r.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {r.stderr.strip()[-200:]}")
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, True)

    def new_database(self) -> str:
        import psycopg

        name = f"fg_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._made.append(name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.owned and self.data_dir is not None:
            subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def make_db(kind: str, pg: PostgresServer | None, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'flopgrid.db'}"
    assert pg is not None
    return pg.new_database()


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


class ServerProcess:
    """`flopgrid serve` in a subprocess on a free 127.0.0.1 port; its stderr goes to `log`."""

    def __init__(self, db: str, log: Path, *extra: str) -> None:
        self.db, self.log, self.extra = db, log, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen([sys.executable, "-m", "flopgrid", "serve", "--db", self.db, "--host", "127.0.0.1",
                                          "--port", str(self.port), "--log-level", "debug", *self.extra],
                                         stdout=f, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


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

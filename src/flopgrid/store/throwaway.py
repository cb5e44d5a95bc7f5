"""A throw-away PostgreSQL server (initdb + pg_ctl in a temp dir, a free 127.0.0.1 port, trust
auth, run as the `postgres` user when we are root), for the service tests and
`bench/service_load.py`. `FLOPGRID_TEST_POSTGRES_URL` (set by `.ci/run`) is used instead when
given. Raises `PostgresUnavailable` with the reason when neither works."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("FLOPGRID_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    pass


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
    """`url` is the server's `postgres` database; `new_database()` makes an empty one."""

    url: str
    data_dir: Path | None = None
    owned: bool = False
    made: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PostgresServer:
        given = os.environ.get("FLOPGRID_TEST_POSTGRES_URL")
        if given:
            return cls(given)
        if not (PG_BIN / "initdb").exists():
            raise PostgresUnavailable(f"no {PG_BIN}/initdb (apt-get install postgresql) and no FLOPGRID_TEST_POSTGRES_URL")
        base = Path(tempfile.mkdtemp(prefix="flopgrid-pg-"))
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
            base.chmod(0o755)
        data, port = base / "data", free_port()

        def run(cmd: list[str]) -> subprocess.CompletedProcess:
            return subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

        r = run([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
        if r.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        r = run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"])
        if r.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            raise PostgresUnavailable(f"pg_ctl start failed: {r.stderr.strip()[-200:]}")
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, True)

    def new_database(self) -> str:
        import psycopg

        name = f"fg_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.owned and self.data_dir is not None:
            subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

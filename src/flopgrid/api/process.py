"""`flopgrid serve` in a subprocess on a free 127.0.0.1 port, killable and restartable: what the
service tests and `bench/service_load.py` run against (a real server process, loopback only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flopgrid.store.throwaway import free_port

SRC = str(Path(__file__).resolve().parents[2])  # the source tree this flopgrid was imported from


class ServerProcess:
    """`flopgrid serve` in a subprocess on a free 127.0.0.1 port; its stderr goes to `log`."""

    def __init__(self, db: str, log: Path, *extra: str) -> None:
        self.db, self.log, self.extra = db, log, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
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

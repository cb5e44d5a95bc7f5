"""The grid service in this process: `flopgrid.api.asgi` served by uvicorn in a thread on
127.0.0.1 and a free port, so the demo drives it through real HTTP with the participants'
client (`flopgrid.client.Client`), exactly as `flopgrid pool register` or `flopgrid bid
submit` would, and `flopgrid demo --serve` keeps that same server up afterwards."""

from __future__ import annotations

import logging
import threading
import time

from flopgrid.errors import FlopgridError
from flopgrid.store import Store

log = logging.getLogger("flopgrid.demo.server")


class InProcessServer:
    """uvicorn serving the app of `store` on 127.0.0.1 in a daemon thread."""

    def __init__(self, store: Store, port: int | None = None, clear_time_limit_s: float = 60.0) -> None:
        import uvicorn

        from flopgrid.api import asgi
        from flopgrid.store.throwaway import free_port

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(asgi(store, clear_time_limit_s=clear_time_limit_s), host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="flopgrid-demo-server", daemon=True)

    def start(self, timeout_s: float = 30.0) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise FlopgridError(f"the demo's service did not start on {self.url}")
            time.sleep(0.02)
        log.info("service up on %s", self.url)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)

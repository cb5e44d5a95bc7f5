"""The clearing worker: one thread, so HiGHS runs off the request path and at most one market
clears at a time. Markets left `clearing` by a crash are picked up again on start."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from flopgrid.api.markets import repository
from flopgrid.api.markets.clearing import run_clearing
from flopgrid.api.metrics import Metrics
from flopgrid.store import Store

log = logging.getLogger("flopgrid.api.worker")


class ClearingWorker:
    def __init__(self, store: Store, metrics: Metrics, time_limit_s: float | None = 60.0) -> None:
        self.store, self.metrics, self.time_limit_s = store, metrics, time_limit_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flopgrid-clear")

    def submit(self, market_id: str) -> Future:
        return self._pool.submit(self._run, market_id)

    def _run(self, market_id: str) -> str:
        t0 = time.perf_counter()
        try:
            status = run_clearing(self.store, market_id, self.time_limit_s)
        except Exception:
            log.exception("clearing worker failed on %s", market_id)
            status = "error"
        self.metrics.clearing_done(status, time.perf_counter() - t0)
        return status

    def recover(self) -> list[str]:
        with self.store.read() as s:
            stuck = [m.id for m in repository.listing(s, "clearing")]
        for mid in stuck:
            log.info("resuming the clearing of %s", mid)
            self.submit(mid)
        return stuck

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

"""`flopgrid serve --auto`: runs the market timeline on the clock.

open past its gate closure -> closed -> clear (worker) -> cleared -> settle once every
allocation has a reading, or once the horizon has ended (a horizon with a `start`); a market
with no allocations is settled at once (its ledger is then empty)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flopgrid.api.errors import ApiError
from flopgrid.api.markets import repository, service
from flopgrid.api.markets.settlement import settle_market
from flopgrid.api.worker import ClearingWorker
from flopgrid.market import Horizon
from flopgrid.store import Store
from flopgrid.store.models import MarketRow, ReadingRow, utcnow

log = logging.getLogger("flopgrid.api.timeline")


def horizon_end(m: MarketRow) -> datetime | None:
    h = Horizon.model_validate(m.horizon)
    if not h.start:
        return None
    try:
        start = datetime.fromisoformat(h.start)
    except ValueError:
        return None
    if start.tzinfo is None:
        return None
    return start + timedelta(minutes=h.intervals * h.interval_minutes)


def _delivered(store: Store, m: MarketRow) -> bool:
    from sqlalchemy import select

    with store.read() as s:
        allocs = {a.id for a in repository.allocations(s, m.id)}
        if not allocs:
            return True
        read = set(s.scalars(select(ReadingRow.allocation_id).where(ReadingRow.allocation_id.in_(allocs))))
    end = horizon_end(m)
    return allocs <= read or (end is not None and utcnow() >= end)


def tick(store: Store, worker: ClearingWorker) -> list[str]:
    """One pass over the markets; returns what it did (for logs and tests)."""
    done = []
    with store.read() as s:
        markets = repository.listing(s)
    now = utcnow()
    for m in markets:
        try:
            if m.status in ("open", "closed") and now >= m.gate_closure_at:
                service.request_clear(store, m.id)
                worker.submit(m.id)
                done.append(f"clear {m.id}")
            elif m.status == "cleared" and _delivered(store, m):
                settle_market(store, m.id)
                done.append(f"settle {m.id}")
        except ApiError as exc:  # another operator got there first
            log.info("timeline: %s: %s", m.id, exc.detail)
    for d in done:
        log.info("timeline: %s", d)
    return done


class AutoTimeline:
    def __init__(self, store: Store, worker: ClearingWorker, period_s: float = 1.0) -> None:
        self.store, self.worker, self.period_s = store, worker, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flopgrid-timeline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                tick(self.store, self.worker)
            except Exception:
                log.exception("timeline tick failed")

    def stop(self) -> None:
        self._stop.set()

"""One market day through the service's HTTP API, as its participants would run it: the
buyers submit their bids, the operator closes the gate and clears (off the request path),
prices and allocations are published, the day is delivered (`deliver`: a callable that
returns a reading per allocation), the dispatcher posts the readings, the operator settles
(the settlement re-clears the day in real time with the outage chips removed, for the
deviations' prices: `flopgrid.market` realtime), and the statements and ledger are read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flopgrid.client import Client
from flopgrid.errors import FlopgridError

log = logging.getLogger("flopgrid.demo")


@dataclass
class Participants:
    """Clients of every participant of the demo, by role."""

    operator: Client
    operator_key: str
    dispatcher: Client
    buyers: dict[str, Client] = field(default_factory=dict)
    providers: dict[str, Client] = field(default_factory=dict)

    def close(self) -> None:
        for c in [self.operator, self.dispatcher, *self.buyers.values(), *self.providers.values()]:
            c.close()


@dataclass
class MarketDay:
    label: str
    market: dict[str, Any]
    bids: list[dict[str, Any]]
    allocations: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    readings: dict[int, dict[str, Any]] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    delivery: Any = None  # what `deliver` returned (simulated leases, Ray leases)


def horizon_for(intervals: int, interval_minutes: float) -> dict[str, Any]:
    """The next day from midnight UTC (informational: nothing waits for the clock)."""
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"start": start.isoformat().replace("+00:00", "Z"), "intervals": intervals,
            "interval_minutes": interval_minutes}


Deliver = Callable[[list[dict[str, Any]]], tuple[dict[int, dict[str, Any]], Any]]


def run_market_day(p: Participants, label: str, bids: list[dict[str, Any]], horizon: dict[str, Any],
                   deliver: Deliver, step: Callable[[str], None] = lambda _: None) -> MarketDay:
    op = p.operator
    gate = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    market = op.create_market(horizon, gate)
    mid = market["id"]
    day = MarketDay(label, market, bids)
    step(f"{label}: {len(bids)} bids into {mid}")
    for b in bids:
        p.buyers[b["buyer"]].submit_bid(b, market=mid, idempotency_key=f"{mid}-{b['id']}")
    step(f"{label}: gate closure and clearing of {mid}")
    op.close_market(mid)
    op.clear_market(mid)
    m = op.wait_cleared(mid, timeout_s=600)
    if m["status"] != "cleared":
        raise FlopgridError(f"market {mid} ({label}) did not clear: {m['status']}: {m.get('reason') or ''}".strip())
    day.market = m
    day.prices = op.prices(mid)
    day.summary = op.summary(mid)
    day.allocations = op.allocations(mid)
    step(f"{label}: delivering {len(day.allocations)} allocations")
    readings, day.delivery = deliver(day.allocations)
    step(f"{label}: posting {len(readings)} readings")
    for alloc_id in sorted(readings):
        stored = p.dispatcher.post_reading(alloc_id, readings[alloc_id])
        day.readings[alloc_id] = stored["reading"]
    step(f"{label}: settling {mid} (real-time re-clearing for the deviations)")
    day.market = op.settle_market(mid)
    day.statements = op.statements(mid)
    day.ledger = op.ledger(mid)
    log.info("%s: market %s settled, %d allocations", label, mid, len(day.allocations))
    return day

"""Dispatching a market's cleared allocations from the grid service: read the market and its
allocations as the `dispatcher` role, run them (`Dispatcher`), send readings to
`POST /v1/allocations/{id}/readings` on every status change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flopgrid.dispatch.dispatcher import AllocationOrder, Dispatcher, DispatchResult
from flopgrid.dispatch.job import JobSpec
from flopgrid.dispatch.readings import ClientSink
from flopgrid.errors import UserInputError


def market_orders(client: Any, market_id: str) -> list[AllocationOrder]:
    """The allocations of a cleared market, as dispatch orders (TTL = intervals x interval length)."""
    market = client.market(market_id)
    if market["status"] != "cleared":
        raise UserInputError(f"--market {market_id!r} is {market['status']}: only a cleared market's allocations "
                             f"are dispatched (readings are taken while it is cleared)")
    minutes = float(market["horizon"].get("interval_minutes", 60.0))
    return [AllocationOrder.from_service(a, minutes) for a in client.allocations(market_id)]


def dispatch_market(client: Any, market_id: str, spec: JobSpec, run_root: str | Path, policy: Any = None,
                    timeout_s: float | None = None, **kw: Any) -> DispatchResult:
    orders = market_orders(client, market_id)
    d = Dispatcher(orders, spec, run_root, policy=policy, sink=ClientSink(client), **kw)
    return d.run(timeout_s=timeout_s)

"""The clearing job (run by `flopgrid.api.worker`, off the request path).

Reads the market's open bids and the registered pools (both sorted by id, so the scenario is
reproducible: `GET /v1/markets/{id}/scenario` returns it and `flopgrid clear` on it gives the
same result), calls the library's `clear`, then publishes in one transaction guarded by
`status = 'clearing'`. Solver trouble (no_solution, solver_error, unpublished prices, an
exception) leaves the market `failed` with the reason; nothing is published, earlier markets'
prices stay as they were."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select, update

from flopgrid.api.markets import repository
from flopgrid.market import Bid, Horizon, Pool, Reserve, Scenario, clear
from flopgrid.store import Store, micro_usd
from flopgrid.store.models import AllocationRow, BidRow, PoolRow, PriceRowDB, utcnow

log = logging.getLogger("flopgrid.api.clearing")
FAILED_STATUSES = ("no_solution", "solver_error")
MIP_GAP = 1e-6  # the `flopgrid clear` default, so the CLI reproduces a service clearing


def pool_for_horizon(pool: Pool, intervals: int) -> Pool | None:
    """A registered pool as seen by one market: its availability clipped to the horizon."""
    if pool.available is None:
        return pool
    first, last = pool.available
    if first >= intervals:
        return None
    return pool.model_copy(update={"available": (first, min(last, intervals - 1))})


def build_scenario(s, market_id: str) -> tuple[Scenario, dict[str, int], dict[str, int]]:
    """The market's scenario, and the owner ids of its bids and pools."""
    m = repository.get(s, market_id)
    horizon = Horizon.model_validate(m.horizon)
    pools, pool_owner = [], {}
    for row in s.scalars(select(PoolRow).order_by(PoolRow.id)):
        p = pool_for_horizon(Pool.model_validate(row.spec), horizon.intervals)
        if p is not None:
            pools.append(p)
            pool_owner[p.id] = row.owner_id
    bids, bid_owner = [], {}
    for row in s.scalars(select(BidRow).where(BidRow.market_id == market_id, BidRow.status == "open").order_by(BidRow.id)):
        bids.append(Bid.model_validate(row.spec))
        bid_owner[row.id] = row.owner_id
    sc = Scenario(horizon=horizon, pools=pools, bids=bids, reserve=Reserve.model_validate(m.reserve))
    return sc, bid_owner, pool_owner


def scenario_dict(store: Store, market_id: str) -> dict[str, Any]:
    with store.read() as s:
        m = repository.get(s, market_id)
        if m is not None and m.scenario is not None:
            return m.scenario
        return build_scenario(s, market_id)[0].model_dump(mode="json", exclude_none=True)


def _fail(store: Store, market_id: str, reason: str, solver_status: str | None = None) -> None:
    log.warning("market %s failed: %s", market_id, reason)
    with store.write() as s:
        repository.transition(s, market_id, ("clearing",), "failed", reason=reason[:2000], solver_status=solver_status)


def run_clearing(store: Store, market_id: str, time_limit_s: float | None = 60.0) -> str:
    """Clear one market that is `clearing`; returns its new status."""
    t0 = time.perf_counter()
    with store.read() as s:
        m = repository.get(s, market_id)
        if m is None or m.status != "clearing":
            return m.status if m else "missing"
        scenario, bid_owner, pool_owner = build_scenario(s, market_id)
    try:
        result = clear(scenario, time_limit_s=time_limit_s, mip_gap=MIP_GAP)
    except Exception as exc:
        log.exception("clearing %s raised", market_id)
        _fail(store, market_id, f"solver error: {type(exc).__name__}: {exc}", "solver_error")
        return "failed"
    if result.status in FAILED_STATUSES or not result.prices_published:
        _fail(store, market_id, result.message or f"solver status {result.status}", result.status)
        return "failed"
    rd = result.to_dict()
    with store.write() as s:
        if not repository.transition(
                s, market_id, ("clearing",), "cleared", solver_status=result.status, gap=result.gap,
                welfare_micro_usd=micro_usd(result.welfare_usd), solve_seconds=result.solve_seconds,
                scenario=scenario.model_dump(mode="json", exclude_none=True), result=rd, cleared_at=utcnow()):
            return "lost"
        s.add_all(AllocationRow(market_id=market_id, bid_id=a["bid"], pool_id=a["pool"], buyer_id=bid_owner[a["bid"]],
                                provider_id=pool_owner[a["pool"]], chips=a["chips"], start=a["start"],
                                intervals=a["intervals"], payment_micro_usd=micro_usd(a["payment_usd"]), detail=a)
                  for a in rd["allocations"])
        s.add_all(PriceRowDB(market_id=market_id, pool_id=p["pool"], interval=p["interval"],
                             price_micro_usd_per_chip_hour=micro_usd(p["price_per_chip_hour"]),
                             cleared_chips=int(p["cleared_chips"])) for p in rd["prices"])
        cleared = [a["bid"] for a in rd["allocations"]]
        if cleared:
            s.execute(update(BidRow).where(BidRow.id.in_(cleared)).values(status="cleared", reason=None)
                      .execution_options(synchronize_session=False))
        for u in rd["unserved"]:
            s.execute(update(BidRow).where(BidRow.id == u["bid"]).values(status="unserved", reason=u["reason"])
                      .execution_options(synchronize_session=False))
    log.info("market %s cleared: %s, %d allocations, %.2f s", market_id, result.status, len(cleared),
             time.perf_counter() - t0)
    return "cleared"

"""Market timeline: create, close (gate closure), request a clearing, read, summarise."""

from __future__ import annotations

import secrets
from datetime import datetime

from flopgrid.api.errors import ApiError, conflict, not_found
from flopgrid.api.markets import repository
from flopgrid.api.markets.schemas import Accepted, MarketIn, MarketOut, Summary
from flopgrid.market import Horizon, PriceRow, Reserve
from flopgrid.store import Store, usd
from flopgrid.store.models import MarketRow, utcnow


def effective_status(m: MarketRow, now: datetime | None = None) -> str:
    """`open` past its gate closure reads as `closed` (bids are refused from then on)."""
    if m.status == "open" and (now or utcnow()) >= m.gate_closure_at:
        return "closed"
    return m.status


def to_out(m: MarketRow) -> MarketOut:
    return MarketOut(id=m.id, kind=m.kind, horizon=Horizon.model_validate(m.horizon),
                     reserve=Reserve.model_validate(m.reserve), gate_closure_at=m.gate_closure_at,
                     status=effective_status(m), reason=m.reason, solver_status=m.solver_status, gap=m.gap,
                     welfare_usd=None if m.welfare_micro_usd is None else usd(m.welfare_micro_usd),
                     solve_seconds=m.solve_seconds, created_at=m.created_at, cleared_at=m.cleared_at,
                     settled_at=m.settled_at)


def create(store: Store, body: MarketIn) -> MarketOut:
    with store.write() as s:
        m = MarketRow(id=f"{'da' if body.kind == 'day_ahead' else 'rt'}-{secrets.token_hex(4)}", kind=body.kind,
                      horizon=body.horizon.model_dump(mode="json"),
                      reserve=(body.reserve or Reserve()).model_dump(mode="json"),
                      gate_closure_at=body.gate_closure_at, status="open")
        s.add(m)
        s.flush()
        return to_out(m)


def get_row(s, market_id: str) -> MarketRow:
    m = repository.get(s, market_id)
    if m is None:
        raise not_found("market", market_id)
    return m


def get(store: Store, market_id: str) -> MarketOut:
    with store.read() as s:
        return to_out(get_row(s, market_id))


def listing(store: Store) -> list[MarketOut]:
    with store.read() as s:
        return [to_out(m) for m in repository.listing(s)]


def close(store: Store, market_id: str) -> MarketOut:
    """Gate closure now: no more bids or cancels (`gate_closure_at` moves up to now)."""
    with store.write() as s:
        m = get_row(s, market_id)
        now = utcnow()
        if not repository.transition(s, market_id, ("open",), "closed", gate_closure_at=min(now, m.gate_closure_at)):
            raise conflict(f"market {market_id!r} is {m.status}; only an open market can be closed")
        s.expire(m)
        return to_out(get_row(s, market_id))


def request_clear(store: Store, market_id: str) -> Accepted:
    """Mark the market `clearing` (guarded: a second request gets 409); the worker clears it."""
    with store.write() as s:
        m = get_row(s, market_id)
        now = utcnow()
        if not repository.transition(s, market_id, ("open", "closed"), "clearing",
                                     gate_closure_at=min(now, m.gate_closure_at), reason=None):
            raise conflict(f"market {market_id!r} is {m.status}; only an open or closed market can be cleared")
    return Accepted(market=market_id, status="clearing", status_url=f"/v1/markets/{market_id}")


def published_prices(store: Store, market_id: str) -> list[PriceRow]:
    with store.read() as s:
        m = get_row(s, market_id)
        if m.status not in ("cleared", "settled"):
            why = f": {m.reason}" if m.status == "failed" and m.reason else ""
            raise ApiError(409, f"market {market_id!r} is {effective_status(m)}{why}; no prices published")
        return [PriceRow(pool=p.pool_id, interval=p.interval, price_per_chip_hour=usd(p.price_micro_usd_per_chip_hour),
                         cleared_chips=p.cleared_chips) for p in repository.prices(s, market_id)]


def summary(store: Store, market_id: str) -> Summary:
    with store.read() as s:
        m = get_row(s, market_id)
        counts = repository.bid_counts(s, market_id)
        h = Horizon.model_validate(m.horizon).interval_hours
        allocs = repository.allocations(s, market_id)
        traded = [p.price_micro_usd_per_chip_hour for p in repository.prices(s, market_id) if p.cleared_chips > 0]
        return Summary(
            market=m.id, status=effective_status(m), solver_status=m.solver_status, gap=m.gap,
            bids=sum(counts.values()), cleared_bids=counts.get("cleared", 0), unserved=counts.get("unserved", 0),
            cleared_chip_hours=sum(a.chips * a.intervals * h for a in allocs),
            useful_eflop=sum(a.detail.get("useful_eflop") or 0.0 for a in allocs),
            price_min_per_chip_hour=usd(min(traded)) if traded else None,
            price_max_per_chip_hour=usd(max(traded)) if traded else None,
            welfare_usd=None if m.welfare_micro_usd is None else usd(m.welfare_micro_usd))

"""What the dashboard shows, read from the store in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from flopgrid.api.markets import repository as markets
from flopgrid.api.markets.service import effective_status
from flopgrid.market import Horizon
from flopgrid.store import Store, usd
from flopgrid.store.models import (
    BidRow,
    LedgerEntry,
    LedgerTransaction,
    MarketRow,
    PoolRow,
    ReadingRow,
)

SECONDS_PER_HOUR = 3600.0


@dataclass
class DashboardData:
    markets: list[dict[str, Any]] = field(default_factory=list)
    market: dict[str, Any] | None = None
    pools: list[dict[str, Any]] = field(default_factory=list)
    heat: dict[str, Any] | None = None  # {"pools": [...], "intervals": [...], "z": [[price]]}
    gantt: list[dict[str, Any]] = field(default_factory=list)
    unserved: list[dict[str, str]] = field(default_factory=list)
    useful_eflop: float = 0.0
    fleet_mfu: float | None = None
    readings: int = 0
    balances: list[tuple[str, float]] = field(default_factory=list)


def _peak_flops(hardware: str) -> float | None:
    from flopgrid.catalog import get_accelerator

    try:
        acc = get_accelerator(hardware)
        return acc.peak(acc.training_dtype)
    except Exception:  # noqa: BLE001 - an unknown or CPU chip just has no MFU shown
        return None


def _pick(rows: list[MarketRow], market_id: str | None) -> MarketRow | None:
    if market_id:
        return next((m for m in rows if m.id == market_id), None)
    done = [m for m in rows if m.status in ("cleared", "settled")]
    return (done or rows or [None])[-1]


def load(store: Store, market_id: str | None) -> DashboardData:
    d = DashboardData()
    with store.read() as s:
        rows = markets.listing(s)
        d.markets = [{"id": m.id, "kind": m.kind, "status": effective_status(m)} for m in rows]
        d.pools = [r.spec for r in s.scalars(select(PoolRow).order_by(PoolRow.id))]
        m = _pick(rows, market_id)
        if m is None:
            return d
        h = Horizon.model_validate(m.horizon)
        d.market = {"id": m.id, "kind": m.kind, "status": effective_status(m), "reason": m.reason,
                    "solver_status": m.solver_status, "gap": m.gap, "intervals": h.intervals,
                    "welfare_usd": None if m.welfare_micro_usd is None else usd(m.welfare_micro_usd)}
        prices = markets.prices(s, m.id)
        if prices:
            pool_ids = sorted({p.pool_id for p in prices})
            z = [[None] * h.intervals for _ in pool_ids]
            at = {pid: i for i, pid in enumerate(pool_ids)}
            for p in prices:
                z[at[p.pool_id]][p.interval] = usd(p.price_micro_usd_per_chip_hour)
            d.heat = {"pools": pool_ids, "intervals": list(range(h.intervals)), "z": z}
        allocs = markets.allocations(s, m.id)
        d.gantt = [{"bid": a.bid_id, "pool": a.pool_id, "start": a.start, "intervals": a.intervals, "chips": a.chips,
                    "pay_usd": usd(a.payment_micro_usd)} for a in allocs]
        d.unserved = [{"bid": b.id, "reason": b.reason or ""} for b in
                      s.scalars(select(BidRow).where(BidRow.market_id == m.id, BidRow.status == "unserved")
                                .order_by(BidRow.id))]
        by_alloc = {a.id: a for a in allocs}
        latest: dict[int, dict] = {}
        for r in s.scalars(select(ReadingRow).where(ReadingRow.allocation_id.in_(list(by_alloc))).order_by(ReadingRow.id)):
            latest[r.allocation_id] = r.body
        useful_flops, peak_flops = 0.0, 0.0
        for aid, body in latest.items():
            a, eflop = by_alloc[aid], body.get("useful_eflop")
            if eflop is None:
                continue
            d.useful_eflop += eflop
            peak = _peak_flops(a.detail.get("hardware", ""))
            if peak:
                useful_flops += eflop * 1e18
                peak_flops += a.chips * a.intervals * h.interval_hours * SECONDS_PER_HOUR * peak
        d.readings = len(latest)
        d.fleet_mfu = useful_flops / peak_flops if peak_flops else None
        bal = s.execute(select(LedgerEntry.account, func.sum(LedgerEntry.amount_micro_usd))
                        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
                        .where(LedgerTransaction.market_id == m.id).group_by(LedgerEntry.account)
                        .order_by(LedgerEntry.account)).all()
        d.balances = [(acct, usd(int(v))) for acct, v in bal]
    return d

"""Markets: rows, guarded status changes (`UPDATE ... WHERE status IN (...)`), published prices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from flopgrid.store.models import AllocationRow, BidRow, MarketRow, PriceRowDB


def get(s: Session, market_id: str, *, for_share: bool = False) -> MarketRow | None:
    q = select(MarketRow).where(MarketRow.id == market_id)
    if for_share and s.bind.dialect.name == "postgresql":
        q = q.with_for_update(read=True)  # a bid holds the market row shared; close/clear wait for it
    return s.scalar(q)


def listing(s: Session, status: str | None = None) -> list[MarketRow]:
    q = select(MarketRow).order_by(MarketRow.created_at, MarketRow.id)
    if status:
        q = q.where(MarketRow.status == status)
    return list(s.scalars(q))


def transition(s: Session, market_id: str, from_statuses: tuple[str, ...], to_status: str, **values: Any) -> bool:
    """Move the market to `to_status` only if it is in one of `from_statuses`: a conditional
    UPDATE, so two operators can never clear or settle the same market twice."""
    res = s.execute(update(MarketRow).where(MarketRow.id == market_id, MarketRow.status.in_(from_statuses))
                    .values(status=to_status, **values).execution_options(synchronize_session=False))
    return res.rowcount == 1


def prices(s: Session, market_id: str) -> list[PriceRowDB]:
    return list(s.scalars(select(PriceRowDB).where(PriceRowDB.market_id == market_id)
                          .order_by(PriceRowDB.pool_id, PriceRowDB.interval)))


def bid_counts(s: Session, market_id: str) -> dict[str, int]:
    rows = s.execute(select(BidRow.status, func.count()).where(BidRow.market_id == market_id).group_by(BidRow.status))
    return dict(rows.all())


def allocations(s: Session, market_id: str) -> list[AllocationRow]:
    return list(s.scalars(select(AllocationRow).where(AllocationRow.market_id == market_id).order_by(AllocationRow.id)))

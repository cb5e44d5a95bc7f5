"""Allocations and readings; what a caller may see is decided in `visible` only."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from flopgrid.api.auth import Caller
from flopgrid.store.models import AllocationRow, ReadingRow


def visible(caller: Caller) -> Select:
    """Its buyer and its provider; operators and dispatchers see all."""
    q = select(AllocationRow)
    if caller.role in ("buyer", "provider"):
        q = q.where(or_(AllocationRow.buyer_id == caller.id, AllocationRow.provider_id == caller.id))
    return q


def listing(s: Session, caller: Caller, market_id: str | None) -> list[AllocationRow]:
    q = visible(caller).order_by(AllocationRow.id)
    if market_id:
        q = q.where(AllocationRow.market_id == market_id)
    return list(s.scalars(q))


def get_visible(s: Session, caller: Caller, alloc_id: int) -> AllocationRow | None:
    return s.scalar(visible(caller).where(AllocationRow.id == alloc_id))


def latest_readings(s: Session, market_id: str) -> list[tuple[AllocationRow, ReadingRow]]:
    """The latest reading of each allocation of a market."""
    rows = s.execute(select(AllocationRow, ReadingRow).join(ReadingRow, ReadingRow.allocation_id == AllocationRow.id)
                     .where(AllocationRow.market_id == market_id).order_by(AllocationRow.id, ReadingRow.id)).all()
    latest: dict[int, tuple[AllocationRow, ReadingRow]] = {}
    for a, r in rows:
        latest[a.id] = (a, r)
    return list(latest.values())

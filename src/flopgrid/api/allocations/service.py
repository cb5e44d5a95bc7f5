"""Reading allocations, posting meter readings, and the one place readings become the
library's delivery input (`delivery_for`)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from flopgrid.api.allocations import repository
from flopgrid.api.allocations.schemas import AllocationOut, Reading, ReadingOut
from flopgrid.api.auth import Caller
from flopgrid.api.errors import ApiError, conflict, not_found
from flopgrid.market.settlement import Delivery, MeteredAllocation
from flopgrid.store import Store
from flopgrid.store.models import AllocationRow, MarketRow, ReadingRow

_FIELDS = {f.name for f in dataclasses.fields(AllocationOut)}


def to_out(a: AllocationRow) -> AllocationOut:
    return AllocationOut(**{k: v for k, v in a.detail.items() if k in _FIELDS}, id=a.id, market=a.market_id)


def listing(store: Store, caller: Caller, market_id: str | None) -> list[AllocationOut]:
    with store.read() as s:
        return [to_out(a) for a in repository.listing(s, caller, market_id)]


def get(store: Store, caller: Caller, alloc_id: int) -> AllocationOut:
    with store.read() as s:
        a = repository.get_visible(s, caller, alloc_id)
        if a is None:
            raise not_found("allocation", alloc_id)
        return to_out(a)


def post_reading(store: Store, caller: Caller, alloc_id: int, body: Reading) -> ReadingOut:
    """Its buyer or a dispatcher; while the market is cleared (before settlement)."""
    with store.write() as s:
        a = repository.get_visible(s, caller, alloc_id)
        if a is None or (caller.role == "buyer" and a.buyer_id != caller.id):
            raise not_found("allocation", alloc_id)
        for f, want in (("bid", a.bid_id), ("pool", a.pool_id)):
            if getattr(body, f) not in (None, want):
                raise ApiError(422, f"field {f!r}: allocation {alloc_id} is {want!r}, not {getattr(body, f)!r}")
        status = s.get(MarketRow, a.market_id).status
        if status != "cleared":
            raise conflict(f"market {a.market_id!r} is {status}; readings are taken while it is cleared")
        reading = body.model_copy(update={"bid": a.bid_id, "pool": a.pool_id})
        row = ReadingRow(allocation_id=a.id, poster_id=caller.id, body=reading.model_dump(mode="json"))
        s.add(row)
        s.flush()
        return ReadingOut(id=row.id, allocation=a.id, reading=reading, created_at=row.created_at)


def delivery_for(s: Session, market_id: str) -> Delivery:
    """The library's delivery input from the latest reading of each allocation."""
    metered = []
    for a, r in repository.latest_readings(s, market_id):
        body = Reading.model_validate(r.body)
        metered.append(MeteredAllocation(bid=a.bid_id, pool=a.pool_id, useful_eflop=body.useful_eflop,
                                         provider_outage_minutes=body.provider_outage_minutes,
                                         released_after_intervals=body.released_after_intervals))
    return Delivery(allocations=metered)

"""Bids; what a caller may see is decided in `visible` only."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from flopgrid.api.auth import Caller
from flopgrid.store.models import BidRow


def visible(caller: Caller) -> Select:
    """A buyer sees its own bids; operators see all; other roles none."""
    q = select(BidRow)
    if not caller.is_operator:
        q = q.where(BidRow.owner_id == caller.id)
    return q


def get_visible(s: Session, caller: Caller, bid_id: str) -> BidRow | None:
    return s.scalar(visible(caller).where(BidRow.id == bid_id))


def page(s: Session, caller: Caller, market_id: str | None, after_seq: int, limit: int) -> list[BidRow]:
    q = visible(caller).where(BidRow.seq > after_seq).order_by(BidRow.seq).limit(limit)
    if market_id:
        q = q.where(BidRow.market_id == market_id)
    return list(s.scalars(q))


def by_idempotency_key(s: Session, owner_id: int, key: str) -> BidRow | None:
    return s.scalar(select(BidRow).where(BidRow.owner_id == owner_id, BidRow.idempotency_key == key))


def id_taken(s: Session, bid_id: str) -> bool:
    return s.scalar(select(BidRow.seq).where(BidRow.id == bid_id)) is not None

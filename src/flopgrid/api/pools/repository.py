"""Pools; what a caller may see is decided in `visible` only."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from flopgrid.api.auth import Caller
from flopgrid.store.models import PoolRow


def visible(caller: Caller) -> Select:
    """Providers see their own pools; operators, buyers and dispatchers see all (offers are public)."""
    q = select(PoolRow)
    if caller.role == "provider":
        q = q.where(PoolRow.owner_id == caller.id)
    return q


def get_visible(s: Session, caller: Caller, pool_id: str) -> PoolRow | None:
    return s.scalar(visible(caller).where(PoolRow.id == pool_id))


def listing(s: Session, caller: Caller) -> list[PoolRow]:
    return list(s.scalars(visible(caller).order_by(PoolRow.id)))


def all_pools(s: Session) -> list[PoolRow]:
    return list(s.scalars(select(PoolRow).order_by(PoolRow.id)))

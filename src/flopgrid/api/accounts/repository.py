"""Ledger entries; what a caller may see is decided in `visible` only."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from flopgrid.api.auth import Caller
from flopgrid.store.models import LedgerEntry, LedgerTransaction


def visible(caller: Caller) -> Select:
    """Own entries (by participant); operators see every entry."""
    q = select(LedgerEntry, LedgerTransaction).join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
    if not caller.is_operator:
        q = q.where(LedgerEntry.participant_id == caller.id)
    return q


def entries(s: Session, caller: Caller, market_id: str | None = None, after_tx: int = 0,
            limit: int | None = None) -> list[tuple[LedgerEntry, LedgerTransaction]]:
    q = visible(caller).where(LedgerTransaction.id > after_tx).order_by(LedgerTransaction.id, LedgerEntry.id)
    if market_id:
        q = q.where(LedgerTransaction.market_id == market_id)
    if limit:
        tx_ids = select(LedgerTransaction.id).where(LedgerTransaction.id > after_tx)
        if market_id:
            tx_ids = tx_ids.where(LedgerTransaction.market_id == market_id)
        if not caller.is_operator:
            tx_ids = tx_ids.where(LedgerTransaction.id.in_(
                select(LedgerEntry.transaction_id).where(LedgerEntry.participant_id == caller.id)))
        q = q.where(LedgerTransaction.id.in_(tx_ids.order_by(LedgerTransaction.id).limit(limit)))
    return list(s.execute(q).tuples())


def unbalanced_transactions(s: Session, market_id: str | None = None) -> int:
    """How many transactions do not sum to zero (the store refuses them, so this is 0)."""
    sums = select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_micro_usd).label("total")) \
        .group_by(LedgerEntry.transaction_id)
    if market_id:
        sums = sums.join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id) \
            .where(LedgerTransaction.market_id == market_id)
    sub = sums.subquery()
    return s.scalar(select(func.count()).select_from(sub).where(sub.c.total != 0)) or 0

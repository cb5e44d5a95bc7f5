"""The store's ledger: integer micro-dollars, and a transaction that does not sum to zero is
refused by the store itself - `post_transaction` checks, and a `before_flush` hook on every
Session re-checks whatever reaches the database (entries are append-only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

from flopgrid.errors import FlopgridError
from flopgrid.store.models import LedgerEntry, LedgerTransaction

MICRO = 1_000_000


class LedgerImbalance(FlopgridError):
    """A ledger transaction whose entries do not sum to zero (refused; a bug, never user input)."""


def micro_usd(amount_usd: float) -> int:
    """USD (float) -> integer micro-dollars, half away from zero."""
    q = abs(amount_usd) * MICRO
    return int(q + 0.5) * (1 if amount_usd >= 0 else -1)


def usd(amount_micro_usd: int) -> float:
    return amount_micro_usd / MICRO


def post_transaction(session: Session, kind: str, memo: str, entries: Iterable[tuple[str, int, int | None]],
                     market_id: str | None = None) -> LedgerTransaction:
    """Add one transaction of (account, amount_micro_usd, participant_id) entries; zero entries
    are dropped. Raises LedgerImbalance unless the amounts sum to exactly zero."""
    rows = [(a, int(m), p) for a, m, p in entries if int(m) != 0]
    total = sum(m for _, m, _ in rows)
    if total != 0:
        raise LedgerImbalance(f"ledger transaction {memo!r} refused: entries sum to {total} micro-USD, not 0")
    tx = LedgerTransaction(kind=kind, memo=memo, market_id=market_id)
    session.add(tx)
    session.flush()
    session.add_all(LedgerEntry(transaction_id=tx.id, account=a, amount_micro_usd=m, participant_id=p) for a, m, p in rows)
    return tx


def library_entries_micro(entries: Iterable) -> list[tuple[str, int]]:
    """The one bridge from a `flopgrid.market` ledger transaction to integer micro-dollars.

    Uses the library's `amount_micro_usd` when it has one; otherwise rounds each float
    `amount_usd` and books the rounding residual (at most a few micro-dollars) on the
    transaction's ISO account, so the integer transaction still sums to exactly zero."""
    out = [(e.account, int(e.amount_micro_usd) if hasattr(e, "amount_micro_usd") else micro_usd(e.amount_usd))
           for e in entries]
    residual = -sum(m for _, m in out)
    if residual and out:
        i = next((i for i, (a, _) in enumerate(out) if a.startswith("iso:")),
                 max(range(len(out)), key=lambda j: abs(out[j][1])))
        out[i] = (out[i][0], out[i][1] + residual)
    return out


@event.listens_for(Session, "before_flush")
def _refuse_unbalanced(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LedgerEntry):
            raise LedgerImbalance("ledger entries are append-only: update or delete refused")
    new = [o for o in session.new if isinstance(o, LedgerEntry)]
    if not new:
        return
    by_tx: dict[int | None, int] = defaultdict(int)
    for e in new:
        by_tx[e.transaction_id] += int(e.amount_micro_usd)
    for tx_id, total in by_tx.items():
        if tx_id is None:
            raise LedgerImbalance("ledger entry without a transaction refused")
        existing = session.execute(
            LedgerEntry.__table__.select().with_only_columns(LedgerEntry.amount_micro_usd)
            .where(LedgerEntry.transaction_id == tx_id)).scalars().all()
        if total + sum(existing) != 0:
            raise LedgerImbalance(f"ledger transaction {tx_id} refused: entries sum to {total + sum(existing)} micro-USD, not 0")

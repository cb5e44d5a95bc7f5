"""Statements and ledger entries (integer micro-dollars, with USD beside them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from flopgrid.api.allocations.schemas import AllocationOut


class EntryOut(BaseModel):
    transaction: int
    kind: str
    memo: str
    market: str | None
    account: str
    amount_micro_usd: int
    amount_usd: float
    created_at: datetime


class TransactionOut(BaseModel):
    id: int
    kind: str
    memo: str
    market: str | None
    entries: list[EntryOut]
    total_micro_usd: int


class Statement(BaseModel):
    """One participant's statement for one market. `net = day_ahead + real_time`; uplift is
    inside the day-ahead amount and shown apart; `balanced`: every transaction of the market
    sums to zero."""

    participant: str
    account: str
    market: str
    positions: list[AllocationOut]
    day_ahead_micro_usd: int
    real_time_micro_usd: int
    uplift_micro_usd: int
    net_micro_usd: int
    day_ahead_usd: float
    real_time_usd: float
    uplift_usd: float
    net_usd: float
    entries: list[EntryOut]
    balanced: bool


class LedgerPage(BaseModel):
    transactions: list[TransactionOut]
    next_cursor: str | None

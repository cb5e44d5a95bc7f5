"""The tables (typed SQLAlchemy 2 ORM). Money columns are integer micro-dollars (`*_micro_usd`);
prices are micro-dollars per chip-hour. Orders keep their DESIGN.md body in `spec` (JSON) so the
market library gets back exactly the Pool / Bid that was submitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ROLES = ("operator", "provider", "buyer", "dispatcher")
MARKET_KINDS = ("day_ahead", "real_time")
MARKET_STATUSES = ("open", "closed", "clearing", "cleared", "failed", "settled")
BID_STATUSES = ("open", "cancelled", "cleared", "unserved")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}  # noqa: RUF012


class Participant(Base):
    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """Only a salted hash of the secret is stored; `key_id` is the public half used to look it up."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolRow(Base):
    __tablename__ = "pools"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketRow(Base):
    __tablename__ = "markets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    horizon: Mapped[dict[str, Any]]
    reserve: Mapped[dict[str, Any]]
    gate_closure_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    solver_status: Mapped[str | None] = mapped_column(String(40), default=None)
    gap: Mapped[float | None] = mapped_column(Float, default=None)
    welfare_micro_usd: Mapped[int | None] = mapped_column(BigInteger, default=None)
    solve_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    scenario: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # as cleared
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # ClearingResult.to_dict()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


class BidRow(Base):
    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("owner_id", "idempotency_key", name="uq_bids_owner_idempotency"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(200), unique=True)
    market_id: Mapped[str] = mapped_column(ForeignKey("markets.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    spec: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AllocationRow(Base):
    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    market_id: Mapped[str] = mapped_column(ForeignKey("markets.id"), index=True)
    bid_id: Mapped[str] = mapped_column(ForeignKey("bids.id"))
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    chips: Mapped[int]
    start: Mapped[int]
    intervals: Mapped[int]
    payment_micro_usd: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]]  # the library Allocation (USD floats as the clearing returned them)


class PriceRowDB(Base):
    __tablename__ = "prices"
    market_id: Mapped[str] = mapped_column(ForeignKey("markets.id"), primary_key=True)
    pool_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    interval: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_micro_usd_per_chip_hour: Mapped[int] = mapped_column(BigInteger)
    cleared_chips: Mapped[int] = mapped_column(Integer, default=0)


class ReadingRow(Base):
    """A MeteredAllocation reading; settlement uses the latest one per allocation."""

    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), index=True)
    poster_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettlementRow(Base):
    __tablename__ = "settlements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    market_id: Mapped[str] = mapped_column(ForeignKey("markets.id"), unique=True)
    deviations: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    market_id: Mapped[str | None] = mapped_column(ForeignKey("markets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # day_ahead | real_time
    memo: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(200))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), default=None)
    amount_micro_usd: Mapped[int] = mapped_column(BigInteger)

"""Bid bodies: the market's own `Bid` plus the market id; `buyer` optional on input (it
defaults to, and must equal, the caller)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from flopgrid.market import Bid

BidStatus = Literal["open", "cancelled", "cleared", "unserved"]


class BidIn(Bid):
    buyer: str | None = None  # type: ignore[assignment]
    market: str = Field(min_length=1, max_length=40, description="the market's id")


class BidOut(Bid):
    market: str
    status: BidStatus
    reason: str | None = None
    created_at: datetime


class BidPage(BaseModel):
    bids: list[BidOut]
    next_cursor: str | None

"""Allocation and reading bodies.

`AllocationOut` is the market's own `Allocation` (the `flopgrid clear` contract) plus its id and
market. `Reading` is the market's `MeteredAllocation` (useful EFLOP, provider outage minutes,
early release) with `bid` / `pool` taken from the allocation and badput seconds by category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from flopgrid.market import Allocation

# the settlement's delivery input is not re-exported at the market's top level: read it here only
from flopgrid.market.delivery import Delivery, MeteredAllocation, check_delivery

__all__ = ["AllocationOut", "Delivery", "MeteredAllocation", "Reading", "ReadingOut", "check_delivery"]


@dataclass
class AllocationOut(Allocation):
    id: int = 0
    market: str = ""


class Reading(MeteredAllocation):
    bid: str | None = None  # type: ignore[assignment]
    pool: str | None = None  # type: ignore[assignment]
    badput_s: dict[str, float] = Field(default_factory=dict, description="badput seconds by category (meter)")
    productive_s: float | None = Field(default=None, ge=0, description="productive seconds (meter)")


class ReadingOut(BaseModel):
    id: int
    allocation: int
    reading: Reading
    created_at: datetime

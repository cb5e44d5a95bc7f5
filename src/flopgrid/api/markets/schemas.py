"""Market bodies: the horizon and reserve are the market's own `Horizon` and `Reserve`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from flopgrid.market import Horizon, Reserve

MarketStatus = Literal["open", "closed", "clearing", "cleared", "failed", "settled"]


class MarketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["day_ahead", "real_time"] = "day_ahead"
    horizon: Horizon
    gate_closure_at: AwareDatetime = Field(description="ISO-8601 with a time zone: bids and cancels until then")
    reserve: Reserve | None = None


class MarketOut(BaseModel):
    id: str
    kind: Literal["day_ahead", "real_time"]
    horizon: Horizon
    reserve: Reserve
    gate_closure_at: datetime
    status: MarketStatus
    reason: str | None = None
    solver_status: str | None = None
    gap: float | None = None
    welfare_usd: float | None = None
    solve_seconds: float | None = None
    created_at: datetime
    cleared_at: datetime | None = None
    settled_at: datetime | None = None


class Accepted(BaseModel):
    """`POST .../clear`: the clearing runs off the request path; poll `status_url`."""

    market: str
    status: MarketStatus
    status_url: str


class Summary(BaseModel):
    market: str
    status: MarketStatus
    solver_status: str | None
    gap: float | None
    bids: int
    cleared_bids: int
    unserved: int
    cleared_chip_hours: float
    useful_eflop: float
    price_min_per_chip_hour: float | None
    price_max_per_chip_hour: float | None
    welfare_usd: float | None

"""Market orders (DESIGN.md "Pool", "Bid", "Scenario"): the component model the clearing
problem is built from, in the spirit of PyPSA's network components.

Index conventions (interval indices count from 0 at `horizon.start`):
- a bid's `window = [earliest_start, latest_end]` means start >= earliest_start and
  start + intervals <= latest_end (the end is exclusive);
- a pool's `available = [first_interval, last_interval]` is inclusive at both ends.

Field names are the public contract. Field-level checks live here (finite, non-negative);
cross-field checks (offer steps monotone and within `chips`, windows inside the horizon,
unique ids, known hardware and models) live in `flopgrid.market.validation`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flopgrid.catalog.spec_files import read_mapping
from flopgrid.errors import UserInputError


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError("must be a finite number (NaN and infinity are rejected)")
    return v


class _Order(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Horizon(_Order):
    """The clearing horizon: `intervals` intervals of `interval_minutes` from `start`."""

    start: str | None = Field(default=None, description="ISO-8601 time of interval 0 (informational)")
    intervals: int = Field(gt=0, le=10_000)
    interval_minutes: float = Field(default=60.0, gt=0)

    _fin = field_validator("interval_minutes")(_finite)

    @property
    def interval_hours(self) -> float:
        return self.interval_minutes / 60.0


class OfferStep(_Order):
    """One step of a stepped supply curve: up to `chips` more chips at `price_per_chip_hour`."""

    chips: int = Field(gt=0)
    price_per_chip_hour: float = Field(ge=0)

    _fin = field_validator("price_per_chip_hour")(_finite)


class Pool(_Order):
    """Supply: chips of one hardware type in one region, offered on a stepped curve."""

    id: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    hardware: str
    chips: int = Field(gt=0)
    island_chips: int = Field(gt=0, description="largest gang that fits one fabric island")
    region: str = "default"
    cluster: str | dict[str, Any] | None = Field(default=None, description="cluster name or inline spec")
    mttf_chip_hours: float | None = Field(default=None, gt=0)
    checkpoint_s: float | None = Field(default=None, ge=0)
    offer: list[OfferStep] = Field(min_length=1)
    available: tuple[int, int] | None = Field(default=None, description="[first_interval, last_interval], inclusive")

    _fin = field_validator("mttf_chip_hours", "checkpoint_s")(_finite)

    @property
    def offered_chips(self) -> int:
        return sum(s.chips for s in self.offer)


class Bid(_Order):
    """Demand: one gang of `chips` (any listed size) for `intervals` contiguous intervals."""

    id: str = Field(min_length=1)
    buyer: str = Field(min_length=1)
    model: str | dict[str, Any] = Field(description="catalog model name or inline model spec")
    chips: list[int] = Field(min_length=1, description="acceptable gang sizes")
    intervals: int = Field(gt=0)
    window: tuple[int, int] = Field(description="[earliest_start, latest_end]: start >= earliest_start, start + intervals <= latest_end")
    max_price_per_eflop: float | None = Field(default=None, ge=0, description="USD per useful EFLOP")
    max_price_per_chip_hour: float | None = Field(default=None, ge=0, description="USD per chip-hour")
    hardware: list[str] | None = None
    region: list[str] | None = None

    _fin = field_validator("max_price_per_eflop", "max_price_per_chip_hour")(_finite)

    @field_validator("chips")
    @classmethod
    def _positive_gangs(cls, v: list[int]) -> list[int]:
        if any(c <= 0 for c in v):
            raise ValueError("gang sizes must be > 0")
        return sorted(set(v))

    @field_validator("hardware", "region", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def prices_per_eflop(self) -> bool:
        return self.max_price_per_eflop is not None


class Reserve(_Order):
    """Hot-spare requirement: `fraction` x cleared chips per (pool, interval) held idle."""

    fraction: float = Field(default=0.0, ge=0, le=1)

    _fin = field_validator("fraction")(_finite)


class Monitor(_Order):
    """Market-monitor settings: pivotal suppliers' offers are capped at the reference price."""

    enabled: bool = True
    reference_price_per_chip_hour: dict[str, float] = Field(
        default_factory=dict, description="hardware -> cap in USD per chip-hour (default: the published table)")


class Scenario(_Order):
    """Input of one market clearing (DESIGN.md "Scenario")."""

    horizon: Horizon
    pools: list[Pool] = Field(default_factory=list)
    bids: list[Bid] = Field(default_factory=list)
    reserve: Reserve = Field(default_factory=Reserve)
    monitor: Monitor | None = None


def _loc(err: dict, data: dict) -> str:
    """'bid b7 field window' style location for a pydantic error."""
    loc = list(err.get("loc", ()))
    if len(loc) >= 2 and loc[0] in ("pools", "bids") and isinstance(loc[1], int):
        kind = "pool" if loc[0] == "pools" else "bid"
        items = data.get(loc[0]) or []
        oid = items[loc[1]].get("id") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
        who = f"{kind} {oid!r}" if oid is not None else f"{kind} #{loc[1]}"
        field = ".".join(str(p) for p in loc[2:]) or "(order)"
        return f"{who} field {field!r}"
    return f"field {'.'.join(str(p) for p in loc) or 'scenario'!r}"


def parse_scenario(data: dict[str, Any], origin: str = "scenario") -> Scenario:
    """Validate a mapping as a Scenario; errors name the order and the field (one line)."""
    from flopgrid.market.validation import validate_scenario

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "missing" if err.get("type") == "missing" else err.get("msg", "invalid")
        got = f" (got {err['input']!r})" if "input" in err and err.get("type") != "missing" else ""
        if len(got) > 80:
            got = ""
        raise UserInputError(f"{origin}: {_loc(err, data)}: {msg}{got}") from None
    validate_scenario(scenario, origin)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario JSON/YAML file."""
    p = Path(path)
    return parse_scenario(read_mapping(p), str(p))

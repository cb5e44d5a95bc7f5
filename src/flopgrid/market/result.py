"""Clearing results: the DESIGN.md `flopgrid clear` contract as typed dataclasses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

CONTRACT_KEYS = ("status", "welfare_usd", "allocations", "prices", "uplift", "unserved", "solve_seconds", "gap")
ALLOCATION_KEYS = ("bid", "pool", "chips", "start", "intervals", "predicted_mfu", "useful_eflop",
                   "price_per_chip_hour", "price_per_eflop", "payment_usd")


@dataclass
class Allocation:
    """One cleared bid. `payment_usd` is what the buyer pays after uplift; `price_per_chip_hour`
    and `price_per_eflop` are that payment per chip-hour and per predicted useful EFLOP."""

    bid: str
    pool: str
    chips: int
    start: int
    intervals: int
    predicted_mfu: float | None
    useful_eflop: float | None
    price_per_chip_hour: float
    price_per_eflop: float | None
    payment_usd: float
    buyer: str = ""
    provider: str = ""
    hardware: str = ""
    value_usd: float = 0.0  # the bid's value for this allocation (its willingness to pay)
    energy_charge_usd: float = 0.0  # at the uniform prices, before uplift
    uplift_credit_usd: float = 0.0
    uplift_charge_usd: float = 0.0


@dataclass
class PriceRow:
    """Uniform locational price of one (pool, interval): the capacity-row dual (USD per chip-hour)."""

    pool: str
    interval: int
    price_per_chip_hour: float
    reserve_price_per_chip_hour: float = 0.0
    cleared_chips: int = 0
    reserve_chips: float = 0.0


@dataclass
class ProviderPosition:
    """One pool's sale: revenue at the uniform prices, offer cost, uplift."""

    pool: str
    provider: str
    chip_hours: float
    revenue_usd: float
    offer_cost_usd: float
    uplift_credit_usd: float = 0.0
    uplift_charge_usd: float = 0.0

    @property
    def profit_usd(self) -> float:
        return self.revenue_usd + self.uplift_credit_usd - self.uplift_charge_usd - self.offer_cost_usd


@dataclass
class UpliftEntry:
    party: str  # "buyer:<name>" / "provider:<name>"
    order: str  # bid or pool id
    amount_usd: float


@dataclass
class Uplift:
    """Make-whole payments (PJM operating-reserve credits / CAISO bid-cost recovery analogue):
    `credits` to cleared parties that would lose money at the uniform prices, funded by
    `charges` on the cleared parties with positive surplus, pro rata to that surplus."""

    total_usd: float = 0.0
    credits: list[UpliftEntry] = field(default_factory=list)
    charges: list[UpliftEntry] = field(default_factory=list)
    funded_by: str = "cleared buyers and providers with positive surplus, pro rata to surplus"


@dataclass
class Unserved:
    bid: str
    buyer: str
    reason: str


@dataclass
class ClearingResult:
    """Outcome of one clearing. `status`: optimal | time_limit (incumbent, see `gap`) |
    feasible (decomposition: `gap` above the requested one, measured against `upper_bound_usd`) |
    no_solution (time limit before any incumbent: nothing cleared) | empty (no feasible
    candidate) | solver_error (nothing cleared; `prices` are the previous ones, unpublished)."""

    status: str
    welfare_usd: float
    allocations: list[Allocation]
    prices: list[PriceRow]
    uplift: Uplift
    unserved: list[Unserved]
    solve_seconds: float
    gap: float | None
    providers: list[ProviderPosition] = field(default_factory=list)
    prices_published: bool = True
    monitor: list[Any] = field(default_factory=list)
    message: str = ""
    model_size: dict[str, int] = field(default_factory=dict)
    method: str = "exact"  # exact | uncongested | decomposition (see `flopgrid.market.clear`)
    upper_bound_usd: float | None = None  # decomposition: Lagrangian/LP bound; gap = (bound - welfare) / bound
    timings_s: dict[str, float] = field(default_factory=dict)  # decomposition: valuation / options / bound / ...

    def to_dict(self) -> dict[str, Any]:
        """The DESIGN.md contract keys (plus `providers`, `prices_published`, `monitor`, ...)."""
        d = dataclasses.asdict(self)
        for p, pos in zip(d["providers"], self.providers):
            p["profit_usd"] = pos.profit_usd
        return d

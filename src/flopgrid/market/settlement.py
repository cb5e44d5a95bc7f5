"""Two-settlement (DESIGN.md "The market", step 4; the PJM/CAISO day-ahead + real-time design).

1. Day-ahead: every cleared buyer pays its `payment_usd` (uniform prices plus uplift); every
   provider receives its revenue plus uplift credits minus uplift charges. What is left in
   `iso:day_ahead` is the merchandising surplus (zero up to rounding: one price per pool and
   interval, no transmission).
2. Real-time, per metered allocation:
   - provider-caused shortfall (outage minutes x chips): the provider buys its position back
     at max(real-time price, the buyer's day-ahead rate); the buyer is refunded its day-ahead
     rate; the difference goes to `iso:real_time`;
   - early release by the buyer: the released chip-hours are sold back at the real-time price;
   - useful EFLOP below the prediction beyond what the outage explains is the buyer's own low
     MFU: reported, not compensated.
   Real-time prices are the delivery file's `real_time_prices` if given, else the capacity
   duals of a re-clearing of the scenario with the metered outage chips removed from supply
   (`flopgrid.market.realtime`).
Every step is a balanced ledger transaction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flopgrid.errors import UserInputError
from flopgrid.market.delivery import (  # noqa: F401 - re-exported
    Delivery,
    MeteredAllocation,
    RealTimePrice,
    check_delivery,
    parse_delivery,
)
from flopgrid.market.ledger import Entry, Ledger, apportion_micro_usd, usd_to_micro_usd
from flopgrid.market.orders import Scenario
from flopgrid.market.realtime import real_time_prices
from flopgrid.market.result import ClearingResult

# The delivery file's model and checks live in flopgrid.market.delivery (re-exported here).


@dataclass
class Deviation:
    bid: str
    pool: str
    provider_shortfall_chip_hours: float
    released_chip_hours: float
    buyer_shortfall_eflop: float
    real_time_price_per_chip_hour: float
    provider_charge_usd: float
    buyer_credit_usd: float


@dataclass
class Settlement:
    ledger: Ledger
    deviations: list[Deviation] = field(default_factory=list)
    real_time_prices: dict[tuple[str, int], float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "transactions": [{"id": t.id, "memo": t.memo,
                              "entries": [{"account": e.account, "amount_usd": e.amount_usd} for e in t.entries],
                              "total_usd": t.total_usd} for t in self.ledger.transactions],
            "balances": self.ledger.balances(),
            "balanced": self.ledger.balanced,
            "deviations": [asdict(d) for d in self.deviations],
            "real_time_prices": [{"pool": p, "interval": t, "price_per_chip_hour": v}
                                 for (p, t), v in sorted(self.real_time_prices.items())],
        }


class _DayAheadAllocation(BaseModel):
    """The fields of a `flopgrid clear --json` allocation that settlement reads."""

    model_config = ConfigDict(extra="allow")
    bid: str
    pool: str
    chips: int = Field(gt=0)
    start: int = Field(ge=0)
    intervals: int = Field(gt=0)
    payment_usd: float
    buyer: str | None = None
    useful_eflop: float | None = None


class _ProviderPosition(BaseModel):
    model_config = ConfigDict(extra="allow")
    provider: str
    revenue_usd: float
    uplift_credit_usd: float = 0.0
    uplift_charge_usd: float = 0.0


class _DayAheadResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    allocations: list[_DayAheadAllocation]
    providers: list[_ProviderPosition] = []


def check_day_ahead(scenario: Scenario, result: dict[str, Any], origin: str = "result") -> dict[str, Any]:
    """Validate a day-ahead result mapping against `scenario` (one-line UserInputError naming
    the file and field): the allocations' fields, and that every bid and pool exists."""
    try:
        parsed = _DayAheadResult.model_validate(result)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ())) or "result"
        raise UserInputError(f"{origin}: field {loc!r}: {err.get('msg')} (a `flopgrid clear --json` result is expected)") from None
    bids, pools = {b.id for b in scenario.bids}, {p.id for p in scenario.pools}
    for i, a in enumerate(parsed.allocations):
        if a.bid not in bids or a.pool not in pools:
            raise UserInputError(f"{origin}: allocation {i} names bid {a.bid!r} / pool {a.pool!r}, "
                                 "not in the scenario (was the result cleared from this scenario?)")
    return parsed.model_dump()


def _result_dict(result: ClearingResult | dict[str, Any]) -> dict[str, Any]:
    return result.to_dict() if isinstance(result, ClearingResult) else result


def _day_ahead_entries(da: dict[str, Any], bids: dict[str, Any]) -> list[Entry]:
    """The day-ahead transaction in integer micro-dollars. Energy charges and provider revenue
    are rounded once each (`usd_to_micro_usd`); uplift credits are rounded once each and the
    charges that fund them are apportioned so that they equal the credits to the micro-dollar
    (`apportion_micro_usd`). `iso:day_ahead` takes the merchandising surplus, so the
    transaction sums to exactly zero. A result without the uplift breakdown (a hand-written
    file) books `payment_usd` as it stands."""
    orders: list[tuple[str, str, int, float, float]] = []  # (order key, account, energy, credit, charge)
    for i, a in enumerate(da["allocations"]):
        account = f"buyer:{a['buyer'] or bids[a['bid']].buyer}"
        if "energy_charge_usd" in a:
            orders.append((f"a{i}", account, -usd_to_micro_usd(a["energy_charge_usd"]),
                           float(a.get("uplift_credit_usd", 0.0)), float(a.get("uplift_charge_usd", 0.0))))
        else:
            orders.append((f"a{i}", account, -usd_to_micro_usd(a["payment_usd"]), 0.0, 0.0))
    for i, pos in enumerate(da.get("providers", [])):
        orders.append((f"p{i}", f"provider:{pos['provider']}", usd_to_micro_usd(pos["revenue_usd"]),
                       float(pos["uplift_credit_usd"]), float(pos["uplift_charge_usd"])))
    credits = {k: usd_to_micro_usd(c) for k, _, _, c, _ in orders}
    weights = {k: ch for k, _, _, _, ch in orders if ch > 0}
    credit_usd, charge_usd = math.fsum(c for *_, c, _ in orders), math.fsum(weights.values())
    # charges fund the credits (flopgrid.market.uplift): equal up to float error -> exactly equal
    same = abs(charge_usd - credit_usd) <= 1e-6 * max(1.0, credit_usd)
    total_charge = sum(credits.values()) if same else usd_to_micro_usd(charge_usd)
    charges = apportion_micro_usd(total_charge, weights) if weights else {}
    entries = [Entry(account, energy + credits[k] - charges.get(k, 0)) for k, account, energy, _, _ in orders]
    entries.append(Entry("iso:day_ahead", -sum(e.amount_micro_usd for e in entries)))
    return entries


def settle(scenario: Scenario, result: ClearingResult | dict[str, Any], delivery: Delivery) -> Settlement:
    """Settle a day-ahead result against metered delivery (see the module docstring).
    `result`: the `ClearingResult` of `clear`, or its `to_dict()` mapping as read back from a
    `flopgrid clear --json` file (validated by `check_day_ahead`)."""
    da = _result_dict(result)
    h = scenario.horizon.interval_hours
    ledger = Ledger()
    pools = {p.id: p for p in scenario.pools}
    bids = {b.id: b for b in scenario.bids}
    # 1. day-ahead
    ledger.post("day-ahead positions at day-ahead prices (with uplift)", _day_ahead_entries(da, bids))
    # 2. real-time deviations
    allocs = {(a["bid"], a["pool"]): a for a in da["allocations"]}
    check_delivery(delivery, scenario, da)  # one row per allocation, values inside it and the horizon
    rt = real_time_prices(scenario, da, delivery) if delivery.allocations else {}
    deviations = []
    for m in delivery.allocations:
        a = allocs[(m.bid, m.pool)]
        buyer = f"buyer:{bids[m.bid].buyer}" if m.bid in bids else f"buyer:{a['buyer']}"
        provider = f"provider:{pools[m.pool].provider}" if m.pool in pools else f"provider:{a['provider']}"
        chip_hours = a["chips"] * a["intervals"] * h
        rate = a["payment_usd"] / chip_hours if chip_hours else 0.0
        ts = range(a["start"], a["start"] + a["intervals"])
        rt_price = sum(rt.get((m.pool, t), 0.0) for t in ts) / a["intervals"]
        shortfall = min(chip_hours, a["chips"] * m.provider_outage_minutes / 60.0)
        released, released_price = 0.0, 0.0
        if m.released_after_intervals is not None and m.released_after_intervals < a["intervals"]:
            released = a["chips"] * (a["intervals"] - m.released_after_intervals) * h
            released = max(0.0, min(released, chip_hours - shortfall))
            rel_ts = range(a["start"] + m.released_after_intervals, a["start"] + a["intervals"])
            released_price = sum(rt.get((m.pool, t), 0.0) for t in rel_ts) / len(rel_ts)
        provider_charge = shortfall * max(rt_price, rate)
        buyer_credit = shortfall * rate + released * released_price
        charge_micro, credit_micro = usd_to_micro_usd(provider_charge), usd_to_micro_usd(buyer_credit)
        if charge_micro or credit_micro:
            ledger.post(f"real-time deviation {m.bid} on {m.pool}", [
                Entry(provider, -charge_micro), Entry(buyer, credit_micro),
                Entry("iso:real_time", charge_micro - credit_micro)])
        buyer_short = 0.0
        if m.useful_eflop is not None and a.get("useful_eflop"):
            used = (chip_hours - shortfall - released) / chip_hours
            buyer_short = max(0.0, a["useful_eflop"] * used - m.useful_eflop)
        deviations.append(Deviation(m.bid, m.pool, shortfall, released, buyer_short, rt_price, provider_charge, buyer_credit))
    return Settlement(ledger, deviations, rt)

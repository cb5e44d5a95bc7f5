"""The delivery file: what was metered after a day-ahead clearing, input of settlement
(docs/formats/delivery.md; `flopgrid schema delivery`).

    {"allocations": [{"bid": "bid-00000", "pool": "pool-0017", "useful_eflop": 600,
                      "provider_outage_minutes": 30, "released_after_intervals": 3}],
     "real_time_prices": [{"pool": "pool-0017", "interval": 2, "price_per_chip_hour": 3.5}]}

Checked as strictly as orders (one-line `UserInputError`, exit 2 at the CLI), first the
fields (`parse_delivery`), then against the day-ahead allocations and the horizon
(`check_delivery`):
- one row per cleared allocation: a (bid, pool) given twice is rejected, naming both rows
  (settling it twice would refund one outage twice);
- every row names an allocation of the day-ahead result;
- `provider_outage_minutes` fits inside the allocation (at most intervals x interval
  minutes) and, with an early release, before the release;
- `released_after_intervals` is at most the allocation's length;
- `useful_eflop` is at most what the gang delivers at 100% of its chips' highest dense
  peak over the allocation (the catalog's datasheet figure): more is a metering error;
- `real_time_prices`: pools of the scenario, intervals inside the horizon, one price per
  (pool, interval); when given, every interval a deviation settles at must be priced.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flopgrid.errors import UserInputError


class MeteredAllocation(BaseModel):
    """What the meter recorded for one cleared allocation (bid, pool)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    bid: str = Field(description="bid id of a day-ahead allocation")
    pool: str = Field(description="pool id of that allocation")
    useful_eflop: float | None = Field(default=None, ge=0, description="metered useful EFLOP delivered (1e18 FLOPs)")
    provider_outage_minutes: float = Field(default=0.0, ge=0,
                                           description="minutes the gang was down by the provider's fault")
    released_after_intervals: int | None = Field(default=None, ge=0,
                                                 description="the buyer released the gang after this many intervals")


class RealTimePrice(BaseModel):
    """A real-time price of one pool in one interval (USD per chip-hour)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    pool: str
    interval: int = Field(ge=0, description="interval index in the scenario's horizon, from 0")
    price_per_chip_hour: float = Field(ge=0, description="USD per chip-hour")


class Delivery(BaseModel):
    """Metered delivery of a day-ahead result. Without `real_time_prices` settlement
    re-clears the scenario with the outage chips removed and uses its capacity prices."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              json_schema_extra={"title": "flopgrid delivery"})

    allocations: list[MeteredAllocation] = Field(default_factory=list)
    real_time_prices: list[RealTimePrice] | None = None


def parse_delivery(data: dict[str, Any], origin: str = "delivery", scenario: Any = None,
                   day_ahead: dict[str, Any] | None = None) -> Delivery:
    """Validate a mapping as a Delivery (one-line error naming the field); with the
    `scenario` and its `day_ahead` result, also check it against them (`check_delivery`)."""
    try:
        delivery = Delivery.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        got = f" (got {err['input']!r})" if "input" in err and err.get("type") != "missing" else ""
        raise UserInputError(f"{origin}: field {loc!r}: {err.get('msg', 'invalid')}{got[:80]}") from None
    if scenario is not None and day_ahead is not None:
        check_delivery(delivery, scenario, day_ahead, origin)
    return delivery


def _max_peak_flops(hardware: str) -> float | None:
    from flopgrid.catalog import get_accelerator

    try:
        peaks = get_accelerator(hardware).peak_flops
    except UserInputError:
        return None
    return max((float(v) for v in peaks.values() if v), default=None)


def check_delivery(delivery: Delivery, scenario: Any, day_ahead: dict[str, Any], origin: str = "delivery") -> None:
    """Every rule of the module docstring; raises a one-line UserInputError at the first
    broken one. `scenario` is a `flopgrid.market.Scenario`; `day_ahead` the mapping of a
    `flopgrid clear --json` result."""
    allocs = {(a["bid"], a["pool"]): a for a in day_ahead.get("allocations", [])}
    minutes = float(scenario.horizon.interval_minutes)
    n_intervals = int(scenario.horizon.intervals)
    pools = {p.id: p for p in scenario.pools}
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, m in enumerate(delivery.allocations):
        rows[(m.bid, m.pool)].append(i)
    for (bid, pool), idx in rows.items():
        if len(idx) > 1:
            raise UserInputError(f"{origin}: allocation ({bid!r}, {pool!r}) is given {len(idx)} times "
                                 f"(allocations {', '.join(map(str, idx))}): give one row per allocation")
    for i, m in enumerate(delivery.allocations):
        where = f"{origin}: allocations.{i} ({m.bid!r}, {m.pool!r})"
        a = allocs.get((m.bid, m.pool))
        if a is None:
            raise UserInputError(f"{where} was not cleared day-ahead (see the result's allocations)")
        length = int(a["intervals"])
        if m.released_after_intervals is not None and m.released_after_intervals > length:
            raise UserInputError(f"{where}: released_after_intervals {m.released_after_intervals} is after the "
                                 f"allocation's end (it runs {length} intervals)")
        held = length if m.released_after_intervals is None else m.released_after_intervals
        if m.provider_outage_minutes > held * minutes + 1e-9:
            what = "allocation's" if held == length else "time held before the release,"
            raise UserInputError(f"{where}: provider_outage_minutes {m.provider_outage_minutes:g} is longer than the "
                                 f"{what} {held * minutes:g} minutes ({held} intervals of {minutes:g} min)")
        if m.useful_eflop is not None and m.pool in pools:
            peak = _max_peak_flops(pools[m.pool].hardware)
            if peak:
                ceiling = int(a["chips"]) * held * minutes * 60.0 * peak / 1e18
                if m.useful_eflop > ceiling * (1 + 1e-9):
                    raise UserInputError(f"{where}: useful_eflop {m.useful_eflop:g} is more than {a['chips']} "
                                         f"{pools[m.pool].hardware} chips deliver at 100% of peak in {held} "
                                         f"intervals ({ceiling:,.1f} EFLOP)")
    if delivery.real_time_prices is None:
        return
    seen: dict[tuple[str, int], int] = {}
    for j, p in enumerate(delivery.real_time_prices):
        where = f"{origin}: real_time_prices.{j}"
        if p.pool not in pools:
            raise UserInputError(f"{where}: pool {p.pool!r} is not in the scenario")
        if p.interval >= n_intervals:
            raise UserInputError(f"{where}: interval {p.interval} is outside the horizon "
                                 f"(intervals 0 to {n_intervals - 1})")
        if (p.pool, p.interval) in seen:
            raise UserInputError(f"{where}: ({p.pool!r}, interval {p.interval}) is already priced by "
                                 f"real_time_prices.{seen[(p.pool, p.interval)]}")
        seen[(p.pool, p.interval)] = j
    for i, m in enumerate(delivery.allocations):
        a = allocs[(m.bid, m.pool)]
        start, length = int(a["start"]), int(a["intervals"])
        released = m.released_after_intervals is not None and m.released_after_intervals < length
        if m.provider_outage_minutes > 0 or released:
            missing = [t for t in range(start, start + length) if (m.pool, t) not in seen]
            if missing:
                raise UserInputError(f"{origin}: allocations.{i} ({m.bid!r}, {m.pool!r}) deviates but "
                                     f"real_time_prices has no price for {m.pool!r} in interval(s) "
                                     f"{', '.join(map(str, missing[:5]))}{' ...' if len(missing) > 5 else ''}")

"""Real-time prices for settlement (DESIGN.md "The market", step 4): the delivery file's own
prices if it gives them, else the capacity duals of a re-clearing of the day-ahead scenario
with the metered outage chips removed from supply (the most expensive offer steps first).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from flopgrid.market.clearing import clear
from flopgrid.market.orders import OfferStep, Scenario

if TYPE_CHECKING:
    from flopgrid.market.settlement import Delivery


def real_time_prices(scenario: Scenario, day_ahead: dict[str, Any], delivery: Delivery,
                     time_limit_s: float | None = 30.0) -> dict[tuple[str, int], float]:
    """Per (pool id, interval) USD per chip-hour (see the module docstring)."""
    if delivery.real_time_prices is not None:
        return {(p.pool, p.interval): p.price_per_chip_hour for p in delivery.real_time_prices}
    h = scenario.horizon.interval_hours
    allocs = {(a["bid"], a["pool"]): a for a in day_ahead["allocations"]}
    lost: dict[str, int] = {}
    for m in delivery.allocations:
        a = allocs.get((m.bid, m.pool))
        if a and m.provider_outage_minutes > 0:
            frac = min(1.0, m.provider_outage_minutes / 60.0 / (a["intervals"] * h))
            lost[m.pool] = lost.get(m.pool, 0) + math.ceil(a["chips"] * frac)
    pools = []
    for p in scenario.pools:
        cut, steps = lost.get(p.id, 0), []
        for s in reversed(p.offer):  # the outage removes the most expensive steps first
            take = min(cut, s.chips)
            cut -= take
            if s.chips - take > 0:
                steps.append(OfferStep(chips=s.chips - take, price_per_chip_hour=s.price_per_chip_hour))
        if steps:
            pools.append(p.model_copy(update={"offer": list(reversed(steps))}))
    rt = clear(scenario.model_copy(update={"pools": pools}), time_limit_s=time_limit_s)
    return {(r.pool, r.interval): r.price_per_chip_hour for r in rt.prices}

"""Market monitor: the pivotal-supplier screen and offer mitigation (DESIGN.md step 5).

A supplier is pivotal for a product (hardware, region) in an interval when the demand that
could be served there cannot be met without it: total offered chips - its offered chips <
demand (the one-pivotal-supplier form of the screen FERC and the ISOs use; PJM applies the
three-pivotal-supplier variant). Demand for a product in an interval is the sum, over bids
that accept that hardware and region and whose window contains the interval, of their
smallest gang x (1 + reserve fraction): the least they need to be served.

Mitigation (only when the scenario has a `monitor` section): every offer step of a pivotal
supplier's pools in that product is capped at the reference price (the scenario's, else the
top of the published range in `flopgrid.market.prices`) before clearing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flopgrid.market.orders import OfferStep, Scenario
from flopgrid.market.prices import REFERENCE_PRICE_PER_CHIP_HOUR
from flopgrid.market.validation import canonical_hardware


@dataclass
class PivotalFinding:
    provider: str
    hardware: str
    region: str
    intervals: list[int]
    demand_chips: float
    others_chips: int
    capped_pools: list[str] = field(default_factory=list)
    reference_price_per_chip_hour: float | None = None


def pivotal_suppliers(scenario: Scenario) -> list[PivotalFinding]:
    """Pivotal suppliers per (hardware, region), with the intervals where they are pivotal."""
    T = scenario.horizon.intervals
    f = scenario.reserve.fraction
    supply: dict[tuple[str, str], dict[str, list[int]]] = {}
    for p in scenario.pools:
        key = (canonical_hardware(p.hardware), p.region)
        per_t = supply.setdefault(key, {}).setdefault(p.provider, [0] * T)
        first, last = p.available if p.available is not None else (0, T - 1)
        for t in range(first, last + 1):
            per_t[t] += p.offered_chips
    findings: list[PivotalFinding] = []
    bid_hw = [None if not b.hardware else {canonical_hardware(x) for x in b.hardware} for b in scenario.bids]
    for (hw, region), by_provider in sorted(supply.items()):
        demand = [0.0] * T
        for b, hws in zip(scenario.bids, bid_hw):
            if (hws is not None and hw not in hws) or (b.region and region not in b.region):
                continue
            for t in range(b.window[0], b.window[1]):
                demand[t] += min(b.chips) * (1.0 + f)
        total = [sum(v[t] for v in by_provider.values()) for t in range(T)]
        for provider, chips in sorted(by_provider.items()):
            ts = [t for t in range(T) if demand[t] > 0 and total[t] - chips[t] < demand[t]]
            if ts:
                worst = max(ts, key=lambda t: demand[t] - (total[t] - chips[t]))
                findings.append(PivotalFinding(provider, hw, region, ts, demand[worst], total[worst] - chips[worst]))
    return findings


def mitigate(scenario: Scenario) -> tuple[Scenario, list[PivotalFinding]]:
    """Run the screen; when the scenario asks for mitigation, cap pivotal offers."""
    findings = pivotal_suppliers(scenario)
    mon = scenario.monitor
    if mon is None or not mon.enabled or not findings:
        return scenario, findings
    refs = {canonical_hardware(k): v for k, v in mon.reference_price_per_chip_hour.items()}
    pools = list(scenario.pools)
    for fnd in findings:
        ref = refs.get(fnd.hardware, REFERENCE_PRICE_PER_CHIP_HOUR.get(fnd.hardware))
        fnd.reference_price_per_chip_hour = ref
        if ref is None:
            continue
        for i, p in enumerate(pools):
            if p.provider == fnd.provider and p.region == fnd.region and canonical_hardware(p.hardware) == fnd.hardware:
                if any(s.price_per_chip_hour > ref for s in p.offer):
                    capped = [OfferStep(chips=s.chips, price_per_chip_hour=min(s.price_per_chip_hour, ref)) for s in p.offer]
                    pools[i] = p.model_copy(update={"offer": capped})
                    fnd.capped_pools.append(p.id)
    return scenario.model_copy(update={"pools": pools}), findings

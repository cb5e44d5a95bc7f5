"""Where the price is computed: uniform locational prices from the fixed-integer LP's duals,
the charges at those prices, and make-whole uplift (DESIGN.md "The market", steps 2-3).

`price_allocation` takes a cleared 0/1 vector of a `MarketModel` and the duals of its
fixed-integer LP (O'Neill, Sotkiewicz, Hobbs, Rothkopf & Stewart 2005, "Efficient
market-clearing prices in markets with nonconvexities", EJOR 164: fix every binary at its
MILP value, re-solve the LP, read prices from the capacity rows): the price of (pool,
interval) is its capacity-row dual per chip-hour where chips trade (0 elsewhere: the dual is
degenerate there), the reserve price its reserve-row dual; buyers are charged
chips x hours x (price + fraction x reserve price), providers paid for the chips they sell;
then `flopgrid.market.uplift.make_whole` makes every cleared party whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.model import MarketModel
from flopgrid.market.orders import Scenario
from flopgrid.market.result import Allocation, PriceRow, ProviderPosition, Unserved, Uplift, UpliftEntry
from flopgrid.market.uplift import Party, make_whole
from flopgrid.market.validation import canonical_hardware
from flopgrid.market.valuation import Valuer


@dataclass
class Priced:
    """A priced clearing: the pieces of a `ClearingResult`."""

    welfare_usd: float
    allocations: list[Allocation]
    prices: list[PriceRow]
    uplift: Uplift
    unserved: list[Unserved]
    providers: list[ProviderPosition]


def zero_prices(scenario: Scenario) -> list[PriceRow]:
    T = scenario.horizon.intervals
    rows = []
    for p in scenario.pools:
        first, last = p.available if p.available is not None else (0, T - 1)
        rows += [PriceRow(p.id, t, 0.0) for t in range(first, last + 1)]
    return rows


def price_allocation(scenario: Scenario, model: MarketModel, valuer: Valuer, xs: np.ndarray, duals: np.ndarray,
                     cols: np.ndarray) -> Priced:
    """Prices, charges and uplift of the cleared candidates `xs` (0/1 per binary) given the
    fixed-integer LP's row `duals` and column values `cols` (see the module docstring)."""
    h = scenario.horizon.interval_hours
    f = scenario.reserve.fraction
    pools, bids = scenario.pools, scenario.bids
    chosen = np.nonzero(xs > 0.5)[0]
    # demand and supply per (pool, interval) from the fixed LP
    cleared: dict[tuple[int, int], int] = {}
    for k in chosen:
        p, s, L, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_len[k]), int(model.cand_chips[k])
        for t in range(s, s + L):
            cleared[(p, t)] = cleared.get((p, t), 0) + g
    cap_price: dict[tuple[int, int], float] = {}
    res_price: dict[tuple[int, int], float] = {}
    for key, row in model.cap_rows.items():
        if cleared.get(key, 0) > 0:  # elsewhere nothing trades: the dual is degenerate, publish 0
            cap_price[key] = max(0.0, float(duals[row]) / h)
            if key in model.res_rows:
                res_price[key] = max(0.0, float(duals[model.res_rows[key]]) / h)
    reserve_chips = {k: float(cols[model.n_x + len(model.y_cols) + i]) for i, k in enumerate(model.r_cols)}
    supplied: dict[tuple[int, int], float] = {}
    cost: dict[int, float] = {}
    for i, (p, t, j) in enumerate(model.y_cols):
        q = float(cols[model.n_x + i])
        if q > 1e-9:
            supplied[(p, t)] = supplied.get((p, t), 0.0) + q
            cost[p] = cost.get(p, 0.0) + q * pools[p].offer[j].price_per_chip_hour * h

    prices = []
    T = scenario.horizon.intervals
    for pi, p in enumerate(pools):
        first, last = p.available if p.available is not None else (0, T - 1)
        for t in range(first, last + 1):
            prices.append(PriceRow(p.id, t, cap_price.get((pi, t), 0.0), res_price.get((pi, t), 0.0),
                                   cleared.get((pi, t), 0), reserve_chips.get((pi, t), 0.0) if cleared.get((pi, t)) else 0.0))

    allocs: list[Allocation] = []
    parties: list[Party] = []
    for k in chosen:
        b, p = bids[int(model.cand_bid[k])], pools[int(model.cand_pool[k])]
        pi, s, L, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_len[k]), int(model.cand_chips[k])
        charge = sum(h * g * (cap_price.get((pi, t), 0.0) + f * res_price.get((pi, t), 0.0)) for t in range(s, s + L))
        try:
            d = valuer.delivery(b, p, g)
            mfu, eflop = d.predicted_mfu, d.useful_eflop_per_interval * L
        except ImportError:  # the perf layer is absent: $/chip-hour bids still clear
            mfu, eflop = None, None
        value = float(model.cand_value_usd[k])
        allocs.append(Allocation(b.id, p.id, g, s, L, mfu, eflop, 0.0, None, charge, buyer=b.buyer,
                                 provider=p.provider, hardware=canonical_hardware(p.hardware), value_usd=value,
                                 energy_charge_usd=charge))
        parties.append(Party(f"buyer:{b.buyer}", b.id, value - charge))
    positions: list[ProviderPosition] = []
    for pi, p in enumerate(pools):
        ts = [t for (q, t) in supplied if q == pi]
        if not ts:
            continue
        chip_hours = sum(supplied[(pi, t)] for t in ts) * h
        revenue = sum(supplied[(pi, t)] * h * cap_price.get((pi, t), 0.0) for t in ts)
        positions.append(ProviderPosition(p.id, p.provider, chip_hours, revenue, cost.get(pi, 0.0)))
        parties.append(Party(f"provider:{p.provider}", p.id, revenue - cost.get(pi, 0.0)))

    credits, charges = make_whole(parties)
    party_of = {pt.order: pt.party for pt in parties}
    uplift = Uplift(total_usd=sum(credits.values()),
                    credits=[UpliftEntry(party_of[o], o, v) for o, v in credits.items()],
                    charges=[UpliftEntry(party_of[o], o, v) for o, v in charges.items() if v > 0])
    for a in allocs:
        a.uplift_credit_usd = credits.get(a.bid, 0.0)
        a.uplift_charge_usd = charges.get(a.bid, 0.0)
        a.payment_usd = a.energy_charge_usd - a.uplift_credit_usd + a.uplift_charge_usd
        a.price_per_chip_hour = a.payment_usd / (a.chips * a.intervals * h)
        a.price_per_eflop = a.payment_usd / a.useful_eflop if a.useful_eflop else None
    for pos in positions:
        pos.uplift_credit_usd = credits.get(pos.pool, 0.0)
        pos.uplift_charge_usd = charges.get(pos.pool, 0.0)

    welfare = float(sum(a.value_usd for a in allocs) - sum(cost.values()))
    served = {a.bid for a in allocs}
    unserved = [Unserved(b.id, b.buyer, model.no_candidate_reason.get(i, "outbid: clearing it would lower welfare"))
                for i, b in enumerate(bids) if b.id not in served]
    return Priced(welfare, allocs, prices, uplift, unserved, positions)

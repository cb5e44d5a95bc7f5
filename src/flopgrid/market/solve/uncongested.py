"""Exact fast path for uncongested markets (no MILP solve).

Every unit of supply a candidate k = (bid, pool p, gang g, start, L intervals) uses costs at
least the pool's cheapest offer price c_p, and it uses (1 + reserve fraction) x g chips in
each of its L intervals, so its contribution to welfare is at most

    m_k = value_k - (1 + f) x g x L x h x c_p.

Summing each bid's best m_k (or 0) bounds the optimum from above. If the allocation that
gives every bid its best candidate uses, in every (pool, interval), no more chips than the
pool's cheapest tier (the offer steps priced c_p), its offer cost is exactly the sum of the
per-candidate lower bounds, so its welfare equals the bound: it is optimal. Then the MILP
decomposes per bid and needs no solver.

Prices: with the binaries fixed, the capacity row of a (pool, interval) with demand strictly
inside the cheapest tier has an offer-step variable strictly between its bounds at cost
c_p x h, so the LP dual of that row is exactly c_p x h, and (the reserve variable being
basic at f x demand > 0) so is the reserve row's. Those duals are written down directly; a
demand exactly at the tier boundary (a degenerate dual) is left to the fixed-integer LP.
`tests/test_market_uncongested.py` checks both against HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.model import MarketModel
from flopgrid.market.orders import Scenario

REL_TOL = 1e-9


@dataclass
class Uncongested:
    x: np.ndarray  # n_x binaries
    col_value: np.ndarray  # full LP column vector (x, y, r) of the fixed-integer LP
    duals: np.ndarray | None  # row duals of the fixed-integer LP, None when degenerate


def solve_uncongested(scenario: Scenario, model: MarketModel) -> Uncongested | None:
    """The optimal allocation when every bid's best candidate fits the cheapest tiers
    together (see the module docstring), else None."""
    n = model.n_x
    if n == 0:
        return None
    h, f = model.interval_hours, model.reserve_fraction
    pools = scenario.pools
    P, T = len(pools), scenario.horizon.intervals
    c0 = np.array([min(s.price_per_chip_hour for s in p.offer) for p in pools])
    tier = np.array([sum(s.chips for s in p.offer if s.price_per_chip_hour == c) for p, c in zip(pools, c0)], float)
    cb, cp, cg, cs, cl = model.cand_bid, model.cand_pool, model.cand_chips, model.cand_start, model.cand_len
    margin = model.cand_value_usd - (1.0 + f) * cg * cl * h * c0[cp]
    # per bid the best margin; ties go to the lowest candidate index (deterministic)
    order = np.lexsort((np.arange(n), -margin, cb))
    head = np.ones(n, bool)
    head[1:] = cb[order][1:] != cb[order][:-1]
    best = order[head]
    best = best[margin[best] > 0]
    if len(best) == 0:
        return None
    use = np.zeros((P, T + 1))
    np.add.at(use, (cp[best], cs[best]), (1.0 + f) * cg[best])
    np.add.at(use, (cp[best], cs[best] + cl[best]), -(1.0 + f) * cg[best])
    use = np.cumsum(use, axis=1)[:, :T]
    use[np.abs(use) < 1e-9] = 0.0
    cap = tier[:, None] * (1.0 + REL_TOL)
    if np.any(use > cap):
        return None
    x = np.zeros(n)
    x[best] = 1.0
    # the fixed-integer LP's primal: cheapest steps first; reserve r = f x demand
    cols = np.zeros(model.n_cols)
    cols[:n] = x
    for i, (p, t, j) in enumerate(model.y_cols):
        if j == 0:
            left = use[p, t]
        take = min(left, float(pools[p].offer[j].chips))
        cols[n + i] = take
        left -= take
    gross = use / (1.0 + f)
    n_y = len(model.y_cols)
    for i, (p, t) in enumerate(model.r_cols):
        cols[n + n_y + i] = f * gross[p, t]
    degenerate = np.any((use > 0) & (use >= tier[:, None] * (1.0 - REL_TOL)))
    if degenerate:
        return Uncongested(x, cols, None)
    duals = np.zeros(model.n_rows)
    for (p, t), row in model.cap_rows.items():
        if use[p, t] > 0:
            duals[row] = c0[p] * h
            if (p, t) in model.res_rows:
                duals[model.res_rows[(p, t)]] = c0[p] * h
    return Uncongested(x, cols, duals)

"""LP diving on the column-generation master: a feasible allocation guided by the LP.

The master LP (`bound.column_generation`) holds the columns the LP relaxation uses. Repeat:
solve it, take its fractional and integral columns by decreasing x, fix to 1 those whose bid
is still open and whose gang still fits every covered (pool, interval) next to the columns
fixed so far (with the reserve), at most a `batch_share` of the open bids per round, then
re-solve from the previous basis (HiGHS dual simplex warm start). The LP re-routes the rest
of the market around each fixing. When nothing more can be fixed the fixed columns are an
allocation, and the capacity left goes to the unserved bids greedily (`repair.fill`).
This is the diving heuristic of MIP solvers (Achterberg 2007, "Constraint integer
programming", ch. 9; Berthold 2006 on primal heuristics) run on the market's own master.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from flopgrid.market.formulation.columns import Columns, Options
from flopgrid.market.large.lagrangian import Supply
from flopgrid.market.large.neighbourhood import Allocation
from flopgrid.market.solve.highs import IncrementalLp


def lp_dive(lp: IncrementalLp, cols: Columns, opts: Options, supply: Supply, n_bids: int, deadline: float, *,
            batch_share: float = 0.2, max_rounds: int = 40,
            price: Callable[[np.ndarray, np.ndarray], Columns] | None = None) -> tuple[Allocation, int]:
    """The dive's allocation (before any fill) and the number of LP solves; the master's
    bounds are restored afterwards. `price(row_dual, open_bid)` (`bound.master_pricing`), when
    given, adds the open bids' best columns at each round's duals, so that the LP can re-route
    them to options the master did not hold yet."""
    f = supply.reserve_fraction
    cap = supply.chips.sum(axis=1)
    P, T = supply.available.shape
    load = np.zeros((P, T))
    taken = np.zeros(n_bids, dtype=bool)
    fixed = np.zeros(len(cols), dtype=bool)
    L = opts.bid_len[cols.bid]
    a = (1.0 + f) * cols.chips
    solves = 0
    try:
        for _ in range(max_rounds):
            if time.perf_counter() > deadline:
                break
            sol = lp.solve()
            solves += 1
            if sol is None:
                break
            x = lp.candidate_values(sol[2])
            cand = np.flatnonzero(~fixed & (x > 1e-6) & ~taken[cols.bid])
            if len(cand) == 0:
                break
            cand = cand[np.argsort(-x[cand], kind="stable")]
            integral = x[cand] >= 1 - 1e-6
            limit = int(integral.sum()) + max(1, math.ceil(batch_share * len(np.unique(cols.bid[cand]))))
            new = []
            for k in cand.tolist():
                if len(new) >= limit:
                    break
                b, p, s = int(cols.bid[k]), int(cols.pool[k]), int(cols.start[k])
                e = s + int(L[k])
                if taken[b] or np.any(load[p, s:e] + a[k] > cap[p] + 1e-9):
                    continue
                load[p, s:e] += a[k]
                taken[b] = True
                new.append(k)
            if not new:
                break
            fixed[new] = True
            lp.set_candidate_bounds(np.array(new), 1.0, 1.0)
            if price is not None:
                more = price(sol[1], ~taken)
                if len(more):
                    lp.add_columns(more)
                    cols = Columns(*(np.r_[getattr(cols, n), getattr(more, n)]
                                     for n in ("bid", "pool", "chips", "start", "value_usd")))
                    fixed = np.r_[fixed, np.zeros(len(more), dtype=bool)]
                    L = opts.bid_len[cols.bid]
                    a = (1.0 + f) * cols.chips
    finally:
        lp.set_candidate_bounds(np.flatnonzero(fixed), 0.0, 1.0)
    k = np.flatnonzero(fixed)
    return Allocation.of(n_bids, cols.take(k)), solves

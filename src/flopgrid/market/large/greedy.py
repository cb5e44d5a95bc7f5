"""Primal heuristic for large markets: greedy over a time-indexed capacity profile.

Bids are taken in decreasing reduced value (value - prices) of their best option at the
Lagrange prices mu (`bid_order_by="reduced"`: the big, valuable gangs first, while the pools
still have room for them), or in decreasing reduced value per chip-interval
(`bid_order_by="density"`, the knapsack order). For each bid every one of its
`options_per_bid` best options (at mu) is tried at every start in its window against the
demand already placed in each (pool, interval): the incremental offer cost of (1 + reserve
fraction) x chips more in each covered interval (cheapest steps first; infinite past the
offered chips). The bid takes the option and start with the largest value - incremental
cost, if positive.
(A bid left out stays out: costs only grow as demand is placed.)

Many options per bid: at LP-like prices a bid's best few options sit on the pools the LP
fills, which the greedy finds full by the bid's turn; further down the list are pools with
room. Measured at the prices of L-BFGS on D (greedy welfare, time): 10,000 x 1,000 seed 1:
5.51M with 8 options (2.2 s), 6.05M with 32, 6.24M with 256 (4.3 s), 6.27M with all (6.6 s);
seed 2: 5.30M / 5.96M (64) / 6.01M (256); 3,000 x 300 seed 1: 1.624M / 1.676M (64) / 1.688M
(256); 1,000 x 100 seed 1: 445k / 453k (32) / 451k (all).

Order, measured the same way with 256 options: by reduced value 6.54M against 6.24M by
density at 10,000 x 1,000 seed 1, 1.739M against 1.688M at 3,000 x 300 seed 1, 464k against
451k at 1,000 x 100 seed 1 (by value alone 1.626M, by value per chip-interval 1.695M, longest
or widest first 1.40M / 1.58M at 3,000 x 300); neither order wins everywhere, so the large path
tries both where the greedy is cheap. The allocation is feasible
by construction; it seeds the column-generation master and starts the neighbourhood search
(`flopgrid.market.large`).
"""

from __future__ import annotations

import time

import numpy as np

from flopgrid.market.formulation.columns import Columns, Options
from flopgrid.market.large.lagrangian import Supply, window_cost


def capacity_greedy(opts: Options, supply: Supply, mu: np.ndarray, reserve_fraction: float, *,
                    options_per_bid: int = 256, deadline: float | None = None, base_chips: np.ndarray | None = None,
                    skip: np.ndarray | None = None, bid_priority: np.ndarray | None = None,
                    bid_order_by: str = "reduced"):
    """The columns of a feasible allocation (see module docstring). `base_chips` ((P, T) chips,
    reserve included) is capacity already taken by an allocation being filled, `skip` (per bid,
    bool) the bids not to place (those already placed); the columns returned are then the
    additions only."""
    if bid_order_by not in ("reduced", "density"):
        raise ValueError(f"bid_order_by {bid_order_by!r}: allowed are 'reduced' and 'density'")
    P, T = mu.shape
    f = reserve_fraction
    idx = np.arange(opts.n) if skip is None else np.flatnonzero(~skip[opts.bid])  # only the bids to place
    if 4 * len(idx) > opts.n:  # a large share: the full evaluation (its windows grouped and cached) is cheaper
        wc = window_cost(mu, opts, np.arange(opts.n))[0][idx]
    else:
        wc, _ = window_cost(mu, opts, idx)
    reduced = opts.value_usd[idx] - (1.0 + f) * opts.chips[idx] * wc
    density = reduced / np.maximum(opts.chips[idx] * opts.bid_len[opts.bid[idx]], 1)
    # per bid: its options sorted by reduced value, the best `options_per_bid` kept
    pos = np.lexsort((-reduced, opts.bid[idx]))
    order = idx[pos]
    b_sorted = opts.bid[order]
    starts = np.flatnonzero(np.r_[True, b_sorted[1:] != b_sorted[:-1]]) if len(idx) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(idx)]
    key = reduced[pos[starts]] if bid_order_by == "reduced" else density[pos[starts]]  # of each bid's best option
    if bid_priority is None:
        bid_order = np.argsort(-key, kind="stable")
    else:
        bid_order = np.lexsort((-key, -np.asarray(bid_priority)[b_sorted[starts]]))
    D = np.zeros((P, T)) if base_chips is None else np.array(base_chips, dtype=float)
    chosen: list[tuple[int, int, int, int, float]] = []
    for i in bid_order.tolist():
        if deadline is not None and time.perf_counter() > deadline:
            break
        o = order[starts[i]: min(ends[i], starts[i] + options_per_bid)]
        lo, hi = opts.start_lo[o], opts.start_hi[o]
        n_st = hi - lo + 1
        rep = np.repeat(np.arange(len(o)), n_st)
        s = lo[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(n_st) - n_st, n_st))
        oo = o[rep]
        L = int(opts.bid_len[opts.bid[o[0]]])
        p = opts.pool[oo]
        a = (1.0 + f) * opts.chips[oo]
        t = s[:, None] + np.arange(L)[None, :]
        d = D[p[:, None], t]
        pp = np.broadcast_to(p[:, None], d.shape)
        inc = (supply.step_cost(d + a[:, None], pp) - supply.step_cost(d, pp)).sum(axis=1)
        surplus = opts.value_usd[oo] - inc
        k = int(np.argmax(surplus))
        if surplus[k] > 1e-9:
            D[p[k], s[k]: s[k] + L] += a[k]
            chosen.append((int(opts.bid[oo[k]]), int(p[k]), int(opts.chips[oo[k]]), int(s[k]),
                           float(opts.value_usd[oo[k]])))
    if not chosen:
        return Columns.empty()
    arr = np.array(chosen, dtype=float)
    return Columns(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])

"""Lagrangian relaxation of the capacity (and reserve) rows of the clearing problem
(Fisher 1981, "The Lagrangian relaxation method for solving integer programming problems",
Management Science 27(1); the unit-commitment practice of power ISOs before MILP).

With the reserve r = fraction x cleared chips folded into the capacity row, the rows are

    sum_j y_(p,t,j) >= (1 + fraction) x sum_k chips_k x_k [k covers (p, t)]

Dualising them with prices mu[p, t] >= 0 (USD per chip per interval) splits the problem:

    D(mu) = sum_bids max(0, max_options value - (1 + f) x chips x sum_(t in window) mu[p, t])
          + sum_(p, t available) sum_j chips_j x max(0, mu[p, t] - price_j x hours)

Each bid picks its best (pool, gang, start) alone, each offer step sells when the price
beats its cost. For every mu >= 0, D(mu) >= the optimal welfare (weak duality), so
min over the evaluated mu is an honest upper bound. Because each bid's subproblem (pick at
most one option) has the integrality property, min D equals the LP-relaxation bound of the
monolithic MILP (Fisher 1981, Theorem 1) - no better, no worse. The multipliers come from
the duals of a restricted master LP (column generation, `flopgrid.market.large`):
projected subgradient steps (Held, Wolfe & Crowder 1974) were tried first and converged too
slowly on generated markets (D 40% above the LP bound after 300 steps at 2,000 bids).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.columns import Options
from flopgrid.market.orders import Scenario


@dataclass
class Supply:
    """Offer steps padded to (pools, steps); step costs in USD per chip per interval."""

    chips: np.ndarray  # (P, S) float, 0 for padding
    cost_usd_per_chip_interval: np.ndarray  # (P, S)
    available: np.ndarray  # (P, T) bool
    reserve_fraction: float

    @classmethod
    def of(cls, scenario: Scenario) -> Supply:
        pools, T, h = scenario.pools, scenario.horizon.intervals, scenario.horizon.interval_hours
        S = max((len(p.offer) for p in pools), default=1)
        chips = np.zeros((len(pools), S))
        cost = np.zeros((len(pools), S))
        avail = np.zeros((len(pools), T), dtype=bool)
        for i, p in enumerate(pools):
            for j, s in enumerate(p.offer):
                chips[i, j], cost[i, j] = s.chips, s.price_per_chip_hour * h
            first, last = p.available if p.available is not None else (0, T - 1)
            avail[i, first:last + 1] = True
        return cls(chips, cost, avail, scenario.reserve.fraction)

    def marginal_cost(self) -> np.ndarray:
        """(P, T) cheapest step cost where available: the uncongested price."""
        c = np.where(self.chips > 0, self.cost_usd_per_chip_interval, np.inf).min(axis=1)
        return np.where(self.available, c[:, None], 0.0)

    def step_cost(self, q: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Offer cost (USD per interval) of q chips (per element) on pool p (same shape),
        cheapest steps first; inf past the pool's offered chips. The one stepped-cost rule
        of the large-market path (greedy, neighbourhood search)."""
        prev = np.cumsum(self.chips, axis=1) - self.chips
        take = np.clip(q[..., None] - prev[p], 0.0, self.chips[p])
        c = (take * self.cost_usd_per_chip_interval[p]).sum(axis=-1)
        return np.where(q <= self.chips.sum(axis=1)[p] + 1e-9, c, np.inf)

    def respond(self, mu: np.ndarray) -> tuple[float, np.ndarray]:
        """Offer side of D(mu): its value and the chips sold per (pool, interval)."""
        diff = mu[:, :, None] - self.cost_usd_per_chip_interval[:, None, :]  # (P, T, S)
        sell = (diff > 0) & self.available[:, :, None]
        value = float((np.where(sell, diff, 0.0) * self.chips[:, None, :]).sum())
        return value, (sell * self.chips[:, None, :]).sum(axis=2)


@dataclass
class BidResponse:
    """Bid side of D(mu) over a set of options: per bid its best option (or none)."""

    value_usd: float  # sum over bids of max(0, best reduced value)
    option: np.ndarray  # per chosen bid: option index (into Options arrays)
    start: np.ndarray  # its best start
    reduced_usd: np.ndarray  # its reduced value (> 0)
    demand_chips: np.ndarray  # (P, T): (1 + f) x chips of the chosen options


def window_cost(mu: np.ndarray, opts: Options, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per option in `idx`: the cheapest sum of mu over its L intervals among its starts,
    and that start. Over the full option set the cost depends only on (pool, start range,
    length), which far fewer options share: it is computed once per distinct such window
    (the grouping is cached per Options object) and spread back."""
    if len(idx) == opts.n and opts.n > 0 and np.array_equal(idx, np.arange(opts.n)):
        hit = getattr(opts, "_window_groups", None)
        if hit is None:
            w = int(max(opts.start_hi.max(), opts.bid_len.max(), 0)) + 2  # start_lo <= start_hi
            key = ((opts.pool * w + opts.start_lo) * w + opts.start_hi) * w + opts.bid_len[opts.bid]
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
            hit = (first.astype(np.int64), inv.reshape(-1))
            opts._window_groups = hit  # the arrays are never modified after enumeration
        first, inv = hit
        c, st = _window_cost(mu, opts, first)
        return c[inv], st[inv]
    return _window_cost(mu, opts, idx)


def _window_cost(mu: np.ndarray, opts: Options, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    P, T = mu.shape
    C = np.zeros((P, T + 1))
    np.cumsum(mu, axis=1, out=C[:, 1:])
    flat = C.reshape(-1)
    p = opts.pool[idx]
    lo, hi = opts.start_lo[idx], opts.start_hi[idx]
    L = opts.bid_len[opts.bid[idx]]
    base = p * (T + 1) + lo
    n_st = hi - lo + 1
    kmax = int(n_st.max()) if len(idx) else 0
    best = np.full(len(idx), np.inf)
    best_s = lo.copy()
    for k in range(kmax):
        ok = k < n_st
        c = np.where(ok, flat[np.where(ok, base + k + L, base)] - flat[np.where(ok, base + k, base)], np.inf)
        better = c < best
        best = np.where(better, c, best)
        best_s = np.where(better, lo + k, best_s)
    return best, best_s


def segment_argmax(values: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For `group` sorted ascending: per group its max value and the first position holding it."""
    if len(values) == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    mx = np.maximum.reduceat(values, starts)
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    hit = np.flatnonzero(values >= mx[seg])
    first = hit[np.r_[True, seg[hit][1:] != seg[hit][:-1]]]
    return mx, first


def bid_response(mu: np.ndarray, opts: Options, idx: np.ndarray, reserve_fraction: float,
                 rho: np.ndarray | None = None) -> BidResponse:
    """Each bid's best option among `idx` (sorted by bid) at prices `mu`. A cleared chip
    costs the bid rho = mu_capacity + fraction x mu_reserve per interval; with the reserve
    row folded into the capacity row (mu_reserve = mu_capacity) rho = (1 + fraction) x mu."""
    P, T = mu.shape
    rho = (1.0 + reserve_fraction) * mu if rho is None else rho
    cost, s = window_cost(rho, opts, idx)
    reduced = opts.value_usd[idx] - opts.chips[idx] * cost
    mx, first = segment_argmax(reduced, opts.bid[idx])
    take = mx > 0
    pos = first[take]
    opt = idx[pos]
    start = s[pos]
    g = (1.0 + reserve_fraction) * opts.chips[opt]
    L = opts.bid_len[opts.bid[opt]]
    D = np.zeros((P, T + 1))
    np.add.at(D, (opts.pool[opt], start), g)
    np.add.at(D, (opts.pool[opt], start + L), -g)
    return BidResponse(float(mx[take].sum()), opt, start, mx[take], np.cumsum(D, axis=1)[:, :T])


def dual_value(mu: np.ndarray, opts: Options, idx: np.ndarray, supply: Supply,
               mu_reserve: np.ndarray | None = None) -> tuple[float, BidResponse, np.ndarray]:
    """D at capacity prices `mu` and reserve prices `mu_reserve` (default mu); needs
    mu_reserve <= mu (else the hot-spare column r makes the relaxation unbounded), so it is
    clipped to mu. The value is an upper bound on welfare for any such mu >= 0. It is
    evaluated at max(mu, cheapest step cost) with mu_reserve = mu, which is never larger
    (see below), so `mu_reserve` is accepted for compatibility only."""
    # Raising mu[p, t] up to the pool's cheapest step cost leaves the offer side unchanged
    # (no step sells below its cost) and only lowers the bid side, and the reserve price
    # mu_reserve = mu (its upper limit) lowers the bid side further: both only tighten D.
    mu = np.maximum(mu, supply.marginal_cost())
    br = bid_response(mu, opts, idx, supply.reserve_fraction, None)
    sv, sold = supply.respond(mu)
    return br.value_usd + sv, br, sold


def top_per_bid(score: np.ndarray, bid: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores per bid (`bid` sorted ascending)."""
    order = np.lexsort((-score, bid))
    b = bid[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]]) if len(b) else np.zeros(0, np.int64)
    rank = np.arange(len(b)) - np.repeat(starts, np.diff(np.r_[starts, len(b)]))
    return np.sort(order[rank < k])


def priced_columns(rho: np.ndarray, opts: Options, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column generation's pricing step: per bid, up to `k` options with positive reduced
    value at bid-side prices `rho` (best first), each at its cheapest start: (options, starts,
    reduced values)."""
    idx = np.arange(opts.n)
    cost, s = window_cost(rho, opts, idx)
    reduced = opts.value_usd - opts.chips * cost
    pos = np.flatnonzero(reduced > 0)
    keep = pos[top_per_bid(reduced[pos], opts.bid[pos], k)]
    return keep, s[keep], reduced[keep]

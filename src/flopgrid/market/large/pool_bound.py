"""A bound tighter than the LP: Lagrangian relaxation of the bid rows, one exact sub-MIP per
pool (the Dantzig-Wolfe bound with per-pool schedule columns).

Relax "each bid clears at most once" with multipliers lambda_b >= 0. The rest splits by pool:

    Z(lambda) = sum_b lambda_b + sum_p z_p(lambda),
    z_p(lambda) = max over feasible schedules of pool p of
                  sum_(k in schedule) (value_k - lambda_bid(k)) - offer cost of the schedule,

where a schedule is a set of (bid, gang, start) options on p, each bid at most once, within
the pool's offered chips (with reserve) in every interval. For any lambda >= 0, Z(lambda) is
an upper bound on the optimal welfare (weak duality), and because each z_p is an integer
program (gangs are whole, starts contiguous) min Z is at least as tight as the LP bound,
strictly tighter where gangs are large relative to pools (Geoffrion 1974, "Lagrangean
relaxation for integer programming"; Dantzig & Wolfe 1960; Barnhart et al. 1998 on
branch-and-price). Each z_p is solved by HiGHS; when a pool's sub-MIP stops at its time
limit, its proven dual bound (never below z_p) is used, so Z stays valid.

An option whose value minus lambda cannot beat (1 + reserve) x chips x intervals x the pool's
cheapest step cost can never raise z_p and is left out (an exact reduction).
lambda starts at the bid-row duals of the column-generation master LP; at LP-optimal duals
Z(lambda) <= the LP bound. Polyak subgradient steps on lambda follow while time lasts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.market.formulation.columns import Options
from flopgrid.market.formulation.model import model_from_candidates
from flopgrid.market.large.lagrangian import Supply, bid_response
from flopgrid.market.orders import Scenario
from flopgrid.market.solve import highs

log = logging.getLogger(__name__)


@dataclass
class PoolBound:
    upper_bound_usd: float  # inf when not every pool was bounded in time
    lam: np.ndarray  # per bid, the multipliers of the best bound
    schedules: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)  # pool -> (bid, chips, start, value)
    rounds: int = 0
    inexact_pools: int = 0  # pools bounded by HiGHS's dual bound rather than solved


def _pool_options(opts: Options, by_pool, pool_at, p: int, lam: np.ndarray, min_cost: float, f: float):
    o = by_pool[pool_at[p]: pool_at[p + 1]]
    red = opts.value_usd[o] - lam[opts.bid[o]]
    L = opts.bid_len[opts.bid[o]]
    o = o[red > (1.0 + f) * opts.chips[o] * L * min_cost * (1 + 1e-12) + 1e-9]
    return o


def pool_subproblem(scenario: Scenario, opts: Options, supply: Supply, o: np.ndarray, lam: np.ndarray,
                    time_limit_s: float, threads: int | None = None,
                    lp_fallback: bool = True) -> tuple[float, tuple[np.ndarray, ...], bool] | None:
    """Upper bound on z_p over options `o` of one pool, its best schedule found (bid, chips,
    start, value) and whether HiGHS proved it optimal; None when HiGHS fails, or when it
    stopped without a proven bound and `lp_fallback` is off (else the pool's LP bounds it)."""
    if len(o) == 0:
        z = np.zeros(0, np.int64)
        return 0.0, (z, z, z, np.zeros(0)), True
    cols = opts.expand(o, opts.value_usd[o] - lam[opts.bid[o]])
    model = model_from_candidates(scenario, cols, {})
    # the empty schedule as the start: a sub-MIP stopped early still has an incumbent and a dual bound
    out = highs.solve_milp(model, time_limit_s, 1e-6, threads=threads, start=np.zeros(model.n_cols))
    if out.status in ("error", "no_solution") or out.col_value is None:
        return None
    found = model.welfare_usd(out.col_value)
    if out.dual_bound is not None:
        ub = max(found, -out.dual_bound)
    elif not lp_fallback:
        return None
    else:  # no proven MIP bound: the pool's LP relaxation (valid, weaker)
        lp = highs.solve_lp_relaxation(model, time_limit_s)
        if lp is None:
            return None
        ub = max(found, lp[0])
    x = np.flatnonzero(np.round(out.col_value[: model.n_x]) > 0.5)
    value = opts.expand(o).value_usd[x]  # the bids' own values (not value - lambda + lambda)
    return ub, (cols.bid[x], cols.chips[x], cols.start[x], value), out.status == "optimal"


def pool_lagrangian(scenario: Scenario, opts: Options, supply: Supply, lam0: np.ndarray, deadline: float, *,
                    target_usd: float = 0.0, sub_time_limit_s: float = 1.0, max_rounds: int = 50,
                    stop_gap: float = 0.0) -> PoolBound:
    """min over evaluated lambda of Z(lambda) (see the module docstring), until `deadline`
    or until Z is within `stop_gap` of `target_usd` (a feasible welfare, which also sets the
    Polyak step). A round that cannot bound every pool before the deadline gives no bound."""
    P = len(supply.chips)
    f = supply.reserve_fraction
    min_cost = np.where(supply.chips > 0, supply.cost_usd_per_chip_interval, np.inf).min(axis=1)
    by_pool = np.argsort(opts.pool, kind="stable")
    pool_at = np.searchsorted(opts.pool[by_pool], np.arange(P + 1))
    best = PoolBound(np.inf, lam0.copy())
    lam = np.maximum(lam0, 0.0)
    theta = 1.0
    last_round_s = 0.0
    for r in range(max_rounds):
        if time.perf_counter() + 1.2 * last_round_s > deadline:
            break
        tr = time.perf_counter()
        total, schedules, inexact, ok = float(lam.sum()), {}, 0, True
        for p in range(P):
            if time.perf_counter() > deadline:
                ok = False
                break
            o = _pool_options(opts, by_pool, pool_at, p, lam, float(min_cost[p]), f)
            res = pool_subproblem(scenario, opts, supply, o, lam, sub_time_limit_s)
            if res is None:
                ok = False
                break
            total += res[0]
            schedules[p] = res[1]
            inexact += int(not res[2])
        last_round_s = time.perf_counter() - tr
        if not ok:
            break
        best.rounds = r + 1
        log.debug("pool Lagrangian round %d: Z %.0f (%d pools inexact, %.2f s)", r + 1, total, inexact, last_round_s)
        if total < best.upper_bound_usd:
            best.upper_bound_usd, best.lam, best.schedules, best.inexact_pools = total, lam.copy(), schedules, inexact
        else:
            theta /= 2.0
        if total - target_usd <= stop_gap * abs(total):
            break
        # subgradient of Z at lambda: 1 - (times bid b is scheduled)
        g = np.ones(len(lam))
        for bids, *_ in schedules.values():
            np.add.at(g, bids, -1.0)
        g[(lam <= 0) & (g > 0)] = 0.0  # projected: lambda cannot go below 0
        nrm = float(g @ g)
        if nrm <= 0 or theta < 1e-3:
            break
        step = theta * max(total - target_usd, 1e-9 * abs(total)) / nrm
        lam = np.maximum(0.0, lam - step * g)
    return best


@dataclass
class PartialPoolBound:
    """`pool_bound_at_prices`: a valid upper bound on welfare, never above D(mu)."""

    upper_bound_usd: float
    dual_usd: float  # D(mu) at the same prices (the bound with no pool solved)
    pools_solved: int = 0
    pools_total: int = 0  # pools whose supply side is positive at mu (the ones that can gain)
    schedules: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)  # pool -> (bid, chips, start, value)


def pool_bound_at_prices(scenario: Scenario, opts: Options, supply: Supply, mu: np.ndarray, deadline: float, *,
                         sub_time_limit_s: float = 0.5, max_binaries: int = 3000,
                         threads: int | None = None) -> PartialPoolBound:
    """An anytime bound between the pool Lagrangian and the LP bound, for markets of any size.

    Take lambda_b = the bid's best reduced value at capacity prices mu (>= 0, `bid_response`).
    For each pool p, z_p(lambda) (module docstring) is bounded above by the same relaxation
    with p's capacity rows priced at mu, which splits per bid:

        D_p = sum_b max(0, max_(k on p) value_k - lambda_b - (1 + f) chips_k window_k(mu))
              + sum_(t, j) chips_j max(0, mu[p, t] - cost_j)    (= the supply side: the bid
                                                                  side is 0 by the choice of lambda)

    and sum_b lambda_b + sum_p D_p = D(mu), the capacity-price bound. Replacing D_p by an exact
    (or HiGHS-dual-bounded) z_p for any subset of pools keeps a valid bound (each term stays an
    upper bound on its pool's z_p), tighter by D_p - z_p. Pools are taken by their supply-side
    value D_p (congested pools first: that is where the LP packs gangs fractionally) until
    `deadline`; the rest keep D_p, as do pools whose sub-MIP would have more than `max_binaries`
    columns (at prices far from the LP's, lambda leaves most options in; HiGHS would not bound
    them in time)."""
    P = len(supply.chips)
    f = supply.reserve_fraction
    mu = np.maximum(mu, supply.marginal_cost())
    br = bid_response(mu, opts, np.arange(opts.n), f)
    lam = np.zeros(len(scenario.bids))
    lam[opts.bid[br.option]] = br.reduced_usd
    diff = mu[:, :, None] - supply.cost_usd_per_chip_interval[:, None, :]
    sell = (diff > 0) & supply.available[:, :, None]
    side = (np.where(sell, diff, 0.0) * supply.chips[:, None, :]).sum(axis=(1, 2))  # D_p per pool
    dual = float(lam.sum() + side.sum())
    out = PartialPoolBound(dual, dual, pools_total=int((side > 0).sum()))
    min_cost = np.where(supply.chips > 0, supply.cost_usd_per_chip_interval, np.inf).min(axis=1)
    by_pool = np.argsort(opts.pool, kind="stable")
    pool_at = np.searchsorted(opts.pool[by_pool], np.arange(P + 1))
    gain = 0.0
    for p in np.argsort(-side, kind="stable").tolist():
        if side[p] <= 0 or time.perf_counter() >= deadline:
            break
        o = _pool_options(opts, by_pool, pool_at, p, lam, float(min_cost[p]), f)
        if int((opts.start_hi[o] - opts.start_lo[o] + 1).sum()) > max_binaries:
            continue
        res = pool_subproblem(scenario, opts, supply, o, lam,
                              min(sub_time_limit_s, max(0.05, deadline - time.perf_counter())), threads=threads,
                              lp_fallback=False)
        if res is None:
            continue  # keep D_p
        gain += max(0.0, float(side[p]) - res[0])
        out.pools_solved += 1
        out.schedules[p] = res[1]
    out.upper_bound_usd = dual - gain
    log.debug("pool bound at prices: D %.0f -> %.0f (%d of %d pools)", dual, out.upper_bound_usd, out.pools_solved,
              out.pools_total)
    return out

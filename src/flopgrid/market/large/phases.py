"""`solve_large`: the large-market phases (see `flopgrid.market.large`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.market import highs_backend
from flopgrid.market.columns import enumerate_options
from flopgrid.market.heuristic import with_supply
from flopgrid.market.lagrangian import Supply
from flopgrid.market.large.bound import column_generation, lbfgs, seed_columns
from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.pool_bound import PoolBound, pool_lagrangian
from flopgrid.market.model_build import MarketModel, model_from_candidates
from flopgrid.market.neighbourhood import Allocation, improve, welfare_usd
from flopgrid.market.orders import Scenario
from flopgrid.market.primal import capacity_greedy
from flopgrid.market.valuation import Valuer

log = logging.getLogger(__name__)


@dataclass
class LargeOutcome:
    model: MarketModel  # the allocation's own columns (prices come from its fixed-integer LP)
    outcome: highs_backend.SolveOutcome
    upper_bound_usd: float
    seconds: dict[str, float] = field(default_factory=dict)  # per phase
    info: dict[str, int] = field(default_factory=dict)


def solve_large(scenario: Scenario, valuer: Valuer, time_limit_s: float | None = None, mip_gap: float = 1e-3,
                config: LargeConfig | None = None) -> LargeOutcome | None:
    """Clear `scenario` by the large-market phases; None when no bid has a feasible option.
    Without a time limit every phase runs to its own stopping rule (column generation to the
    LP bound, the neighbourhood search to a sweep without improvement)."""
    cfg = config or LargeConfig()
    t0 = time.perf_counter()
    at = (lambda share: np.inf) if time_limit_s is None else (lambda share: t0 + share * time_limit_s)
    opts = enumerate_options(scenario, valuer)
    t_opts = time.perf_counter() - t0
    if opts.n == 0:
        return None
    f = scenario.reserve.fraction
    supply = Supply.of(scenario)
    B = len(scenario.bids)
    mu0 = supply.marginal_cost()

    t1 = time.perf_counter()
    greedy0 = Allocation.of(B, *capacity_greedy(opts, supply, mu0, f))
    cols = [np.r_[a, b] for a, b in zip(seed_columns(opts, mu0, f, cfg.options_per_bid, cfg.starts_per_option),
                                         greedy0.columns())]
    bound = column_generation(scenario, opts, supply, tuple(cols), cfg, t0, time_limit_s)
    if not bound.converged and time.perf_counter() < at(cfg.lbfgs_until):
        bound = lbfgs(opts, supply, bound, at(cfg.lbfgs_until))
    ub = bound.upper_bound_usd
    pb = None
    if cfg.pool_bound and bound.lam is not None and time.perf_counter() < at(cfg.pool_bound_until):
        pb = pool_lagrangian(scenario, opts, supply, bound.lam, at(cfg.pool_bound_until),
                             target_usd=welfare_usd(greedy0, supply, opts.bid_len),
                             sub_time_limit_s=cfg.pool_sub_time_limit_s)
        ub = min(ub, pb.upper_bound_usd)
    t_bound = time.perf_counter() - t1

    t2 = time.perf_counter()
    alloc = Allocation.of(B, *capacity_greedy(opts, supply, bound.mu, f, deadline=at(cfg.improve_until)))
    candidates = [alloc, greedy0]
    if pb is not None and pb.schedules:
        candidates.append(repair(pb, opts, supply, B))
    alloc = max(candidates, key=lambda a: welfare_usd(a, supply, opts.bid_len))
    w_greedy = welfare_usd(alloc, supply, opts.bid_len)
    t_greedy = time.perf_counter() - t2

    t3 = time.perf_counter()
    deadline = at(cfg.improve_until)
    if time_limit_s is None:
        deadline = time.perf_counter() + 3600.0  # the search stops itself after a sweep without gain
    alloc, stats = improve(scenario, opts, supply, alloc, bound.mu, deadline,
                           pools_per_neighbourhood=cfg.pools_per_neighbourhood, new_bids_per_pool=cfg.new_bids_per_pool,
                           sub_time_limit_s=cfg.sub_time_limit_s, max_binaries=cfg.max_sub_binaries, threads=cfg.threads)
    t_improve = time.perf_counter() - t3
    w = welfare_usd(alloc, supply, opts.bid_len)
    log.debug("bound %.0f (rounds %d, converged %s); greedy %.0f; improved %.0f (%d neighbourhoods)",
              bound.upper_bound_usd, bound.rounds, bound.converged, w_greedy, w, stats.neighbourhoods)

    cb, cp, cg, cs, cv = alloc.columns()
    model = model_from_candidates(scenario, cb, cp, cg, cs, cv, opts.reasons)
    x = with_supply(model, np.r_[np.ones(model.n_x), np.zeros(model.n_cols - model.n_x)])
    outcome = highs_backend.SolveOutcome("time_limit", x, float(model.col_cost @ x), None, t_improve,
                                         "large-market path: greedy + neighbourhood search")
    return LargeOutcome(model, outcome, float(ub),
                        {"valuation": opts.valuation_s, "options": t_opts - opts.valuation_s,
                         "bound": t_bound - bound.master_lp_s, "master_lp": bound.master_lp_s, "greedy": t_greedy,
                         "solve": t_improve},  # greedy + neighbourhood search
                        {"options": opts.n, "rounds": bound.rounds, "lbfgs_evaluations": bound.lbfgs_evaluations,
                         "perf_calls": opts.perf_calls, "neighbourhoods": stats.neighbourhoods,
                         "improved_neighbourhoods": stats.improved, "greedy_welfare_usd": int(w_greedy),
                         "master_lp_usd": int(bound.master_lp_usd), "lp_bound_usd": int(bound.upper_bound_usd),
                         "pool_bound_rounds": pb.rounds if pb else 0})


def repair(pb: PoolBound, opts, supply: Supply, n_bids: int) -> Allocation:
    """A feasible allocation from the pool sub-MIPs' schedules: each is feasible on its own
    pool; a bid scheduled on several pools keeps the one where its value is highest (removing
    a gang from a pool only frees capacity)."""
    rows = [np.c_[b, np.full(len(b), p), g, s, v] for p, (b, g, s, v) in pb.schedules.items() if len(b)]
    if not rows:
        return Allocation.empty(n_bids)
    a = np.concatenate(rows)
    a = a[np.lexsort((-a[:, 4], a[:, 0]))]
    _, first = np.unique(a[:, 0], return_index=True)
    a = a[first]
    return Allocation.of(n_bids, a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2].astype(np.int64),
                         a[:, 3].astype(np.int64), a[:, 4])

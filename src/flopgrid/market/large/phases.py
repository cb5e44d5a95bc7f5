"""`solve_large`: the large-market phases (see `flopgrid.market.large`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.market.formulation.columns import Columns, enumerate_options
from flopgrid.market.formulation.model import MarketModel, model_from_candidates
from flopgrid.market.large.bound import (
    Bound,
    column_generation,
    lbfgs,
    master_pricing,
    restricted_master,
    seed_columns,
)
from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.dive import lp_dive
from flopgrid.market.large.greedy import capacity_greedy
from flopgrid.market.large.lagrangian import Supply
from flopgrid.market.large.neighbourhood import Allocation, improve, welfare_usd
from flopgrid.market.large.pool_bound import pool_bound_at_prices, pool_lagrangian
from flopgrid.market.large.repair import adopt_schedules, fill
from flopgrid.market.large.smooth import smoothed_bound
from flopgrid.market.orders import Scenario
from flopgrid.market.solve import highs
from flopgrid.market.solve.greedy import with_supply
from flopgrid.market.valuation import Valuer

log = logging.getLogger(__name__)


@dataclass
class LargeOutcome:
    model: MarketModel  # the allocation's own columns (prices come from its fixed-integer LP)
    outcome: highs.SolveOutcome
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
    sb, greedy0 = None, None
    smooth = cfg.smooth and opts.n <= cfg.smooth_max_options
    if opts.n >= cfg.smooth_min_options:  # column generation would not converge in time
        bound = Bound(np.inf, mu0, 0.0)
    else:
        # the greedy allocation among the seed columns: the master LP starts at least at a
        # feasible allocation's welfare, so its first duals price a congested market
        greedy0 = Allocation.of(B, capacity_greedy(opts, supply, mu0, f))
        seed = seed_columns(opts, mu0, f, cfg.options_per_bid, cfg.starts_per_option).union(greedy0.columns())
        bound = column_generation(scenario, opts, supply, seed, cfg, t0, time_limit_s)
    far = not np.isfinite(bound.upper_bound_usd) or \
        bound.upper_bound_usd - bound.master_lp_usd > cfg.lbfgs_min_gap * abs(bound.upper_bound_usd)
    if not bound.converged and far and time.perf_counter() < at(cfg.lbfgs_until):
        if smooth:
            sb = smoothed_bound(opts, supply, bound.mu, at(cfg.lbfgs_until), tau_share=cfg.smooth_tau_share,
                                tau_decay=cfg.smooth_tau_decay, min_tau_share=cfg.smooth_min_tau_share,
                                stage_evaluations=cfg.smooth_stage_evaluations,
                                known_bound_usd=bound.upper_bound_usd)
            bound.upper_bound_usd, bound.mu = sb.upper_bound_usd, sb.mu
            bound.lbfgs_evaluations = sb.evaluations
        else:
            bound = lbfgs(opts, supply, bound, at(cfg.lbfgs_until), cfg.lbfgs_stall_evaluations, cfg.lbfgs_stall_tol)
    t_bound = time.perf_counter() - t1

    improve_end = at(cfg.improve_until)
    if time_limit_s is not None:  # the search may run until pricing and assembly need the rest
        improve_end = max(improve_end, t0 + time_limit_s - cfg.pricing_reserve_s - cfg.pricing_reserve_s_per_bid * B)
    t2 = time.perf_counter()
    orders = ("reduced", "density") if opts.n <= cfg.greedy_both_orders_max_options else ("reduced",)
    candidates = [Allocation.of(B, capacity_greedy(opts, supply, bound.mu, f, deadline=improve_end, bid_order_by=o))
                  for o in orders] + ([greedy0] if greedy0 is not None else [])
    welfares = [welfare_usd(a, supply, opts.bid_len) for a in candidates]
    best = int(np.argmax(welfares))  # the first of equals: the bound's prices before the cheapest-step ones
    alloc, w_greedy = candidates[best], welfares[best]
    t_greedy = time.perf_counter() - t2

    # the dive only where the bound reached the LP bound: column generation converged, or the
    # smoothed dual settled (measured at 3,000 x 300 and 10,000 x 1,000 before the smoothed
    # dual, where column generation does not converge in 60 s: the dive, cut short, did worse
    # than the neighbourhood search given the same time, 15.6% vs 14.6% and 28.3% vs 21.3%
    # gap; with the smoothed dual's master at 3,000 x 300 it lifts the greedy 1.613M -> 1.647M
    # in 12 s and the gap ends at 10.3% against 12.7% without it). The pool bound at prices
    # only after column generation (at the smoothed dual's prices at 3,000 x 300 it solved 0
    # pools in 33 s)
    near_lp = bound.upper_bound_usd - bound.master_lp_usd <= cfg.lbfgs_min_gap * abs(bound.upper_bound_usd)
    settled = near_lp or (sb is not None and sb.converged)  # the prices are (about) the LP's
    t_dive, w_dive = time.perf_counter(), 0.0
    if cfg.dive and settled and not near_lp and sb is not None and sb.pairs is not None:
        # column generation skipped or short of the LP: the master of the (option, start)
        # pairs the smoothed dual weighs, plus the allocation's columns, for the dive
        p, keep = sb.pairs, sb.pi > cfg.smooth_master_weight
        cols = Columns(p.bid[keep], opts.pool[p.option[keep]], opts.chips[p.option[keep]], p.start[keep],
                       p.value_usd[keep]).union(alloc.columns())
        bound.master, bound.master_columns = restricted_master(scenario, opts, supply, cols), cols
    if cfg.dive and settled and bound.master is not None and bound.master_columns is not None:
        end = min(improve_end, time.perf_counter() + cfg.dive_share * time_limit_s) if time_limit_s is not None \
            else np.inf
        dived, _ = lp_dive(bound.master, bound.master_columns, opts, supply, B, end,
                           batch_share=cfg.dive_batch_share, price=master_pricing(bound, opts, supply))
        fill(dived, opts, supply, bound.mu)
        w_dive = welfare_usd(dived, supply, opts.bid_len)
        if w_dive > welfare_usd(alloc, supply, opts.bid_len):
            alloc = dived
    t_dive = time.perf_counter() - t_dive

    # the pool bound only where one round fits (measured: ~2 s at 10 pools, > 50 s at 100)
    use_pool = cfg.pool_bound and bound.lam is not None and len(scenario.pools) <= cfg.pool_bound_max_pools
    t_pp, pp, adopted = time.perf_counter(), None, 0
    if not use_pool and cfg.prices_pool_bound and near_lp:
        # larger markets: the anytime pool bound at the bound's prices (far from the LP's
        # prices lambda leaves most options in every pool's sub-MIP)
        end = (time.perf_counter() + cfg.prices_pool_bound_share * time_limit_s if time_limit_s is not None
               else np.inf)
        pp = pool_bound_at_prices(scenario, opts, supply, bound.mu, min(end, improve_end),
                                  sub_time_limit_s=cfg.prices_pool_sub_time_limit_s,
                                  max_binaries=cfg.prices_pool_max_binaries, threads=cfg.threads)
        alloc, adopted = adopt_schedules(alloc, pp.schedules, opts, supply, bound.mu, improve_end)
    t_pp = time.perf_counter() - t_pp
    t3 = time.perf_counter()
    deadline = at(cfg.improve_until_with_pool_bound) if use_pool else improve_end
    if time_limit_s is None:
        deadline = time.perf_counter() + 3600.0  # the search stops itself after a sweep without gain
    alloc, stats = improve(scenario, opts, supply, alloc, bound.mu, deadline,
                           pools_per_neighbourhood=cfg.pools_per_neighbourhood,
                           max_pools_per_neighbourhood=cfg.max_pools_per_neighbourhood,
                           new_bids_per_pool=cfg.new_bids_per_pool,
                           sub_time_limit_s=cfg.sub_time_limit_s, max_binaries=cfg.max_sub_binaries, threads=cfg.threads)
    t_improve = time.perf_counter() - t3
    w = welfare_usd(alloc, supply, opts.bid_len)

    t4 = time.perf_counter()
    ub, pb = bound.upper_bound_usd, None
    if pp is not None:
        ub = min(ub, pp.upper_bound_usd)
    if use_pool and (ub - w) > mip_gap * abs(ub):
        end = at(cfg.pool_bound_until) if time_limit_s is not None else time.perf_counter() + 3600.0
        pb = pool_lagrangian(scenario, opts, supply, bound.lam, end, target_usd=w,
                             sub_time_limit_s=cfg.pool_sub_time_limit_s, stop_gap=mip_gap)
        ub = min(ub, pb.upper_bound_usd)
    t_pool = time.perf_counter() - t4
    log.debug("LP bound %.0f (rounds %d, converged %s); greedy %.0f; improved %.0f (%d neighbourhoods); bound %.0f",
              bound.upper_bound_usd, bound.rounds, bound.converged, w_greedy, w, stats.neighbourhoods, ub)

    model = model_from_candidates(scenario, alloc.columns(), opts.reasons)
    x = with_supply(model, np.r_[np.ones(model.n_x), np.zeros(model.n_cols - model.n_x)])
    outcome = highs.SolveOutcome("time_limit", x, float(model.col_cost @ x), None, t_improve,
                                         "large-market path: greedy + neighbourhood search")
    return LargeOutcome(model, outcome, float(ub),
                        {"valuation": opts.valuation_s, "options": t_opts - opts.valuation_s,
                         "bound": t_bound - bound.master_lp_s, "master_lp": bound.master_lp_s, "greedy": t_greedy, "dive": t_dive,
                         "pool_bound": t_pool + t_pp,
                         "solve": t_improve},  # greedy + neighbourhood search
                        {"options": opts.n, "rounds": bound.rounds, "lbfgs_evaluations": bound.lbfgs_evaluations,
                         "perf_calls": opts.perf_calls, "neighbourhoods": stats.neighbourhoods,
                         "improved_neighbourhoods": stats.improved, "greedy_welfare_usd": int(w_greedy), "dive_welfare_usd": int(w_dive),
                         "master_lp_usd": int(bound.master_lp_usd), "lp_bound_usd": int(bound.upper_bound_usd),
                         "pool_bound_rounds": pb.rounds if pb else 0,
                         "prices_pool_bound_pools": pp.pools_solved if pp else 0,
                         "prices_pool_bound_usd": int(pp.upper_bound_usd) if pp else 0, "schedules_adopted": adopted})


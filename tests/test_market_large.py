"""The large-market path's pieces against independent truth: the pool Lagrangian bound
(bid rows relaxed, one HiGHS sub-MIP per pool) is never below the brute-force optimum at
any multipliers, is at least as tight as the LP bound at the master LP's duals on generated
markets; so is the anytime pool bound at capacity prices (any prices, any subset of pools
solved); the path for markets above `pool_bound_max_pools` (that bound + adopted schedules)
stays feasible and under its bound; and the candidate cap (`max_pools_per_bid`) keeps at
most N pools per (bid, gang); the capacity greedy is feasible in either bid order, and the
orders differ as computed by hand on one pool."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_market_bruteforce import brute_force_welfare, small_scenarios
from test_market_decomposition import check_valid

from flopgrid.market import Valuer, clear, generate_scenario, parse_scenario
from flopgrid.market.formulation.columns import enumerate_options
from flopgrid.market.formulation.model import build_model
from flopgrid.market.large import solve_large
from flopgrid.market.large.bound import column_generation, master_pricing, seed_columns
from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.dive import lp_dive
from flopgrid.market.large.greedy import capacity_greedy
from flopgrid.market.large.lagrangian import Supply, dual_value
from flopgrid.market.large.neighbourhood import Allocation, demand_chips, welfare_usd
from flopgrid.market.large.pool_bound import pool_bound_at_prices, pool_lagrangian

TOL_USD = 1e-6


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.integers(0, 2**31 - 1))
def test_pool_bound_is_an_upper_bound_at_any_multipliers(sc, seed):
    truth = brute_force_welfare(sc)
    scenario = parse_scenario(sc)
    opts = enumerate_options(scenario, Valuer(scenario.horizon.interval_hours))
    if not opts.n:
        return
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0, 50, len(scenario.bids)) * rng.integers(0, 2, len(scenario.bids))
    pb = pool_lagrangian(scenario, opts, Supply.of(scenario), lam, time.perf_counter() + 60, max_rounds=3)
    assert pb.rounds >= 1
    assert pb.upper_bound_usd >= truth - TOL_USD


def random_prices_case(sc: dict, seed: int):
    """(brute-force optimum, scenario, options, supply, random capacity prices mu >= 0, about
    half of them 0) of a small market, or None when no bid has an option."""
    truth = brute_force_welfare(sc)
    scenario = parse_scenario(sc)
    opts = enumerate_options(scenario, Valuer(scenario.horizon.interval_hours))
    if not opts.n:
        return None
    supply = Supply.of(scenario)
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0, 5, supply.available.shape) * rng.integers(0, 2, supply.available.shape)
    return truth, scenario, opts, supply, mu

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.integers(0, 2**31 - 1), st.sampled_from([0.0, 1e-3, 60.0]))
def test_pool_bound_at_prices_is_an_upper_bound_at_any_prices(sc, seed, budget_s):
    """Any capacity prices mu >= 0, any subset of pools solved (a budget of 0 solves none, 1 ms
    some): the bound stays >= the brute-force optimum and <= D(mu)."""
    case = random_prices_case(sc, seed)
    if case is None:
        return
    truth, scenario, opts, supply, mu = case
    pb = pool_bound_at_prices(scenario, opts, supply, mu, time.perf_counter() + budget_s)
    d = dual_value(mu, opts, np.arange(opts.n), supply)[0]
    assert pb.dual_usd == pytest.approx(d, rel=1e-9, abs=1e-6)
    assert truth - TOL_USD <= pb.upper_bound_usd <= d + TOL_USD


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_large_market_phases_stay_feasible_and_under_their_bound(sc):
    """The phases that markets above `pool_bound_max_pools` run (anytime pool bound, adopted
    schedules, neighbourhood search), forced on small markets: welfare <= optimum <= bound."""
    truth = brute_force_welfare(sc)
    scenario = parse_scenario(sc)
    out = solve_large(scenario, Valuer(scenario.horizon.interval_hours), None, 1e-9,
                      LargeConfig(pool_bound_max_pools=0))
    if out is None:
        return
    assert out.model.welfare_usd(out.outcome.col_value) <= truth + TOL_USD
    assert out.upper_bound_usd >= truth - TOL_USD


def test_pool_bound_is_tighter_than_the_lp_bound_on_lumpy_markets():
    """60 bids x 10 pools x 12 intervals (gangs large relative to pools): measured LP bound
    5-12% above the exact optimum; the pool bound from the master LP's duals is never above
    the LP bound and still at least the optimum."""
    for seed in (4, 5):
        scenario = parse_scenario(generate_scenario(10, 60, 12, seed=seed))
        exact = clear(scenario, mip_gap=1e-7, time_limit_s=60, method="exact")
        assert exact.status == "optimal"
        opts = enumerate_options(scenario, Valuer(1.0))
        supply = Supply.of(scenario)
        bd = column_generation(scenario, opts, supply, seed_columns(opts, supply.marginal_cost(), 0.05, 2, 2),
                               LargeConfig(), time.perf_counter(), None)
        assert bd.converged and bd.upper_bound_usd >= exact.welfare_usd - TOL_USD
        pb = pool_lagrangian(scenario, opts, supply, bd.lam, time.perf_counter() + 60, target_usd=exact.welfare_usd,
                             max_rounds=4)
        assert exact.welfare_usd - TOL_USD <= pb.upper_bound_usd <= bd.upper_bound_usd * (1 + 1e-9)
        assert pb.upper_bound_usd < bd.upper_bound_usd - 0.01 * exact.welfare_usd  # strictly tighter here
        pp = pool_bound_at_prices(scenario, opts, supply, bd.mu, time.perf_counter() + 60, sub_time_limit_s=5.0)
        assert exact.welfare_usd - TOL_USD <= pp.upper_bound_usd < bd.upper_bound_usd - 0.01 * exact.welfare_usd
        # the LP dive on the same master: every column an enumerated option at a start in its
        # range, capacity with reserve held in every (pool, interval), welfare <= the optimum
        dived, solves = lp_dive(bd.master, bd.master_columns, opts, supply, len(scenario.bids), time.perf_counter() + 60,
                                price=master_pricing(bd, opts, supply))
        assert solves >= 1 and (dived.pool >= 0).any()
        ranges = {(b, p, g): (lo, hi) for b, p, g, lo, hi in zip(opts.bid.tolist(), opts.pool.tolist(),
                                                               opts.chips.tolist(), opts.start_lo.tolist(),
                                                               opts.start_hi.tolist())}
        for b, p, g, s in dived.columns().keys():
            lo, hi = ranges[(b, p, g)]
            assert lo <= s <= hi
        used = (1 + scenario.reserve.fraction) * demand_chips(dived, opts.bid_len, supply.available.shape)
        assert np.all(used <= supply.chips.sum(axis=1)[:, None] + 1e-9)
        assert welfare_usd(dived, supply, opts.bid_len) <= exact.welfare_usd + TOL_USD


def test_max_pools_per_bid_keeps_the_best_pools_per_gang():
    sc = generate_scenario(8, 30, 6, seed=3)
    scenario = parse_scenario(sc)
    full = build_model(scenario, Valuer(1.0))
    capped = build_model(scenario, Valuer(1.0), max_pools_per_bid=1)
    per = {}
    for b, p, g in zip(capped.cand_bid.tolist(), capped.cand_pool.tolist(), capped.cand_chips.tolist()):
        per.setdefault((b, g), set()).add(p)
    assert per and all(len(v) == 1 for v in per.values())
    assert {(b, g) for b, g in zip(full.cand_bid.tolist(), full.cand_chips.tolist())} == set(per)
    r = clear(scenario, max_pools_per_bid=1)
    check_valid(sc, r)
    assert r.welfare_usd <= clear(scenario).welfare_usd + TOL_USD


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.sampled_from(["reduced", "density"]), st.integers(1, 300))
def test_capacity_greedy_is_feasible_in_either_bid_order(sc, bid_order_by, options_per_bid):
    """The greedy's allocation, in either bid order and with any number of options per bid:
    at most one column per bid, every pool's chips within its offer (reserve included) in
    every interval, welfare at most the brute-force optimum."""
    scenario = parse_scenario(sc)
    opts = enumerate_options(scenario, Valuer(scenario.horizon.interval_hours))
    if opts.n == 0:
        return
    supply = Supply.of(scenario)
    f = scenario.reserve.fraction
    cols = capacity_greedy(opts, supply, supply.marginal_cost(), f, options_per_bid=options_per_bid,
                           bid_order_by=bid_order_by)
    assert len(np.unique(cols.bid)) == len(cols)
    alloc = Allocation.of(len(scenario.bids), cols)
    need = (1.0 + f) * demand_chips(alloc, opts.bid_len, supply.available.shape)
    assert np.all(need <= supply.chips.sum(axis=1)[:, None] + 1e-9)
    assert np.all(need[~supply.available] <= 1e-9)
    assert welfare_usd(alloc, supply, opts.bid_len) <= brute_force_welfare(sc) + TOL_USD


def _one_pool_two_bids() -> dict:
    """16 chips for one hour at $1; bid big: 16 chips worth $9 a chip-hour ($144), bid small:
    8 chips worth $12 a chip-hour ($96)."""
    pool = {"id": "p0", "provider": "prov", "hardware": "h100-sxm", "chips": 16, "island_chips": 16,
            "region": "us-east", "offer": [{"chips": 16, "price_per_chip_hour": 1.0}]}
    bids = [{"id": n, "buyer": n, "model": "llama3-8b", "chips": [c], "intervals": 1, "window": [0, 1],
             "max_price_per_chip_hour": v} for n, c, v in (("big", 16, 9.0), ("small", 8, 12.0))]
    return {"horizon": {"intervals": 1, "interval_minutes": 60}, "pools": [pool], "bids": bids,
            "reserve": {"fraction": 0.0}}


def test_capacity_greedy_bid_orders_by_hand():
    """By hand, at the cheapest-step price ($1): reduced values big 144 - 16 = 128, small 96 - 8
    = 88; per chip-hour 8 and 11. By reduced value the big gang goes first and fills the pool
    (welfare 128); by density the small one goes first and the big one no longer fits (88)."""
    scenario = parse_scenario(_one_pool_two_bids())
    opts = enumerate_options(scenario, Valuer(scenario.horizon.interval_hours))
    supply = Supply.of(scenario)
    for order, bid, welfare in (("reduced", 0, 128.0), ("density", 1, 88.0)):
        cols = capacity_greedy(opts, supply, supply.marginal_cost(), 0.0, bid_order_by=order)
        assert cols.bid.tolist() == [bid]
        assert welfare_usd(Allocation.of(2, cols), supply, opts.bid_len) == pytest.approx(welfare)
    with pytest.raises(ValueError, match="bid_order_by 'value'"):
        capacity_greedy(opts, supply, supply.marginal_cost(), 0.0, bid_order_by="value")

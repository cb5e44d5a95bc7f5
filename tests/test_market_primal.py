"""The large-market primal heuristic (`flopgrid.market.large.greedy.capacity_greedy`) and the
Polyak bound-tightening of `decomposition`: the heuristic's allocation is feasible (checked
from the raw orders) and never above the brute-force optimum; with a time limit (Polyak
steps on) the reported bound still holds and the gap is still honest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from market_truth import step_cost
from test_market_bruteforce import brute_force_welfare, small_scenarios
from test_market_decomposition import check_valid

from flopgrid.market import clear, parse_scenario
from flopgrid.market.formulation.columns import enumerate_options
from flopgrid.market.generate import generate_scenario
from flopgrid.market.large.greedy import capacity_greedy
from flopgrid.market.large.lagrangian import Supply
from flopgrid.market.valuation import Valuer


def heuristic_welfare(sc: dict, seed: int = 0, cheapest: bool = False) -> float:
    """Run capacity_greedy at random prices (or the cheapest-step prices); check feasibility and recompute its welfare from
    the raw orders (value from its own columns, offer cost cheapest steps first)."""
    scenario = parse_scenario(sc)
    opts = enumerate_options(scenario, Valuer(scenario.horizon.interval_hours))
    if not opts.n:
        return 0.0
    supply = Supply.of(scenario)
    mu = supply.marginal_cost() if cheapest else np.random.default_rng(seed).uniform(0, 3, supply.available.shape)
    c = capacity_greedy(opts, supply, mu, scenario.reserve.fraction)
    b, p, g, s, v = c.bid, c.pool, c.chips, c.start, c.value_usd
    assert len(set(b.tolist())) == len(b)
    f, h = sc["reserve"]["fraction"], scenario.horizon.interval_hours
    used: dict[tuple[int, int], float] = {}
    for bi, pi, gi, si in zip(b.tolist(), p.tolist(), g.tolist(), s.tolist()):
        bid, pool = sc["bids"][bi], sc["pools"][pi]
        assert gi in bid["chips"] and gi <= pool["island_chips"]
        assert bid["window"][0] <= si and si + bid["intervals"] <= bid["window"][1]
        first, last = pool.get("available", [0, sc["horizon"]["intervals"] - 1])
        assert first <= si and si + bid["intervals"] - 1 <= last
        for t in range(si, si + bid["intervals"]):
            used[(pi, t)] = used.get((pi, t), 0.0) + (1 + f) * gi
    cost = sum(step_cost(sc["pools"][pi]["offer"], q) * h for (pi, _t), q in used.items())
    return float(v.sum()) - cost


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_heuristic_feasible_and_bound_holds_with_polyak(sc):
    truth = brute_force_welfare(sc)
    w = heuristic_welfare(sc)
    assert 0.0 <= w <= truth + 1e-6  # takes only options with positive incremental surplus
    r = clear(parse_scenario(sc), mip_gap=1e-9, time_limit_s=1.0, method="decomposition")
    check_valid(sc, r)
    assert r.welfare_usd <= truth + 1e-6
    if r.allocations:
        assert r.upper_bound_usd >= truth - 1e-6  # Polyak steps keep it a true upper bound
        assert r.gap == pytest.approx((r.upper_bound_usd - r.welfare_usd) / r.upper_bound_usd, abs=1e-12)


def test_heuristic_on_a_generated_market_is_close_to_the_exact_optimum():
    """60 bids x 10 pools x 12 intervals: the heuristic alone (at the cheapest-step prices)
    gets within 15% of the exact MILP welfare (94.7% when written; 89.96% since the perf model of issue 14
    revalued the gangs: it is only the large path's seed); decomposition stays valid and within 10%."""
    sc = generate_scenario(10, 60, 12, seed=5)
    scenario = parse_scenario(sc)
    exact = clear(scenario, mip_gap=1e-7, time_limit_s=30, method="exact")
    assert exact.status == "optimal"
    w = heuristic_welfare(sc, cheapest=True)
    assert 0.85 * exact.welfare_usd <= w <= exact.welfare_usd + 1e-6
    dec = clear(scenario, mip_gap=1e-7, time_limit_s=3, method="decomposition")
    check_valid(sc, dec)
    assert dec.upper_bound_usd >= exact.welfare_usd * (1 - 1e-9)
    assert dec.welfare_usd >= 0.9 * exact.welfare_usd

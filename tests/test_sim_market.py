"""The `market` policy: real day-ahead clearings (flopgrid.market, HiGHS) inside the simulator.

Hand-checkable cases on two pools where first-fit (fifo) takes pool A, the first in the
fleet: the market must send the job to the pool that delivers more useful FLOPs per dollar
of offer, and follow the price when only the price differs.
"""

from __future__ import annotations

import pytest

from flopgrid.sim import FleetSpec, PoolSpec, RateTable, simulate
from flopgrid.sim.jobs import COMPLETED, JobSpec
from flopgrid.sim.policies.market import Market, offer_price_per_chip_hour, unit_draw

SLOW = {"scale_up_domain": 2, "scale_out_bytes_per_s": 25e9 / 8}  # PCIe pairs, 25 Gb/s
FAST = {"scale_up_domain": 8, "scale_out_bytes_per_s": 100e9 / 8}  # NVLink nodes, 100 Gb/s
JOB = JobSpec(id="j", submit_s=0.0, chips=32, model="mpt-1b", duration_s=3600.0)


def _fleet(fab_a, fab_b, price_a, price_b):
    return FleetSpec(name="two", pools=(
        PoolSpec(id="a", hardware="v100-sxm", chips=64, cluster=fab_a, price_per_chip_hour=price_a),
        PoolSpec(id="b", hardware="v100-sxm", chips=64, cluster=fab_b, price_per_chip_hour=price_b),
    ))


def _pool_run(fleet, policy):
    m, sim = simulate(fleet, [JOB], policy, failures=False, rates=RateTable(fleet))
    assert sim.jobs[0].state == COMPLETED
    return sim.jobs[0].pool, sim.jobs[0].gang


def test_market_sends_the_job_where_it_delivers_more_useful_flops_per_dollar():
    fleet = _fleet(SLOW, FAST, 0.5, 0.5)
    r = RateTable(fleet)
    # independent truth: same chips and price, the fast fabric reaches a higher MFU at 32 chips
    per_usd = [r.rate_flop_s("mpt-1b", p, 32) / 0.5 for p in (0, 1)]
    assert per_usd[1] > 1.1 * per_usd[0]
    assert _pool_run(fleet, "fifo") == (0, 32)  # first fit: the slow pool
    assert _pool_run(fleet, "market") == (1, 32)


@pytest.mark.parametrize(("price_a", "price_b", "expected"), [(1.0, 0.5, 1), (0.5, 1.0, 0)])
def test_market_follows_the_price_on_identical_pools(price_a, price_b, expected):
    fleet = _fleet(FAST, FAST, price_a, price_b)
    r = RateTable(fleet)
    assert r.rate_flop_s("mpt-1b", 0, 32) == r.rate_flop_s("mpt-1b", 1, 32)  # same delivery: only price differs
    assert _pool_run(fleet, "market") == (expected, 32)


def test_job_waits_for_the_next_epoch_and_epochs_are_periodic():
    fleet = _fleet(FAST, FAST, 0.5, 0.5)
    late = JobSpec(id="k", submit_s=100.0, chips=8, model="gpt2-124m", duration_s=600.0)
    pol = Market(epoch_s=300.0)
    from flopgrid.sim import Simulation

    sim = Simulation(fleet, [JOB, late], pol, failures=False, rates=RateTable(fleet)).run()
    # epochs at 0, 300, ...: the job submitted at 100 s starts at the 300 s clearing
    assert sim.jobs[1].first_start_s == pytest.approx(300.0)
    assert [c["t_s"] for c in pol.clearings] == [0.0, 300.0]
    assert all(c["status"] == "optimal" for c in pol.clearings)


def test_bid_price_rule_is_documented_and_deterministic():
    fleet = _fleet(FAST, FAST, 0.5, 0.5)
    pol = Market(markup=(1.25, 2.5), aging_h=2.0)
    from flopgrid.sim import Simulation

    sim = Simulation(fleet, [JOB], pol, failures=False, rates=RateTable(fleet))
    pol.setup(sim)
    job = sim.jobs[0]
    # cheapest cost per useful EFLOP by hand: $0.5 per chip-hour / (useful EFLOP per chip-hour)
    eflop_per_chip_h = RateTable(fleet).rate_flop_s("mpt-1b", 0, 32) / 32 * 3600 / 1e18
    cost = 0.5 / eflop_per_chip_h
    assert pol.best_cost_per_eflop(sim, job) == pytest.approx(cost)
    u = unit_draw(0, "j")
    assert 0 <= u < 1 and u == unit_draw(0, "j") != unit_draw(1, "j")
    assert pol.bid_price_per_eflop(sim, job) == pytest.approx(cost * (1.25 + 1.25 * u))
    sim.now = 2 * 3600.0  # two hours of waiting double the aging factor
    assert pol.bid_price_per_eflop(sim, job) == pytest.approx(cost * (1.25 + 1.25 * u) * 2.0)


def test_offer_price_defaults():
    assert offer_price_per_chip_hour(PoolSpec(id="h", hardware="h100", chips=8)) == 1.9  # bottom of the range
    assert offer_price_per_chip_hour(PoolSpec(id="v", hardware="v100-sxm", chips=8)) == 0.5  # fallback table
    assert offer_price_per_chip_hour(PoolSpec(id="x", hardware="h100", chips=8, price_per_chip_hour=3.0)) == 3.0

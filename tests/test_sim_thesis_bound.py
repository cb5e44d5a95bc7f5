"""The capacity bound of `bench/thesis.py --frontier` (`bench/_thesis_bound.py`): a lower
bound on the buyer dollars any schedule pays for its useful work, so it must never exceed
what a real simulated run paid for the same work, and on one job with chips to spare it is
the job's cheapest option, computed by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from flopgrid.sched import make_policy
from flopgrid.sim import RateTable, Simulation, load_fleet, simulate
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.llm_market import llm_market_jobs

pytest.importorskip("scipy")
_spec = importlib.util.spec_from_file_location("_thesis_bound", Path(__file__).parents[1] / "bench" / "_thesis_bound.py")
bound = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bound)


def test_gangs_are_every_size_a_thesis_policy_holds():
    assert bound.gangs(32) == [8, 16, 32, 64, 128]
    assert bound.gangs(24) == [8, 16, 24, 32, 48, 64, 96]  # starts 24, 16, 8, each doubled up to 96
    assert bound.gangs(1) == [1, 2, 4]


def test_one_job_with_chips_to_spare_costs_its_cheapest_option():
    fleet = load_fleet("grid-mixed")
    rates = RateTable(fleet)
    job = JobSpec(id="j", submit_s=0.0, chips=16, model="mpt-1b", duration_s=3600.0)
    sim = Simulation(fleet, [job], make_policy("fifo"), failures=False, rates=rates).run()  # sets the work
    j = sim.jobs[0]
    asks = [p.price_per_chip_hour for p in sim.pools()]
    by_hand = min(asks[p] * g / (rates.rate_flop_s("mpt-1b", p, g) * 3600 / 1e18)
                  for g in (4, 8, 16, 32, 64) for p in sim.pools_for(j, g) if rates.rate_flop_s("mpt-1b", p, g) > 0)
    w = j.work_flop / 1e18
    assert bound.min_usd([sim], 72.0, w) == pytest.approx(w * by_hand, rel=1e-6)
    assert bound.min_usd([sim], 72.0, 1.01 * w) == float("inf")  # no more work than the job has


@pytest.mark.parametrize("policy", ["fifo", "goodput", "gpuhour", "market"])
def test_no_simulated_run_pays_less_than_the_bound(policy):
    fleet = load_fleet("grid-mixed")
    rates = RateTable(fleet)
    jobs = llm_market_jobs(fleet, 1.3, 0.5, seed=1, rates=rates)
    m, sim = simulate(fleet, jobs, policy, seed=1, rates=rates, horizon_s=12 * 3600.0)
    assert m["useful_eflop"] > 0
    assert bound.min_usd([sim], 12.0, m["useful_eflop"]) <= m["buyer_usd"] * (1 + 1e-6)

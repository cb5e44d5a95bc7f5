"""Policies compared on the eight Pollux workloads (OSDI'21 artifact) on pollux-64.

JCT comes from runs to completion; utilisation and useful EFLOP are measured over the
workloads' 8-hour submission window (every policy gets the same wall time). Means over
workloads 1-8 at the time of writing (`flopgrid.sim` defaults, seed 0, failures on):
avg JCT h fifo 2.53, backfill 1.51, las 0.91, goodput 0.84, market 0.79, gpuhour 0.81;
utilisation (8 h) fifo 0.678, backfill 0.741, las 0.698, goodput 0.865, market 0.865, gpuhour
0.596; useful EFLOP (8 h) fifo 98.2, backfill 107.4, las 96.0, goodput 123.0, market 122.0,
gpuhour 84.7. Per workload, elastic goodput has 0.30-0.70 x fifo's JCT and 7-32% more useful
EFLOP than fifo, backfill and las. The market (event-driven batches of 30 s, elastic, gangs
by surplus per hour, growth counting the restart) is within 15% of goodput's mean JCT and
below backfill's (issue 11).
"""

from __future__ import annotations

import numpy as np
import pytest

from flopgrid.sim import RateTable, load_fleet, load_trace, simulate

POLICIES = ("fifo", "backfill", "las", "goodput", "market", "gpuhour")


@pytest.fixture(scope="module")
def per_workload(shared_dir):
    fleet = load_fleet("pollux-64")
    rates = RateTable(fleet)
    out = {p: {"jct": [], "util": [], "eflop": []} for p in POLICIES}
    for w in range(1, 9):
        jobs = load_trace(shared_dir / f"data/traces/pollux_workloads/workload-{w}.csv").jobs
        assert len(jobs) == 160
        for p in POLICIES:
            full, _ = simulate(fleet, jobs, p, seed=0, rates=rates)
            assert full["completed"] + full["rejected"] == 160
            # only gpuhour buyers refuse (a limit from 40% assumed MFU below the ask), never a scheduler
            assert full["rejected"] == 0 or p == "gpuhour"
            window, _ = simulate(fleet, jobs, p, seed=0, rates=rates, horizon_s=8 * 3600)
            out[p]["jct"].append(full["avg_jct_h"])
            out[p]["util"].append(window["utilization"])
            out[p]["eflop"].append(window["useful_eflop"])
    return {p: {k: np.array(v) for k, v in d.items()} for p, d in out.items()}


@pytest.fixture(scope="module")
def results(per_workload):
    return {p: {k: float(v.mean()) for k, v in d.items()} for p, d in per_workload.items()}


def test_las_and_goodput_beat_fifo_on_average_jct(results):
    fifo = results["fifo"]["jct"]
    assert results["las"]["jct"] < 0.6 * fifo  # Tiresias-style: well below FIFO
    assert results["goodput"]["jct"] < 0.8 * fifo
    assert results["goodput"]["jct"] < 0.5 * fifo  # elastic (Pollux-style): a third of FIFO's


def test_goodput_beats_fifo_on_jct_on_every_workload(per_workload):
    assert np.all(per_workload["goodput"]["jct"] < 0.8 * per_workload["fifo"]["jct"])


def test_backfill_beats_fifo_on_utilisation(results):
    assert results["backfill"]["util"] > results["fifo"]["util"] + 0.03


def test_goodput_delivers_the_most_useful_eflop(results):
    g = results["goodput"]["eflop"]
    assert g > 1.05 * results["fifo"]["eflop"]
    assert g >= max(results[p]["eflop"] for p in POLICIES if p != "goodput")
    assert g > 1.1 * max(results[p]["eflop"] for p in POLICIES if p not in ("goodput", "market"))


def test_goodput_delivers_the_most_useful_eflop_on_every_workload(per_workload):
    g = per_workload["goodput"]["eflop"]
    for p in ("fifo", "backfill", "las"):
        assert np.all(g > 1.05 * per_workload[p]["eflop"]), p
    # the elastic market (surplus-driven gangs, the same 1/4-1x range) delivers goodput's work
    # to within 5% on every workload, either side
    assert np.all(np.abs(per_workload["market"]["eflop"] / g - 1.0) <= 0.05)


def test_market_jct_within_15_percent_of_goodput_and_below_backfill(results):
    assert results["market"]["jct"] <= 1.15 * results["goodput"]["jct"]
    assert results["market"]["jct"] < results["backfill"]["jct"]


def test_market_beats_fifo(results):
    # event-driven clearings fill free chips by bid: shorter JCT and fuller fleet than FIFO
    assert results["market"]["jct"] < 0.8 * results["fifo"]["jct"]
    assert results["market"]["util"] > results["fifo"]["util"] + 0.03
    assert results["market"]["eflop"] > 1.05 * results["fifo"]["eflop"]

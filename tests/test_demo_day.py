"""The demo's pieces without the service: the GPU-hour orders follow the `gpuhour` buyer's rule
(hand-computed limit price, RDMA sites only for multi-node gangs), and the simulated delivery
meters what the simulator did (no failures: nothing lost, nothing charged to the provider;
failures: the outage covers every lost minute and the kept work fits in the rest)."""

from __future__ import annotations

import pytest

from flopgrid.demo import world
from flopgrid.demo.delivery import deliver
from flopgrid.sim.fleet import FleetSpec, PoolSpec
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.throughput import RateTable


@pytest.fixture(scope="module")
def day():
    fleet = world.demo_fleet()
    rates = RateTable(fleet)
    return world.demo_day(6, 0, rates, fleet), rates


def test_gpuhour_orders_follow_the_gpuhour_buyer_rule(day):
    d, rates = day
    pools = {p.id: p for p in d.fleet.pools}
    bids = world.gpuhour_bids(d, rates)
    multi = [j for j in d.jobs if bids[j.id] and j.chips > 8]
    assert multi, "the day has multi-node gangs"
    for j in d.jobs:
        b = bids[j.id]
        if b is None:
            continue
        (hw,) = b["hardware"]
        sites = [pools[s] for s in b["region"]]
        assert sites and all(p.hardware == hw for p in sites) and b["chips"] == [j.chips]
        peak = sites[0].peak_flops_per_chip
        # limit = value per useful EFLOP x the EFLOP a chip delivers per hour at 40% of its dense peak
        assert b["max_price_per_chip_hour"] == pytest.approx(j.value_usd_per_eflop * peak * 0.40 * 3600 / 1e18, abs=1e-6)
        if j.chips > 8:  # RDMA (>= 100 Gb/s per chip) sites whose island holds the gang
            assert all(p.fabric().scale_out_bytes_per_s >= 100e9 / 8 and (p.island_chips or p.chips) >= j.chips
                       for p in sites), (j.id, b["region"])
        fg = world.flopgrid_bid(d, j, rates)
        assert fg["window"][0] == b["window"][0] == world.arrival_interval(d, j)


def _one_pool(mttf_chip_hours: float) -> FleetSpec:
    return FleetSpec(name="t", pools=(PoolSpec(id="p", hardware="h100-sxm", chips=64, island_chips=64,
                                               mttf_chip_hours=mttf_chip_hours, repair_s=600.0,
                                               price_per_chip_hour=2.0),))


def _deliver(fleet: FleetSpec, hours: int = 4):
    job = JobSpec(id="j", submit_s=0.0, chips=32, model="llama3-8b", tokens=1e12, value_usd_per_eflop=2.0)
    allocs = [{"id": 7, "bid": "b", "pool": "p", "chips": 32, "start": 1, "intervals": hours}]
    rates = RateTable(fleet)
    return deliver(fleet, allocs, {"b": job}, 3600.0, 8 * 3600.0, seed=1, rates=rates), rates, job


def test_without_failures_the_gang_runs_its_whole_allocation():
    d, rates, _ = _deliver(_one_pool(1e12))
    (lease,), r = d.leases, d.readings[7]
    rate = rates.rate_flop_s("llama3-8b", 0, 32)
    assert lease.completed and lease.restarts == lease.interruptions == 0
    assert r["provider_outage_minutes"] == 0 and r["released_after_intervals"] is None
    # the job (1e12 tokens) outlasts the 4 hours: it computes all of them but its checkpoint writes
    assert 0.99 * rate * 4 * 3600 / 1e18 <= r["useful_eflop"] <= rate * 4 * 3600 / 1e18


def test_failures_are_the_providers_outage_and_the_work_kept_fits_in_the_rest():
    d, rates, _ = _deliver(_one_pool(40.0))  # the gang's 4 nodes fail about every 75 minutes
    (lease,), r = d.leases, d.readings[7]
    rate = rates.rate_flop_s("llama3-8b", 0, 32)
    assert lease.interruptions >= 1 and r["provider_outage_minutes"] > 0
    assert r["provider_outage_minutes"] <= 4 * 60
    assert r["badput_s"]["wasted_progress"] > 0 and r["badput_s"]["restart"] > 0
    # what was kept was computed in the minutes the provider did not lose
    assert r["useful_eflop"] <= rate * (4 * 3600 - 60 * r["provider_outage_minutes"]) / 1e18 * (1 + 1e-9)

"""Money in the simulator: invariants over every policy (hypothesis) and hand-checked market
placements with the numbers written out."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.sched import POLICIES
from flopgrid.sim import FleetSpec, PoolSpec, RateTable, load_fleet, simulate
from flopgrid.sim.jobs import COMPLETED, JobSpec
from flopgrid.sim.traces.synth import synth_jobs

FLEET = FleetSpec(name="tiny-priced", pools=(
    PoolSpec(id="a", hardware="v100-sxm", chips=64, island_chips=32, mttf_chip_hours=300.0, price_per_chip_hour=0.9),
    PoolSpec(id="b", hardware="h100-sxm", chips=32, node_chips=8, price_per_chip_hour=2.5),
))
RATES = RateTable(FLEET)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(sorted(POLICIES)), n=st.integers(5, 60),
       horizon_h=st.sampled_from([None, 6.0, 24.0]))
def test_money_invariants(seed, policy, n, horizon_h):
    jobs = [dataclasses.replace(j, value_usd_per_eflop=2.0 + (i % 5)) if i % 2 else j
            for i, j in enumerate(synth_jobs(n, seed=seed, days=0.5))]
    m, sim = simulate(FLEET, jobs, policy, seed=seed, rates=RATES,
                      horizon_s=None if horizon_h is None else horizon_h * 3600)
    # buyers pay exactly what providers receive (the same integer micro-dollars)
    assert sum(j.paid_micro_usd for j in sim.jobs) == sum(sim.c.revenue_micro_usd_by_pool)
    assert m["buyer_usd"] == m["provider_revenue_usd"]
    # every charged chip-hour was held by a job: held chip-seconds by pool = busy chip-seconds
    for p in range(len(FLEET.pools)):
        held = sum(j.held_chip_s_by_pool.get(p, 0.0) for j in sim.jobs)
        assert held == pytest.approx(sim.c.busy_chip_s_by_pool[p], rel=1e-9, abs=1e-6)
    asks = [p.price_per_chip_hour for p in FLEET.pools]
    for j in sim.jobs:
        at_ask = sum(s * asks[p] for p, s in j.held_chip_s_by_pool.items()) / 3600 * 1e6
        rounding = j.starts + 1  # micro-dollars, one rounding per run segment
        assert (j.paid_micro_usd > 0) <= (at_ask > 0)
        if policy in ("market", "gpuhour"):  # clearing prices never fall below a pool's ask
            assert j.paid_micro_usd >= at_ask - rounding
        else:  # posted prices, as a cloud bills
            assert abs(j.paid_micro_usd - at_ask) <= rounding
    if m["useful_eflop"] > 0:
        assert m["usd_per_useful_eflop"] == pytest.approx(m["buyer_usd"] / m["useful_eflop"], rel=1e-12)
    span_h = (sim.end_s - min(j.spec.submit_s for j in sim.jobs)) / 3600
    assert m["idle_chip_hours"] == pytest.approx(FLEET.chips * span_h - sim.c.busy_chip_s / 3600, rel=1e-9, abs=1e-6)
    assert ("welfare_usd" in m) == any(j.spec.value_usd_per_eflop is not None for j in sim.jobs if j.state != "rejected")


def test_posted_price_billing_by_hand():
    # one 8-chip job of 1 h on the H100 pool at $2.50/chip-hour under fifo: 8 chip-hours, $20.00
    fleet = FleetSpec(name="one", pools=(PoolSpec(id="b", hardware="h100-sxm", chips=8, price_per_chip_hour=2.5),))
    job = JobSpec(id="j", submit_s=0.0, chips=8, model="gpt2-124m", duration_s=3600.0, hardware="h100-sxm",
                  value_usd_per_eflop=3.0)
    m, _ = simulate(fleet, [job], "fifo", failures=False, rates=RateTable(fleet))
    assert m["buyer_usd"] == pytest.approx(20.0) and m["provider_revenue_usd"] == pytest.approx(20.0)
    assert m["idle_chip_hours"] == pytest.approx(0.0, abs=1e-9)
    eflop = m["useful_eflop"]
    assert m["value_delivered_usd"] == pytest.approx(3.0 * eflop)
    assert m["welfare_usd"] == pytest.approx(3.0 * eflop - 20.0)  # value - chip-hours x ask


# Two H100 pools of 512 chips at the same $2.00 per chip-hour, one on NDR InfiniBand
# (400 Gb/s per GPU), one on 25 Gb/s Ethernet, each one 512-chip island.
FAB = {"eth": {"scale_up_domain": 8, "scale_out_bytes_per_s": 25e9 / 8},
       "ib": {"scale_up_domain": 8, "scale_out_bytes_per_s": 400e9 / 8}}
TWO = FleetSpec(name="ib-vs-eth", pools=(
    PoolSpec(id="eth", hardware="h100-sxm", chips=512, cluster=FAB["eth"], price_per_chip_hour=2.0),
    PoolSpec(id="ib", hardware="h100-sxm", chips=512, cluster=FAB["ib"], price_per_chip_hour=2.0),
))


def test_512_chip_job_runs_on_infiniband_under_market():
    r = RateTable(TWO)
    # The perf model's MFU of llama3-8b on 512 H100 (best plan): 61.0% on NDR, 29.6% on Ethernet.
    assert r.mfu("llama3-8b", 1, 512) == pytest.approx(0.6097, abs=5e-4)
    assert r.mfu("llama3-8b", 0, 512) == pytest.approx(0.2965, abs=5e-4)
    # Useful EFLOP per hour = MFU x 512 chips x 989.5 TFLOP/s (H100 SXM dense bf16) x 3600 s / 1e18:
    # NDR 0.6097 x 512 x 989.5e12 x 3600 / 1e18 = 1,112 EFLOP; Ethernet 0.2965 x ... = 541 EFLOP.
    ib_eflop_h = 0.6097 * 512 * 989.5e12 * 3600 / 1e18
    eth_eflop_h = 0.2965 * 512 * 989.5e12 * 3600 / 1e18
    assert ib_eflop_h == pytest.approx(1112.0, abs=0.5) and eth_eflop_h == pytest.approx(540.8, abs=0.5)
    # Both cost 512 x $2.00 = $1,024 per hour: $0.92 per useful EFLOP on NDR, $1.89 on Ethernet.
    tokens = 1111.93e18 / r.flops_per_token("llama3-8b")  # one hour of work on the NDR pool
    job = JobSpec(id="big", submit_s=0.0, chips=512, model="llama3-8b", tokens=tokens, value_usd_per_eflop=3.0)
    market, sm = simulate(TWO, [job], "market", failures=False, rates=r)
    fifo, sf = simulate(TWO, [job], "fifo", failures=False, rates=r)
    assert (sm.jobs[0].pool, sm.jobs[0].gang) == (1, 512)  # market: the InfiniBand pool
    assert sf.jobs[0].pool == 0  # first fit: Ethernet
    assert market["avg_jct_h"] == pytest.approx(1.0, abs=0.01)  # 1 h of work at 1,112 EFLOP/h
    assert fifo["avg_jct_h"] == pytest.approx(1111.93 / 540.74, rel=0.01)  # 2.06 h on Ethernet
    assert market["buyer_usd"] == pytest.approx(1024.0, rel=0.01)  # 1 h x 512 chips x $2.00 (no competition)
    assert fifo["buyer_usd"] == pytest.approx(1024.0 * 1111.93 / 540.74, rel=0.01)  # $2,106 for the same work
    # the same hour delivers 1,112 EFLOP on NDR and 541 on Ethernet
    at_1h, _ = simulate(TWO, [job], "fifo", failures=False, rates=r, horizon_s=3600)
    assert at_1h["useful_eflop"] == pytest.approx(540.74, rel=0.002)
    assert market["useful_eflop"] == pytest.approx(1111.93, rel=0.002)


def test_hardware_indifferent_job_lands_on_the_cheapest_useful_flops():
    fleet = load_fleet("grid-mixed")
    r = RateTable(fleet)
    job = JobSpec(id="any", submit_s=0.0, chips=8, model="mpt-1b", duration_s=3600.0, hardware="h100-sxm",
                  value_usd_per_eflop=3.0)
    usd_per_eflop = {p.id: p.price_per_chip_hour * 8 / (r.rate_flop_s("mpt-1b", i, 8) * 3600 / 1e18)
                     for i, p in enumerate(fleet.pools)}
    cheapest = min(usd_per_eflop, key=usd_per_eflop.get)
    # H100 on Ethernet at the bottom of its range ($1.90): $0.97 per useful EFLOP for 8 chips
    # (single node: the slow fabric does not matter; MFU 55.2%, the believable ceiling for H100
    # near 8 chips); NDR H100 at $3.10 costs $1.58.
    assert cheapest == "h100-eth" and usd_per_eflop["h100-eth"] == pytest.approx(0.966, abs=0.01)
    assert usd_per_eflop["h100-ndr"] == pytest.approx(1.576, abs=0.01)
    _, sim = simulate(fleet, [job], "market", failures=False, rates=r)
    assert sim.jobs[0].state == COMPLETED and fleet.pools[sim.jobs[0].pool].id == "h100-eth"
    _, sim = simulate(fleet, [job], "fifo", failures=False, rates=r)
    assert fleet.pools[sim.jobs[0].pool].id == "h100-ndr"  # first fit ignores price

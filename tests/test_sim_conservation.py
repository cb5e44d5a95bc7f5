"""Conservation invariants of the simulator on small synthetic traces (all policies, with
failures on an unreliable fleet so interruptions really happen)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.sim import FleetSpec, PoolSpec, RateTable, simulate
from flopgrid.sim.jobs import COMPLETED, REJECTED, RUNNING
from flopgrid.sim.traces.synth import synth_jobs

# 64 + 32 V100 in two pools, MTTF 200 chip-hours: a 64-chip job fails every ~3 h.
FLEET = FleetSpec(name="tiny", pools=(
    PoolSpec(id="a", hardware="v100-sxm", chips=64, island_chips=32, mttf_chip_hours=200.0, checkpoint_s=60,
             restart_s=120, repair_s=1800),
    PoolSpec(id="b", hardware="v100-sxm", chips=32, node_chips=4, mttf_chip_hours=400.0, checkpoint_s=60),
))
RATES = RateTable(FLEET)
JOBS = synth_jobs(300, seed=3, days=2)
POLICIES = ("fifo", "backfill", "las", "goodput", "market", "gpuhour")


def _check_invariants(m, sim):
    span = sim.end_s - min(j.spec.submit_s for j in sim.jobs)
    cap = FLEET.chips * span
    assert sim.c.busy_chip_s <= cap * (1 + 1e-9)
    for p, spec in enumerate(FLEET.pools):
        assert sim.c.busy_chip_s_by_pool[p] <= spec.chips * span * (1 + 1e-9)
        # useful FLOPs <= peak x busy time, per pool
        assert sim.c.useful_flop_by_pool[p] <= spec.peak_flops_per_chip * sim.c.busy_chip_s_by_pool[p] * (1 + 1e-9)
    assert 0 <= m["fleet_mfu"] <= m["utilization"] <= 1
    assert 0 <= m["goodput_fraction"] <= 1
    # every job ends completed, still running/waiting at the end, or rejected with a reason
    for j in sim.jobs:
        assert j.state in (COMPLETED, RUNNING, REJECTED, "waiting")
        if j.state == REJECTED:
            assert j.reject_reason
        if j.state == COMPLETED:
            assert j.done_flop == pytest.approx(j.work_flop) and j.end_s >= j.spec.submit_s
    assert m["completed"] + m["running_at_end"] + m["waiting_at_end"] + m["rejected"] == m["jobs"]
    # no chips leaked: every pool is back to all up chips free
    for ps in sim.pool_states:
        assert ps.free_chips == ps.up_chips


@pytest.mark.parametrize("policy", POLICIES)
def test_invariants_with_failures(policy):
    m, sim = simulate(FLEET, JOBS, policy, failures=True, seed=1, rates=RATES)
    _check_invariants(m, sim)
    assert m["completed"] + m["rejected"] == m["jobs"]  # run to the end: nothing left
    assert m["failures"] > 0 and m["interruptions"] > 0 and m["lost_eflop_failures"] > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_identical_output_for_identical_seed(policy):
    a, _ = simulate(FLEET, JOBS, policy, seed=7, rates=RATES)
    b, _ = simulate(FLEET, JOBS, policy, seed=7, rates=RATES)
    a.pop("wall_seconds"), b.pop("wall_seconds")
    assert a == b


def test_no_failures_means_no_loss_and_full_goodput():
    m, _ = simulate(FLEET, JOBS, "fifo", failures=False, rates=RATES)
    assert m["failures"] == 0 and m["lost_eflop_failures"] == 0 and m["goodput_fraction"] == pytest.approx(1.0)


def test_failures_cost_useful_work_at_a_horizon():
    on, _ = simulate(FLEET, JOBS, "fifo", failures=True, seed=1, rates=RATES, horizon_s=86400)
    off, _ = simulate(FLEET, JOBS, "fifo", failures=False, rates=RATES, horizon_s=86400)
    assert on["useful_eflop"] < off["useful_eflop"]


def test_hand_computed_single_job():
    # one 8-chip job of 1 h on an empty pool: JCT 1 h, busy 8 chip-h, useful = duration x rate.
    from flopgrid.sim.jobs import JobSpec

    fleet = FleetSpec(name="one", pools=(PoolSpec(id="a", hardware="h100-sxm", chips=16),))
    rates = RateTable(fleet)
    job = JobSpec(id="j", submit_s=100.0, chips=8, model="gpt2-124m", duration_s=3600.0)
    m, sim = simulate(fleet, [job], "fifo", failures=False, rates=rates)
    assert m["avg_jct_h"] == pytest.approx(1.0)
    assert sim.c.busy_chip_s == pytest.approx(8 * 3600)
    assert m["utilization"] == pytest.approx(0.5)
    expected = 3600 * rates.rate_flop_s("gpt2-124m", 0, 8)
    assert m["useful_eflop"] * 1e18 == pytest.approx(expected)
    assert m["fleet_mfu"] == pytest.approx(rates.mfu("gpt2-124m", 0, 8) * 0.5)


def test_oversized_gang_rejected_with_reason():
    from flopgrid.sim.jobs import JobSpec

    jobs = [JobSpec(id="big", submit_s=0, chips=128, model="gpt2-124m", duration_s=60.0)]
    m, sim = simulate(FLEET, jobs, "fifo", rates=RATES)
    assert m["rejected"] == 1 and "island" in sim.jobs[0].reject_reason


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), policy=st.sampled_from(POLICIES), n=st.integers(5, 80))
def test_invariants_property(seed, policy, n):
    jobs = synth_jobs(n, seed=seed, days=0.5)
    m, sim = simulate(FLEET, jobs, policy, seed=seed, rates=RATES, horizon_s=12 * 3600)
    _check_invariants(m, sim)

"""Work, not time (duration traces run faster on faster pools) and the llm-market trace
synthesizer (load, classes, values, CLI)."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import assert_bad_input

from flopgrid.sim import (
    FleetSpec,
    PoolSpec,
    RateTable,
    load_fleet,
    load_trace,
    simulate,
)
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.llm_market import (
    CLASSES,
    capacity_flop_s,
    llm_market_jobs,
    reference_usd_per_eflop,
)


def test_duration_is_run_time_on_the_traces_own_hardware():
    # one hour on 8 V100 is the same useful work everywhere: an H100 pool finishes it sooner,
    # by the ratio of useful FLOP/s (perf model), and a V100 pool in exactly one hour.
    v100 = FleetSpec(name="v", pools=(PoolSpec(id="v", hardware="v100-sxm", chips=8),))
    h100 = FleetSpec(name="h", pools=(PoolSpec(id="h", hardware="h100-sxm", chips=8),))
    job = JobSpec(id="j", submit_s=0.0, chips=8, model="mpt-1b", duration_s=3600.0, hardware="v100-sxm")
    mv, _ = simulate(v100, [job], "fifo", failures=False, rates=RateTable(v100))
    rh = RateTable(h100)
    mh, _ = simulate(h100, [job], "fifo", failures=False, rates=rh)
    assert mv["avg_jct_h"] == pytest.approx(1.0)
    ratio = rh.reference_rate_flop_s("mpt-1b", "v100-sxm", 8) / rh.rate_flop_s("mpt-1b", 0, 8)
    assert 0 < ratio < 0.5 and mh["avg_jct_h"] == pytest.approx(ratio, rel=1e-6)
    assert mh["useful_eflop"] == pytest.approx(mv["useful_eflop"], rel=1e-9)


def test_llm_market_load_classes_and_values():
    fleet = load_fleet("grid-mixed")
    rates = RateTable(fleet)
    jobs = llm_market_jobs(fleet, 0.5, 1.0, seed=3, rates=rates)
    work = sum(j.tokens * rates.flops_per_token(j.model) for j in jobs)
    target = 0.5 * capacity_flop_s(fleet, rates) * 86400
    biggest = max(j.tokens * rates.flops_per_token(j.model) for j in jobs)
    assert target <= work <= target + biggest  # drawn until the offered work reaches the load
    assert {j.job_class for j in jobs} <= {c[0] for c in CLASSES}
    assert all(0 <= j.submit_s < 86400 and j.value_usd_per_eflop > 0 for j in jobs)
    assert max(j.chips for j in jobs) <= 2048  # the largest island of grid-mixed
    assert reference_usd_per_eflop() == pytest.approx(3.10 / (0.4 * 989.5e12 * 3600 / 1e18))
    assert llm_market_jobs(fleet, 0.5, 1.0, seed=3, rates=rates) == jobs  # deterministic


def test_cli_synth_llm_market_round_trip(tmp_path, cli):
    out = tmp_path / "llm.csv"
    r = cli("trace", "synth", "--like", "llm-market", "--fleet", "grid-mixed", "--load", "0.3", "--days", "0.5",
            "--seed", "1", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert d["jobs"] == len(rows) > 0 and d["useful_eflop"] > 0
    assert {"tokens", "value_usd_per_eflop", "job_class"} <= set(rows[0])
    load = load_trace(out)
    assert len(load.jobs) == len(rows) and load.jobs[0].value_usd_per_eflop > 0
    r = cli("simulate", "--trace", str(out), "--fleet", "grid-mixed", "--compare", "gpuhour,market", "--horizon-h", "12",
            "--json", "--report", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "rep/report.html").read_text()
    assert "Where each class of job ran" in html and "fine-tune" in html
    runs = json.loads(r.stdout)["runs"]
    for m in runs:
        assert m["buyer_usd"] == m["provider_revenue_usd"] > 0
        assert {"usd_per_useful_eflop", "idle_chip_hours", "value_delivered_usd", "welfare_usd"} <= set(m)
        assert m["makespan_h"] == pytest.approx(12.0)


def test_cli_synth_bad_input(tmp_path, cli):
    out = str(tmp_path / "x.csv")
    assert_bad_input(cli("trace", "synth", "--like", "llm-market", "--out", out), "--fleet")
    assert_bad_input(cli("trace", "synth", "--like", "llm-market", "--fleet", "grid-mixed", "--load", "0",
                         "--days", "1", "--out", out), "--load")
    assert_bad_input(cli("trace", "synth", "--like", "llm-market", "--fleet", "nope", "--load", "1",
                         "--days", "1", "--out", out), "nope")
    assert_bad_input(cli("trace", "synth", "--like", "philly", "--out", out), "--jobs")


def test_cli_market_time_value(tmp_path, cli):
    """`--market-time-value` reaches the market's buyers: θ = 1 is the default rule; θ = 0 buys the
    cheapest useful EFLOP, so it pays less per useful EFLOP and does less work in the same window."""
    out = tmp_path / "s.csv"
    assert cli("trace", "synth", "--like", "llm-market", "--fleet", "pollux-64", "--load", "1.0", "--days", "0.5",
               "--seed", "0", "--out", str(out)).returncode == 0

    def run(*extra):
        r = cli("simulate", "--trace", str(out), "--fleet", "pollux-64", "--policy", "market", "--horizon-h", "12",
                "--json", *extra)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    default, one, zero = run(), run("--market-time-value", "1"), run("--market-time-value", "0")
    assert (default["useful_eflop"], default["buyer_usd"]) == (one["useful_eflop"], one["buyer_usd"])
    assert zero["usd_per_useful_eflop"] < one["usd_per_useful_eflop"]
    assert zero["useful_eflop"] < one["useful_eflop"]
    for bad in ("-1", "nan", "inf"):
        assert_bad_input(cli("simulate", "--trace", str(out), "--fleet", "pollux-64", "--market-time-value", bad),
                         "--market-time-value", ">= 0")

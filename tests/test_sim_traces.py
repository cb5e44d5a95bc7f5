"""Trace loaders (bad rows, formats), the synthetic generator against the real Philly trace,
and the CLI contract of simulate / trace synth / reliability."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from flopgrid.errors import UserInputError
from flopgrid.sim import load_trace
from flopgrid.sim.traces.synth import PHILLY_GPU_COUNTS, synth_jobs

CLI = [sys.executable, "-m", "flopgrid.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_philly_bad_rows_skipped_and_counted(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("timestamp,duration,num_gpus,gpu_time,cluster\n"
                 "2017-10-09 07:01:55,66.0,1,66.0,a\n"
                 "2017-10-09 07:02:55,-5,1,1,a\n"
                 "2017-10-09 07:03:55,100,0,0,a\n"
                 "not a time,100,1,100,a\n"
                 "2017-10-09 07:05:55,300,2,600,a\n")
    load = load_trace(p, "philly")
    assert [j.chips for j in load.jobs] == [1, 2]
    assert load.jobs[1].submit_s == pytest.approx(240.0)
    assert sum(load.skipped.values()) == 3
    assert "skipped 3 bad row(s)" in load.summary()


def test_no_usable_row_or_unknown_format_exits_2(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,duration,num_gpus,gpu_time,cluster\nxx,-1,0,0,a\n")
    with pytest.raises(UserInputError):
        load_trace(p, "philly")
    r = run("simulate", "--trace", str(p), "--fleet", "pollux-64")
    assert r.returncode == 2 and "no usable job row" in r.stderr and "Traceback" not in r.stderr
    r = run("simulate", "--trace", str(p), "--format", "slurm", "--fleet", "pollux-64")
    assert r.returncode == 2 and "unknown trace format" in r.stderr


def test_alibaba_pods(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
                 "p1,1000,100,1,500,V100,LS,Succeeded,100,1100,200\n"
                 "p2,1000,100,0,0,,LS,Succeeded,100,1100,200\n"
                 "p3,1000,100,2,1000,V100,LS,Running,150,,200\n"
                 "p4,1000,100,4,1000,V100,BE,Succeeded,160,5160,160\n")
    load = load_trace(p)
    assert [(j.id, j.chips, j.duration_s, j.work_scale) for j in load.jobs] == [("p1", 1, 900.0, 0.5), ("p4", 4, 5000.0, 1.0)]
    assert load.skipped["zero GPUs (not a GPU job)"] == 1 and sum(load.skipped.values()) == 2


def test_flopgrid_format_json_and_tokens(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"jobs": [
        {"id": "x", "submit_s": 10, "chips": 8, "model": "gpt2-124m", "tokens": 1e9},
        {"submit_s": 5, "chips": 1, "duration_s": 60},
        {"submit_s": 5, "chips": 1, "model": "no-such-model", "duration_s": 60},
    ]}))
    load = load_trace(p, "flopgrid")
    assert [j.submit_s for j in load.jobs] == [0.0, 5.0]
    assert load.jobs[1].tokens == 1e9 and load.skipped["unknown model"] == 1


def test_synth_matches_real_philly(shared_dir):
    real = load_trace(shared_dir / "data/traces/philly_pollux.csv", "philly").jobs
    synth = synth_jobs(len(real), seed=1)
    rg = np.array([j.chips for j in real])
    sg = np.array([j.chips for j in synth])
    for g, n in PHILLY_GPU_COUNTS.items():
        assert (rg == g).sum() == n  # the constants are the trace's histogram
    assert abs((sg == 1).mean() - (rg == 1).mean()) < 0.01
    rd = np.log([j.duration_s for j in real])
    sd = np.log([j.duration_s for j in synth])
    assert abs(np.median(rd) - np.median(sd)) < 0.25  # ln s
    assert abs(np.percentile(rd, 90) - np.percentile(sd, 90)) < 0.5
    span_real = real[-1].submit_s / 86400
    span_synth = synth[-1].submit_s / 86400
    assert span_synth == pytest.approx(span_real, rel=0.1)


def test_cli_synth_then_simulate_compare_json(tmp_path):
    out = tmp_path / "s.csv"
    r = run("trace", "synth", "--like", "philly", "--jobs", "400", "--days", "1", "--seed", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = run("simulate", "--trace", str(out), "--fleet", "philly-like", "--compare", "fifo,las", "--json",
            "--report", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)["runs"]
    keys = {"jobs", "completed", "avg_jct_h", "p99_jct_h", "makespan_h", "utilization", "fleet_mfu",
            "goodput_fraction", "useful_eflop", "lost_eflop_failures", "wall_seconds"}
    assert [x["policy"] for x in runs] == ["fifo", "las"] and all(keys <= set(x) for x in runs)
    assert runs[0]["jobs"] == 400
    html = (tmp_path / "rep/report.html").read_text()
    # self-contained (opens offline: no CDN script) and holds the five charts of the issue
    assert "src=\"https://cdn.plot.ly" not in html and "plotly.js v" in html
    for title in ("utilisation over time", "queue length", "JCT CDF", "MFU of completed jobs",
                  "useful EFLOP lost to failures", "useful EFLOP per buyer dollar"):
        assert title in html


def test_cli_reliability_and_bad_policy():
    r = run("reliability", "--chips", "16384", "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["mtbf_h"] == pytest.approx(3.09, abs=0.01) and d["expected_goodput"] > 0.9
    r = run("reliability", "--chips", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run("simulate", "--trace", "x.csv", "--policy", "lottery")
    assert r.returncode == 2 and "unknown policy" in r.stderr

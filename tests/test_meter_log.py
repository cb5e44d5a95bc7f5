"""Event log, accounting, multi-rank merge, readings, Prometheus and the CLI, on real files
and a real HTTP server; accounting checked against hand-computed numbers and, with
hypothesis, its invariants."""

from __future__ import annotations

import json
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.errors import UserInputError
from flopgrid.flops import model_flops_per_token
from flopgrid.meter import (BADPUT_CATEGORIES, EventLog, MeterReading, account_rank, build_report, merge_logs,
                            rank_path, read_events)
from conftest import assert_bad_input

START = {"event": "start", "world_size": 2, "hardware": "cpu", "dtype": "fp32", "peak_flops_per_chip": 1e11,
         "peak_source": "given", "model_flops_per_token": 1e6, "hardware_flops_per_token": 1.5e6}


def _step(step, t0, data_s, compute_s, tokens=100, session="a", rank=0):
    return {"event": "step", "step": step, "t0": t0, "data_s": data_s, "compute_s": compute_s,
            "t": t0 + data_s + compute_s, "tokens": tokens, "session": session, "rank": rank}


def _hand_log(rank=0):
    """Session a: start t=0, init 1 s, steps 0..3 (1 s each, 0.25 s data), save after step 1 (0.5 s),
    killed after step 3. Session b: start t=10, restore 0.5 s, init 0.5 s more, redo steps 2..4."""
    ev = [{**START, "t": 0.0, "session": "a", "rank": rank}]
    t = 1.0
    for s in range(4):
        ev.append(_step(s, t, 0.25, 0.75, session="a", rank=rank))
        t += 1.0
        if s == 1:
            ev.append({"event": "checkpoint_save", "t0": t, "t": t + 0.5, "duration_s": 0.5, "step": 1,
                       "session": "a", "rank": rank})
            t += 0.5
    ev.append({**START, "t": 10.0, "session": "b", "rank": rank})
    ev.append({"event": "checkpoint_restore", "t0": 10.0, "t": 10.5, "duration_s": 0.5, "step": 1,
               "session": "b", "rank": rank})
    t = 11.0
    for s in (2, 3, 4):
        ev.append(_step(s, t, 0.25, 0.75, session="b", rank=rank))
        t += 1.0
    return ev  # ends at t = 14


def test_accounting_of_a_hand_built_restart():
    a = account_rank(_hand_log())
    assert a.wall_s == pytest.approx(14.0)
    assert a.steps == 5 and a.wasted_steps == 2 and a.sessions == 2
    assert a.productive_s == pytest.approx(5 * 0.75)
    assert a.badput_s["data_loading"] == pytest.approx(5 * 0.25)
    assert a.badput_s["wasted_progress"] == pytest.approx(2.0)  # steps 2, 3 of session a
    assert a.badput_s["checkpoint_save"] == pytest.approx(0.5)
    assert a.badput_s["checkpoint_restore"] == pytest.approx(0.5)
    assert a.badput_s["initialization"] == pytest.approx(1.0 + 0.5)
    assert a.badput_s["disruption_recovery"] == pytest.approx(10.0 - 5.5)
    assert a.badput_s["other"] == pytest.approx(0.0, abs=1e-12)
    assert a.useful_tokens == 500


def test_two_ranks_merge_to_per_chip_times_and_summed_tokens(tmp_path):
    for r in (0, 1):
        log = EventLog(rank_path(tmp_path / "run.jsonl", r))
        for e in _hand_log(rank=r):
            log.write(e)
        log.close()
    assert rank_path(tmp_path / "run.jsonl", 1).name == "run.rank1.jsonl"
    rep = build_report(merge_logs([tmp_path / "run.rank1.jsonl", tmp_path / "run.jsonl"]))
    assert rep.chips == 2 and rep.world_size == 2 and rep.notes == []
    assert rep.wall_s == pytest.approx(14.0) and rep.productive_s == pytest.approx(3.75)
    assert rep.useful_tokens == 1000
    assert rep.tokens_per_second == pytest.approx(1000 / 3.75)
    assert rep.mfu == pytest.approx(1000 / 3.75 * 1e6 / (2 * 1e11))
    assert rep.hfu == pytest.approx(1.5 * rep.mfu)
    assert rep.goodput_fraction == pytest.approx(3.75 / 14.0)


@st.composite
def _logs(draw):
    """Random sessions: each restarts from a random earlier step, with random gaps, data
    waits, compute times and checkpoint saves."""
    events, t, next_step = [], 0.0, 0
    for s in range(draw(st.integers(1, 4))):
        t += draw(st.floats(0.0, 5.0))
        events.append({**START, "t": t, "session": str(s), "rank": 0})
        if s and draw(st.booleans()):
            d = draw(st.floats(0.0, 1.0))
            events.append({"event": "checkpoint_restore", "t0": t, "t": t + d, "duration_s": d, "session": str(s)})
            t += d
        next_step = draw(st.integers(0, next_step))
        t += draw(st.floats(0.0, 2.0))
        for _ in range(draw(st.integers(0, 6))):
            data, comp = draw(st.floats(0.0, 1.0)), draw(st.floats(0.0, 1.0))
            events.append(_step(next_step, t, data, comp, session=str(s)))
            t += data + comp + draw(st.floats(0.0, 0.3))
            next_step += 1
            if draw(st.booleans()):
                d = draw(st.floats(0.0, 1.0))
                events.append({"event": "checkpoint_save", "t0": t, "t": t + d, "duration_s": d, "session": str(s)})
                t += d
    return events


@settings(max_examples=150, deadline=None)
@given(_logs())
def test_accounting_invariants(events):
    a = account_rank(events)
    assert a.productive_s + sum(a.badput_s.values()) == pytest.approx(a.wall_s, abs=1e-9)
    assert a.wall_s == pytest.approx(max(e["t"] for e in events) - events[0]["t"], abs=1e-9)
    assert all(a.badput_s[c] >= -1e-9 for c in BADPUT_CATEGORIES)
    executions = sum(e["event"] == "step" for e in events)
    distinct = len({e["step"] for e in events if e["event"] == "step"})
    assert a.steps == distinct and a.wasted_steps == executions - distinct


def test_reader_skips_a_torn_last_line_and_rejects_corruption_elsewhere(tmp_path):
    p = tmp_path / "run.jsonl"
    log = EventLog(p)
    for e in _hand_log()[:4]:
        log.write(e)
    log.close()
    good = p.read_bytes()
    p.write_bytes(good + b'{"event":"step","step":3,"t0":4.')  # kill -9 mid-write
    contents = read_events(p)
    assert contents.torn_lines == 1 and len(contents.events) == 4
    p.write_bytes(b'{"event":"step",\n' + good)
    with pytest.raises(UserInputError, match="line 1"):
        read_events(p)


def test_reading_round_trips_and_rejects_missing_fields():
    r = MeterReading(run="r", rank=0, world_size=1, hardware="cpu", dtype="fp32", interval_start_unix_s=1.0,
                     interval_end_unix_s=2.0, steps=3, last_step=2, tokens=300, model_flops_per_token=1e6,
                     useful_flops=3e8, productive_s=0.5, badput_s={"data_loading": 0.1}, peak_flops_per_chip=1e11,
                     mfu=3e8 / (0.5 * 1e11))
    event = json.loads(json.dumps(r.as_event()))
    assert event["event"] == "reading" and event["schema"] == 1
    assert MeterReading.from_event(event) == r
    del event["tokens"]
    with pytest.raises(UserInputError, match="tokens"):
        MeterReading.from_event(event)


def test_prometheus_exporter_serves_live_metrics(tmp_path):
    torch = pytest.importorskip("torch")
    from flopgrid.examples.gpt import SIZES, GPT, ByteBatches, byte_corpus
    from flopgrid.meter.meter import Meter

    torch.set_num_threads(1)
    cfg = SIZES["tiny"]
    model = GPT(cfg)
    meter = Meter(tmp_path / "run.jsonl", model_spec=cfg.model_spec(), device="cpu", peak_flops_per_chip=1e11,
                  prometheus_port=0, truncate=True)
    try:
        for _, (x, y) in meter.steps(ByteBatches(byte_corpus(), 2, cfg.seq_len, stall_s=0.01), stop=3):
            model(x, y)[1].backward()
        body = urllib.request.urlopen(f"http://127.0.0.1:{meter.exporter.port}/metrics", timeout=10).read().decode()
    finally:
        meter.close()
    metrics = {line.split(" ")[0]: float(line.split(" ")[1]) for line in body.splitlines() if line.startswith("flopgrid_")}
    assert metrics['flopgrid_steps_total{rank="0",run="run"}'] == 3.0
    fpt = model_flops_per_token(cfg.model_spec())
    assert metrics['flopgrid_useful_flops_total{rank="0",run="run"}'] == pytest.approx(3 * 2 * cfg.seq_len * fpt)
    assert 0 < metrics['flopgrid_mfu{rank="0",run="run"}'] < 10
    assert metrics['flopgrid_badput_seconds_total{category="data_loading",rank="0",run="run"}'] >= 0.03




def test_cli_report_json_keys_plot_and_bad_input(tmp_path, cli):
    p = tmp_path / "run.jsonl"
    log = EventLog(p)
    for e in _hand_log():
        log.write(e)
    log.close()
    proc = cli("meter", "report", str(p), "--json", "--plot", str(tmp_path / "t.html"))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("steps", "wall_s", "productive_s", "badput_s", "tokens_per_second", "model_flops_per_token",
                "peak_flops_per_chip", "chips", "mfu", "hfu", "goodput_fraction"):
        assert key in out
    assert out["steps"] == 5 and out["badput_s"]["wasted_progress"] == pytest.approx(2.0)
    html = (tmp_path / "t.html").read_text()
    assert "plotly" in html.lower() and "wasted_progress" in html
    assert '"text":"new text"' not in html  # every band annotation carries its category or none
    assert_bad_input(cli("meter", "report", str(tmp_path / "missing.jsonl")), "does not exist")
    (tmp_path / "empty.jsonl").write_text("")
    assert_bad_input(cli("meter", "report", str(tmp_path / "empty.jsonl")), "no usable events")
    assert_bad_input(cli("meter", "report", str(p), "--plot", str(tmp_path / "t.png")), "--plot")
    assert_bad_input(cli("meter", "demo", "--out", str(tmp_path / "x.jsonl"), "--size", "huge"), "--size")
    assert_bad_input(cli("meter", "demo", "--out", str(tmp_path / "x.jsonl"), "--steps", "0"), "--steps")

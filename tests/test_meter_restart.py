"""A real demo run killed with SIGKILL, restarted from its checkpoint: the report counts the
re-done steps as wasted progress and the totals stay consistent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")

from flopgrid.meter import build_report, merge_logs  # noqa: E402

STEPS, EVERY, KILL_AFTER = 30, 5, 12


def _demo(out, *extra):
    return [sys.executable, "-m", "flopgrid", "meter", "demo", "--steps", str(STEPS), "--out", str(out),
            "--size", "tiny", "--batch-size", "4", "--threads", "1", "--checkpoint-every", str(EVERY),
            # 50 ms per step: the 20 ms poll below kills inside step KILL_AFTER + 1, well before the
            # next checkpoint (a tiny step takes a few ms on a quiet machine: the kill could land after it)
            "--inject-data-stall-s", "0.05", *extra]


def _raw_events(path):
    """Parse the log by hand (not with flopgrid's reader), skipping a torn last line."""
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def test_sigkill_and_resume_counts_redone_steps_as_wasted_progress(tmp_path):
    out = tmp_path / "run.jsonl"
    proc = subprocess.Popen(_demo(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if out.exists() and any(e.get("event") == "step" and e["step"] >= KILL_AFTER for e in _raw_events(out)):
            break
        if proc.poll() is not None:
            pytest.fail(f"demo ended before the kill: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first = _raw_events(out)
    done_before_kill = [e["step"] for e in first if e["event"] == "step"]
    last_ckpt = max(e["step"] for e in first if e["event"] == "checkpoint_save")
    assert max(done_before_kill) > last_ckpt  # there is progress to lose

    resumed = subprocess.run(_demo(out, "--resume", "--json"), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr

    events = _raw_events(out)
    sessions = list(dict.fromkeys(e["session"] for e in events))
    assert len(sessions) == 2
    second = [e for e in events if e["session"] == sessions[1]]
    second_steps = [e["step"] for e in second if e["event"] == "step"]
    assert second_steps[0] == last_ckpt + 1 and second_steps[-1] == STEPS - 1
    redone = [e for e in first if e["event"] == "step" and e["step"] in set(second_steps)]
    assert [e["step"] for e in redone] == list(range(last_ckpt + 1, max(done_before_kill) + 1))

    rep = build_report(merge_logs([out]))
    assert rep.steps == STEPS
    assert rep.wasted_steps == len(redone)
    assert rep.badput_s["wasted_progress"] == pytest.approx(sum(e["data_s"] + e["compute_s"] for e in redone), rel=1e-9)
    assert rep.badput_s["checkpoint_restore"] > 0
    start2 = next(e["t"] for e in second if e["event"] == "start")
    end1 = max(e["t"] for e in first)
    assert rep.badput_s["disruption_recovery"] == pytest.approx(start2 - end1, rel=1e-9)
    assert rep.wall_s == pytest.approx(max(e["t"] for e in events) - events[0]["t"], rel=1e-9)
    assert rep.productive_s + sum(rep.badput_s.values()) == pytest.approx(rep.wall_s, rel=1e-9)
    assert rep.useful_tokens == STEPS * 4 * 64  # each step's tokens once
    assert json.loads(resumed.stdout)["steps"] == STEPS

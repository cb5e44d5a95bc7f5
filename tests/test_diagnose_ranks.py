"""A real two-process torch.distributed (gloo, CPU) DDP run with rank 1 slowed on purpose
(a sleep in each of its forwards): the meter's per-rank logs, merged, name rank 1 as the
slowest, and `flopgrid diagnose` puts a positive straggler part in the gap and points at
rank 1. Truth: the injected sleep (with two ranks the low median is the fast rank, so
the job loses the whole sleep per step against it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from conftest import assert_bad_input  # noqa: E402
from metered_runs import isolated_cache, measure_and_cache_peak  # noqa: E402

STEPS, SLOW_RANK, SLOW_S = 12, 1, 0.06
WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_log(tmp_path_factory):
    with isolated_cache(tmp_path_factory):
        measure_and_cache_peak()
        return _launch(tmp_path_factory.mktemp("ddp") / "run.jsonl")


def _launch(out):
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(out), str(STEPS), str(SLOW_RANK), str(SLOW_S)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    return out


def test_slowed_rank_is_named_and_the_straggler_part_is_positive(ddp_log, cli):
    assert ddp_log.with_name("run.rank1.jsonl").is_file()
    proc = cli("diagnose", str(ddp_log), "--json")  # finds run.rank1.jsonl beside it
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["chips"] == 2 and r["ranks"]["ranks"] == [0, 1]
    assert r["ranks"]["basis"] == "sync"
    assert r["ranks"]["slowest_rank"] == SLOW_RANK
    assert r["gap_parts"]["stragglers"] > 0
    # per-rank step time spread ~ the injected sleep, and so is the loss vs the (low) median rank per step
    compared = r["ranks"]["steps_compared"]
    assert compared == STEPS - 1
    # (bounds wide enough for a loaded 2-core machine; a sleep never undershoots)
    assert 0.8 * SLOW_S <= r["ranks"]["spread_s"] <= 1.6 * SLOW_S, r["ranks"]
    assert 0.8 * compared * SLOW_S <= r["straggler_s"] <= 1.6 * compared * SLOW_S, r["ranks"]
    rec = next(x for x in r["recommendations"] if x["kind"] == "straggler")
    assert f"rank {SLOW_RANK}" in rec["action"] and rec["expected_mfu_gain"] > 0
    # the meter report shows the same spread
    rep = cli("meter", "report", str(ddp_log), str(ddp_log.with_name("run.rank1.jsonl")), "--json")
    assert json.loads(rep.stdout)["ranks"]["slowest_rank"] == SLOW_RANK


def test_a_missing_rank_log_is_bad_input(ddp_log, cli, tmp_path):
    alone = tmp_path / "alone.jsonl"
    alone.write_bytes(ddp_log.read_bytes())  # rank 0's log without its rank-1 sibling
    assert_bad_input(cli("diagnose", str(alone)), "missing rank(s) [1]")

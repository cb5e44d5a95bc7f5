"""`flopgrid demo --engine ray --inject-failure`: a slice of the cleared day runs as real tiny
PyTorch gangs (the bundled GPT, DDP on gloo) on a local Ray cluster the demo starts, through
the dispatcher; one rank's worker process is SIGKILLed mid-run and the gang resumes from its
checkpoint. Checked against the dispatcher's own state file, the ranks' meter logs and the
database: two real allocations completed, one restart from a checkpoint charged to the
provider, the meter's readings are what settled, and the ledger balances."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import REPO, run_flopgrid

pytest.importorskip("ray", reason="Ray not installed: pip install 'flopgrid[ray]' to run the demo on Ray")
pytest.importorskip("torch", reason="the Ray demo trains a tiny PyTorch model (flopgrid[meter])")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray-dispatch")]  # one Ray cluster at a time


def test_ray_slice_completes_two_real_allocations_with_a_restart_from_checkpoint(tmp_path):
    from flopgrid.demo.ray_slice import CHECKPOINT_EVERY, STEPS
    from flopgrid.dispatch.readings import meter_figures

    out = tmp_path / "o"
    p = run_flopgrid("demo", "--engine", "ray", "--inject-failure", "--hours", "4", "--out", str(out), "--json",
                     env={"PYTHONPATH": str(REPO / "src")}, timeout=540)
    assert p.returncode == 0, p.stderr[-4000:]
    s = json.loads(p.stdout)
    assert s["ledger_balanced"] and s["baseline"]["ledger_balanced"]
    leases = json.loads((out / "ray" / "state.json").read_text())["leases"]
    done = [le for le in leases if le["state"] == "completed"]
    assert len(done) >= 2, [(le["state"], le["reason"]) for le in leases]
    restarted = [le for le in done if le["failures"]]
    assert len(restarted) == 1 and restarted[0]["attempts"] == 2
    f = restarted[0]["failures"][0]
    assert (f["cause"], f["party"]) == ("actor_death", "provider") and f["last_checkpoint_step"] >= CHECKPOINT_EVERY - 1
    m = meter_figures(out / "ray" / f"alloc-{restarted[0]['allocation_id']}")
    assert m["steps"] == STEPS and m["sessions"] == 2 and 1 <= m["wasted_steps"] <= CHECKPOINT_EVERY
    assert s["restarts"] >= 1 and s["allocations_completed"] >= 2
    con = sqlite3.connect(s["db"])
    try:
        for le in done:  # the meter's reading is the one that settled
            body = con.execute("SELECT body FROM readings WHERE allocation_id = ? ORDER BY id DESC LIMIT 1",
                               (le["allocation_id"],)).fetchone()[0]
            reading = json.loads(body)
            assert reading["useful_eflop"] == pytest.approx(le["reading"]["useful_eflop"]) and reading["useful_eflop"] > 0
            assert (reading["provider_outage_minutes"] > 0) == bool(le["failures"])
        sums = con.execute("SELECT SUM(amount_micro_usd) FROM ledger_entries GROUP BY transaction_id").fetchall()
        assert sums and all(v == 0 for (v,) in sums)
    finally:
        con.close()

"""Fleet metrics of a finished run (DESIGN.md `simulate` keys).

- jobs, completed; avg_jct_h / p99_jct_h over completed jobs (finish - submit, hours).
- makespan_h: first submit to the end of the run.
- utilization: busy chip-seconds / (fleet chips x makespan); busy includes restarts,
  checkpoint writes and work later lost.
- fleet_mfu: useful FLOPs / (sum over pools of chips x dense peak x makespan).
- goodput_fraction: productive chip-seconds (compute kept) / busy chip-seconds.
- useful_eflop: useful FLOPs delivered (finished work plus kept progress), in EFLOP.
- lost_eflop_failures: FLOPs computed and then lost to failures, in EFLOP.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from flopgrid.sim.engine import Simulation
from flopgrid.sim.jobs import COMPLETED, REJECTED, RUNNING, WAITING

EFLOP = 1e18


def summarize(sim: Simulation) -> dict[str, Any]:
    jobs = sim.jobs
    done = [j for j in jobs if j.state == COMPLETED]
    jct_h = np.array([(j.end_s - j.spec.submit_s) / 3600.0 for j in done]) if done else np.zeros(0)
    t0 = min((j.spec.submit_s for j in jobs), default=0.0)
    span_s = max(sim.end_s - t0, 1e-9)
    capacity_chip_s = sim.fleet.chips * span_s
    peak_capacity = sum(p.chips * p.peak_flops_per_chip for p in sim.fleet.pools) * span_s
    useful = float(sum(j.done_flop for j in jobs if j.state != REJECTED))
    c = sim.c
    states = Counter(j.state for j in jobs)
    reasons = Counter(j.reject_reason for j in jobs if j.state == REJECTED)
    return {
        "policy": sim.policy.name,
        "fleet": sim.fleet.name,
        "jobs": len(jobs),
        "completed": len(done),
        "running_at_end": states.get(RUNNING, 0),
        "waiting_at_end": states.get(WAITING, 0),
        "rejected": states.get(REJECTED, 0),
        "reject_reasons": dict(reasons),
        "avg_jct_h": float(jct_h.mean()) if jct_h.size else float("nan"),
        "p99_jct_h": float(np.percentile(jct_h, 99)) if jct_h.size else float("nan"),
        "makespan_h": span_s / 3600.0,
        "utilization": c.busy_chip_s / capacity_chip_s,
        "fleet_mfu": useful / peak_capacity,
        "goodput_fraction": c.productive_chip_s / c.busy_chip_s if c.busy_chip_s else 0.0,
        "useful_eflop": useful / EFLOP,
        "lost_eflop_failures": c.lost_flop / EFLOP,
        "failures": c.failures,
        "interruptions": c.interruptions,
        "preemptions": c.preemptions,
        "resizes": c.resizes,
        "events": c.events,
        "wall_seconds": sim.wall_seconds,
    }

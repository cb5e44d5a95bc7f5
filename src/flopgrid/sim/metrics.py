"""Fleet metrics of a finished run (DESIGN.md `simulate` keys).

- jobs, completed; avg_jct_h / p99_jct_h over completed jobs (finish - submit, hours).
- makespan_h: first submit to the end of the run.
- utilization: busy chip-seconds / (fleet chips x makespan); busy includes restarts,
  checkpoint writes and work later lost.
- fleet_mfu: useful FLOPs / (sum over pools of chips x dense peak x makespan).
- goodput_fraction: productive chip-seconds (compute kept) / busy chip-seconds.
- useful_eflop: useful FLOPs delivered (finished work plus kept progress), in EFLOP.
- lost_eflop_failures: FLOPs computed and then lost to failures, in EFLOP.
Money (USD; the books close at the end of the run, or at `--horizon-h`):
- buyer_usd: what buyers paid, every chip-hour their jobs held at the price their policy set
  for that run segment; provider_revenue_usd: what pools' providers received (the same
  integer micro-dollars, summed by pool: the two are equal by construction).
- usd_per_useful_eflop: buyer_usd / useful_eflop.
- idle_chip_hours: fleet chips x makespan minus chip-hours held by jobs.
- With valued jobs (`value_usd_per_eflop` in the trace): value_delivered_usd = sum of each
  job's useful EFLOP delivered x its value per EFLOP (kept progress counts, as useful_eflop
  does); welfare_usd = value_delivered_usd - providers' cost, the chip-hours held by valued
  jobs x each pool's posted offer (the provider's ask); payments cancel out of welfare.
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
    buyer_micro = sum(j.paid_micro_usd for j in jobs)
    provider_micro = sum(c.revenue_micro_usd_by_pool)
    money: dict[str, Any] = {
        "buyer_usd": buyer_micro / 1e6,
        "provider_revenue_usd": provider_micro / 1e6,
        "usd_per_useful_eflop": buyer_micro / 1e6 / (useful / EFLOP) if useful > 0 else float("nan"),
        "idle_chip_hours": max(0.0, capacity_chip_s - c.busy_chip_s) / 3600.0,
    }
    valued = [j for j in jobs if j.spec.value_usd_per_eflop is not None and j.state != REJECTED]
    if valued:
        asks = [p.price_per_chip_hour for p in sim.pools()]
        value = sum(j.done_flop / EFLOP * j.spec.value_usd_per_eflop for j in valued)
        cost = sum(sum(seg_chip_s * asks[p] for p, seg_chip_s in j.held_chip_s_by_pool.items()) for j in valued) / 3600
        money["value_delivered_usd"] = value
        money["welfare_usd"] = value - cost
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
        **money,
        "events": c.events,
        "wall_seconds": sim.wall_seconds,
    }

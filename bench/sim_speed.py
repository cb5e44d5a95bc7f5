"""Simulator speed, one run per policy, with failures. Default: the full Philly trace (Pollux
artifact, 82,247 jobs) on `philly-like`. With `--synth N --scale K`: N synthetic
Philly-like jobs (`trace synth --like philly`, arrivals spread over `--days`) on
philly-like with every pool K times larger (K = 40: 99,840 chips). Prints wall seconds,
jobs/s and events/s per policy and the ratio of each policy's wall time to the first
policy's (the baseline, measured in the same run); for `market` and `gpuhour` also the
number of clearings and jobs started by them.

    python bench/sim_speed.py [TRACE] [--policies fifo,backfill,las,goodput,market,gpuhour]
    python bench/sim_speed.py --synth 1000000 --scale 40 --days 30
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from flopgrid.sched import make_policy
from flopgrid.sim import (
    FleetSpec,
    RateTable,
    Simulation,
    load_fleet,
    load_trace,
    summarize,
)
from flopgrid.sim.traces.synth import synth_jobs

DEFAULT = Path(os.environ.get("FLOPGRID_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data/traces/philly_pollux.csv"


def scaled(fleet: FleetSpec, k: int) -> FleetSpec:
    """`fleet` with every pool's chips x k (same islands, nodes and fabrics)."""
    return FleetSpec(name=f"{fleet.name}-x{k}", pools=tuple(
        p.model_copy(update={"id": p.id, "chips": p.chips * k}) for p in fleet.pools))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace", nargs="?", default=str(DEFAULT))
    ap.add_argument("--policies", default="fifo,backfill,las,goodput,market,gpuhour")
    ap.add_argument("--fleet", default="philly-like")
    ap.add_argument("--synth", type=int, default=0, help="synthetic Philly-like jobs instead of TRACE")
    ap.add_argument("--scale", type=int, default=1, help="multiply every pool's chips")
    ap.add_argument("--days", type=float, default=None, help="spread synthetic arrivals over this many days")
    args = ap.parse_args()
    t = time.perf_counter()
    if args.synth:
        jobs = synth_jobs(args.synth, seed=0, days=args.days)
        note = f"synthetic philly-like x{args.synth}"
    else:
        load = load_trace(args.trace, "philly" if "philly" in args.trace else None)
        jobs, note = load.jobs, load.summary()
    fleet = load_fleet(args.fleet)
    if args.scale > 1:
        fleet = scaled(fleet, args.scale)
    rates = RateTable(fleet)
    print(f"loaded {len(jobs)} jobs in {time.perf_counter() - t:.2f} s on {fleet.name} ({fleet.chips:,} chips) {note}")
    base = None
    for pol in args.policies.split(","):
        t = time.perf_counter()
        cpu = time.process_time()
        policy = make_policy(pol)
        sim = Simulation(fleet, jobs, policy, failures=True, seed=0, rates=rates).run()
        m = summarize(sim)
        wall = time.perf_counter() - t
        cpu = time.process_time() - cpu
        base = base or wall
        print(f"{pol:9s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  jobs/s {len(jobs) / wall:9.0f}  events/s {m['events'] / wall:9.0f}  "
              f"x {args.policies.split(',')[0]} {wall / base:5.2f}  completed {m['completed']}  "
              f"avg_jct_h {m['avg_jct_h']:.2f}  util {m['utilization']:.3f}  fleet_mfu {m['fleet_mfu']:.3f}  "
              f"$/EFLOP {m['usd_per_useful_eflop']:.3f}  failures {m['failures']}")
        if hasattr(policy, "clearings"):
            print(f"          {pol}: batch {policy.batch_s:.0f} s, {policy.clearings} clearings, started {policy.started}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Simulator speed on the full Philly trace (Pollux artifact, 82,247 jobs) on `philly-like`
with failures, one run per policy. Prints wall seconds, jobs/s and events/s per policy and
the ratio of each policy's wall time to fifo's (the baseline, measured in the same run).

    .venv/bin/python bench/sim_speed.py [TRACE] [--policies fifo,backfill,las,goodput]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from flopgrid.sim import RateTable, load_fleet, load_trace, simulate

DEFAULT = Path(os.environ.get("FLOPGRID_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data/traces/philly_pollux.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace", nargs="?", default=str(DEFAULT))
    ap.add_argument("--policies", default="fifo,backfill,las,goodput")
    ap.add_argument("--fleet", default="philly-like")
    args = ap.parse_args()
    t = time.perf_counter()
    load = load_trace(args.trace, "philly" if "philly" in args.trace else None)
    fleet = load_fleet(args.fleet)
    rates = RateTable(fleet)
    print(f"loaded {len(load.jobs)} jobs in {time.perf_counter() - t:.2f} s {load.summary()}")
    base = None
    for pol in args.policies.split(","):
        t = time.perf_counter()
        m, sim = simulate(fleet, load.jobs, pol, failures=True, seed=0, rates=rates)
        wall = time.perf_counter() - t
        base = base or wall
        print(f"{pol:9s} wall {wall:6.2f} s  jobs/s {len(load.jobs) / wall:9.0f}  events/s {m['events'] / wall:9.0f}  "
              f"x fifo {wall / base:5.2f}  completed {m['completed']}  avg_jct_h {m['avg_jct_h']:.2f}  "
              f"util {m['utilization']:.3f}  fleet_mfu {m['fleet_mfu']:.3f}  failures {m['failures']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

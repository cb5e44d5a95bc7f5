"""Simulator speed on the full Philly trace (Pollux artifact, 82,247 jobs) on `philly-like`
with failures, one run per policy. Prints wall seconds, jobs/s and events/s per policy and
the ratio of each policy's wall time to fifo's (the baseline, measured in the same run).
For `market` it also prints the number of clearings and the HiGHS solve time; its epoch
length and bid cap can be set (`--market-epoch-s`, `--market-max-bids`).

    .venv/bin/python bench/sim_speed.py [TRACE] [--policies fifo,backfill,las,goodput,market]
        [--market-epoch-s 300] [--market-max-bids 64]
"""

from __future__ import annotations

import argparse
import sys
import time

from flopgrid.sim import RateTable, Simulation, load_fleet, load_trace, summarize
from flopgrid.sim.policies import make_policy
from flopgrid.sim.policies.market import Market

from _shared import require_shared

PHILLY = "data/traces/philly_pollux.csv"  # under ../shared


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace", nargs="?", default=None, help="trace file (default: ../shared's Philly trace)")
    ap.add_argument("--policies", default="fifo,backfill,las,goodput,market")
    ap.add_argument("--market-epoch-s", type=float, default=None, help="market epoch (default: the policy's)")
    ap.add_argument("--market-max-bids", type=int, default=None, help="bids per clearing (default: the policy's)")
    ap.add_argument("--fleet", default="philly-like")
    args = ap.parse_args()
    if args.trace is None:
        args.trace = str(require_shared(PHILLY, "the Philly benchmark"))
    t = time.perf_counter()
    load = load_trace(args.trace, "philly" if "philly" in args.trace else None)
    fleet = load_fleet(args.fleet)
    rates = RateTable(fleet)
    print(f"loaded {len(load.jobs)} jobs in {time.perf_counter() - t:.2f} s {load.summary()}")
    base = None
    for pol in args.policies.split(","):
        t = time.perf_counter()
        if pol == "market":
            kw = {k: v for k, v in (("epoch_s", args.market_epoch_s), ("max_bids", args.market_max_bids)) if v}
            policy = Market(**kw)
        else:
            policy = make_policy(pol)
        sim = Simulation(fleet, load.jobs, policy, failures=True, seed=0, rates=rates).run()
        m = summarize(sim)
        wall = time.perf_counter() - t
        base = base or wall
        print(f"{pol:9s} wall {wall:6.2f} s  jobs/s {len(load.jobs) / wall:9.0f}  events/s {m['events'] / wall:9.0f}  "
              f"x fifo {wall / base:5.2f}  completed {m['completed']}  avg_jct_h {m['avg_jct_h']:.2f}  "
              f"util {m['utilization']:.3f}  fleet_mfu {m['fleet_mfu']:.3f}  failures {m['failures']}")
        if pol == "market":
            cl = policy.clearings
            print(f"          market: epoch {policy.epoch_s:.0f} s, max_bids {policy.max_bids}, {len(cl)} clearings, "
                  f"HiGHS+build {sum(c['solve_seconds'] for c in cl):.1f} s, bids/clearing "
                  f"{sum(c['bids'] for c in cl) / max(1, len(cl)):.0f}, started {sum(c['started'] for c in cl)}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

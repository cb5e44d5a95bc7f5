"""The thesis benchmark: the useful-FLOP market (`market`) against a GPU-hour market
(`gpuhour`) and the classic schedulers on the same fleet and demand (issue 11).

For each load (default 0.7, 1.0, 1.3) and seed (default 0, 1, 2) it draws an llm-market
trace for the fleet (`trace synth --like llm-market`), runs every policy over the same
horizon (the trace's `days`, books closed there) and prints per policy the useful EFLOP,
buyer USD, useful EFLOP per buyer dollar and mean JCT of completed jobs, then per load:
- market / gpuhour useful EFLOP per buyer dollar (target >= 1.25x),
- market useful EFLOP / the best other policy's (target >= 1.0x),
- market mean JCT / the best non-elastic policy's (fifo, backfill, las, gpuhour; target
  <= 1.10x).
Ratios are of sums over seeds (mean JCT: mean over seeds). Held-out fleets: --fleet FILE.

    python bench/thesis.py [--fleet grid-mixed] [--loads 0.7,1.0,1.3] [--seeds 0,1,2] [--days 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from flopgrid.sim import RateTable, load_fleet, simulate
from flopgrid.sim.traces.llm_market import llm_market_jobs

POLICIES = ("fifo", "backfill", "las", "goodput", "gpuhour", "market")
NON_ELASTIC = ("fifo", "backfill", "las", "gpuhour")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleet", default="grid-mixed")
    ap.add_argument("--loads", default="0.7,1.0,1.3")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--days", type=float, default=3.0)
    args = ap.parse_args()
    fleet = load_fleet(args.fleet)
    rates = RateTable(fleet)
    horizon_s = args.days * 86400.0
    t_all = time.perf_counter()
    verdict = []
    for load in (float(x) for x in args.loads.split(",")):
        acc = {p: {"eflop": 0.0, "usd": 0.0, "jct": []} for p in POLICIES}
        for seed in (int(x) for x in args.seeds.split(",")):
            jobs = llm_market_jobs(fleet, load, args.days, seed=seed, rates=rates)
            print(f"load {load:.1f} seed {seed}: {len(jobs):,} jobs over {args.days:g} days on {fleet.name}")
            for p in POLICIES:
                m, _ = simulate(fleet, jobs, p, seed=seed, rates=rates, horizon_s=horizon_s)
                acc[p]["eflop"] += m["useful_eflop"]
                acc[p]["usd"] += m["buyer_usd"]
                acc[p]["jct"].append(m["avg_jct_h"])
                print(f"  {p:9s} EFLOP {m['useful_eflop']:10,.0f}  buyer $ {m['buyer_usd']:10,.0f}  "
                      f"EFLOP/$ {m['useful_eflop'] / m['buyer_usd']:.3f}  JCT {m['avg_jct_h']:6.2f} h  "
                      f"done {m['completed']:5d}  util {m['utilization']:.3f}  {m['wall_seconds']:.1f} s")
                sys.stdout.flush()
        per_usd = {p: a["eflop"] / a["usd"] for p, a in acc.items()}
        jct = {p: float(np.mean(a["jct"])) for p, a in acc.items()}
        r_usd = per_usd["market"] / per_usd["gpuhour"]
        best_other = max((p for p in POLICIES if p != "market"), key=lambda p: acc[p]["eflop"])
        r_eflop = acc["market"]["eflop"] / acc[best_other]["eflop"]
        best_jct = min(NON_ELASTIC, key=lambda p: jct[p])
        r_jct = jct["market"] / jct[best_jct]
        print(f"LOAD {load:.1f}: market/gpuhour EFLOP per $ {r_usd:.3f}x (>= 1.25: {'met' if r_usd >= 1.25 else 'MISSED'}); "
              f"market/{best_other} useful EFLOP {r_eflop:.3f}x (>= 1.0: {'met' if r_eflop >= 1.0 else 'MISSED'}); "
              f"market/{best_jct} mean JCT {r_jct:.3f}x (<= 1.10: {'met' if r_jct <= 1.10 else 'MISSED'})")
        verdict.append((load, r_usd, r_eflop, r_jct))
    print(f"total {time.perf_counter() - t_all:.0f} s")
    for load, a, b, c in verdict:
        print(f"summary load {load:.1f}: EFLOP/$ vs gpuhour {a:.3f}x, EFLOP vs best other {b:.3f}x, JCT vs best non-elastic {c:.3f}x")


if __name__ == "__main__":
    main()

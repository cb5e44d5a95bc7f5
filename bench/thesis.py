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
Diagnostics printed under each load (not targets), so a missed EFLOP-per-$ target can be
read: welfare (value delivered - the providers' asks for the chip-hours held) per policy;
useful EFLOP per buyer $ on the matched jobs (completed under both market and gpuhour: the
same work, so the policies' different mixes of cheap and expensive work drop out); and the
ceiling on those matched jobs, the EFLOP per $ of each job's cheapest option at the asks
(any pool, gangs 1/4-1x of the request, expected goodput included, capacity unlimited): no
placement and no price at or above the asks can beat it.

    python bench/thesis.py [--fleet grid-mixed] [--loads 0.7,1.0,1.3] [--seeds 0,1,2] [--days 3]
                           [--market-buyer surplus|cost]

`--market-buyer cost` runs `market` with the buyer that has no value for time (useful EFLOP
per dollar first, `flopgrid.sched.market`): the other end of the EFLOP-per-$ / EFLOP trade-off.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from flopgrid.sched import Market
from flopgrid.sched.base import eflop_per_hour, gang_options
from flopgrid.sched.market import BUYERS
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
    ap.add_argument("--market-buyer", choices=BUYERS, default="surplus")
    args = ap.parse_args()
    fleet = load_fleet(args.fleet)
    rates = RateTable(fleet)
    horizon_s = args.days * 86400.0
    t_all = time.perf_counter()
    verdict = []
    for load in (float(x) for x in args.loads.split(",")):
        acc = {p: {"eflop": 0.0, "usd": 0.0, "jct": [], "welfare": 0.0} for p in POLICIES}
        matched = {"market": [0.0, 0.0], "gpuhour": [0.0, 0.0], "ceiling": [0.0, 0.0]}  # EFLOP, USD
        for seed in (int(x) for x in args.seeds.split(",")):
            jobs = llm_market_jobs(fleet, load, args.days, seed=seed, rates=rates)
            print(f"load {load:.1f} seed {seed}: {len(jobs):,} jobs over {args.days:g} days on {fleet.name}")
            sims = {}
            for p in POLICIES:
                pol = Market(seed=seed, buyer=args.market_buyer) if p == "market" else p
                m, sims[p] = simulate(fleet, jobs, pol, seed=seed, rates=rates, horizon_s=horizon_s)
                acc[p]["eflop"] += m["useful_eflop"]
                acc[p]["usd"] += m["buyer_usd"]
                acc[p]["jct"].append(m["avg_jct_h"])
                acc[p]["welfare"] += m.get("welfare_usd", 0.0)
                print(f"  {p:9s} EFLOP {m['useful_eflop']:10,.0f}  buyer $ {m['buyer_usd']:10,.0f}  "
                      f"EFLOP/$ {m['useful_eflop'] / m['buyer_usd']:.3f}  JCT {m['avg_jct_h']:6.2f} h  "
                      f"done {m['completed']:5d}  util {m['utilization']:.3f}  {m['wall_seconds']:.1f} s")
                sys.stdout.flush()
            _matched(sims["market"], sims["gpuhour"], matched)
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
        best_w = max((p for p in POLICIES if p != "market"), key=lambda p: acc[p]["welfare"])
        mk, gh, ce = (matched[k][0] / matched[k][1] for k in ("market", "gpuhour", "ceiling"))
        print(f"  diagnostics load {load:.1f}: welfare market ${acc['market']['welfare']:,.0f} = "
              f"{acc['market']['welfare'] / acc[best_w]['welfare']:.3f}x {best_w}'s, "
              f"{acc['market']['welfare'] / acc['gpuhour']['welfare']:.3f}x gpuhour's; matched jobs EFLOP per $ market "
              f"{mk:.3f}, gpuhour {gh:.3f} ({mk / gh:.3f}x); ceiling {ce:.3f} ({ce / gh:.3f}x gpuhour)")
        verdict.append((load, r_usd, r_eflop, r_jct))
    print(f"total {time.perf_counter() - t_all:.0f} s")
    for load, a, b, c in verdict:
        print(f"summary load {load:.1f}: EFLOP/$ vs gpuhour {a:.3f}x, EFLOP vs best other {b:.3f}x, JCT vs best non-elastic {c:.3f}x")


def _matched(market, gpuhour, out: dict) -> None:
    """Add the jobs completed under both runs: their EFLOP and USD under each, and the
    ceiling (each job's cheapest useful EFLOP at the asks, see the module docstring)."""
    asks = [p.price_per_chip_hour for p in market.pools()]
    for a, b in zip(market.jobs, gpuhour.jobs):
        if a.state != "completed" or b.state != "completed":
            continue
        eflop = a.work_flop / 1e18
        for key, j in (("market", a), ("gpuhour", b)):
            out[key][0] += eflop
            out[key][1] += j.paid_micro_usd / 1e6
        best = max((eflop_per_hour(market, a, p, g) / (g * asks[p]) for g in gang_options(a.spec.chips, 4)
                    for p in market.pools_for(a, g) if asks[p] > 0), default=0.0)
        if best > 0:
            out["ceiling"][0] += eflop
            out["ceiling"][1] += eflop / best


if __name__ == "__main__":
    main()

"""Benchmark: clear generated markets with `flopgrid.market.clear` (HiGHS via highspy) at
growing sizes, and in the same run solve one exact MILP with scipy.optimize.milp as the baseline.

    python bench/market_clear.py                                  # the issue-16 table, seeds 1-3
    python bench/market_clear.py --sizes 1000x100 --seeds 1       # one size

1. The table: per size (bids x pools, 24 intervals) and seed, `clear(method="auto")`: the
   exact MILP up to 20,000 bid x pool pairs (gap = HiGHS's proven gap), the large-market path
   above (`flopgrid.market.large`: gap = (upper bound - welfare) / upper bound, the bound the
   smallest valid one found: the Lagrangian/LP bound, tightened by exact pool sub-MIPs (the
   pool Lagrangian up to 40 pools, the pool bound at prices above); time, welfare, bound, gap,
   and whether gap <= --gap within --time-limit.
2. The baseline: the exact monolithic MILP of the `--baseline` market solved by HiGHS
   (highspy) and by scipy.optimize.milp on the same model; their times and the ratio.
   (Neither handles 1,000 x 100 within the limit: the exact model has ~81,000 binaries.)

Prints `uptime` before and after: the machine is shared, and load makes timings noisy.
Needs the `market` and `bench` extras (highspy, scipy).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def scipy_solve(model, time_limit_s: float, gap: float):
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csc_array

    A = csc_array((model.a_value, model.a_index, model.a_start), shape=(model.n_rows, model.n_cols))
    t0 = time.perf_counter()
    res = milp(model.col_cost, integrality=model.integrality, bounds=Bounds(model.col_lower, model.col_upper),
               constraints=LinearConstraint(A, model.row_lower, model.row_upper),
               options={"time_limit": time_limit_s, "mip_rel_gap": gap, "disp": False})
    secs = time.perf_counter() - t0
    welfare = -res.fun if res.x is not None else None
    return res.status, res.message, secs, welfare, getattr(res, "mip_gap", None)


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="300x30,1000x100,3000x300,10000x1000", help="bids x pools, comma-separated")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--intervals", type=int, default=24)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds, per solve")
    ap.add_argument("--gap", type=float, default=0.01, help="relative gap target")
    ap.add_argument("--baseline", default="300x30", help="bids x pools of the exact-MILP baseline")
    ap.add_argument("--method", default="auto", help="auto | exact | decomposition (the path `clear` takes)")
    ap.add_argument("--no-scipy", action="store_true")
    args = ap.parse_args()

    from flopgrid.market import clear, generate_scenario, parse_scenario
    from flopgrid.market.clearing import AUTO_EXACT_MAX_PAIRS
    from flopgrid.market.formulation.model import build_model
    from flopgrid.market.solve.highs import solve_milp
    from flopgrid.market.valuation import Valuer

    print(f"start: {_load()} ({os.cpu_count()} CPUs)")
    print(f"{'bids x pools':>13} {'seed':>4} {'method':>13} {'time s':>7} {'welfare $':>12} {'bound $':>12} "
          f"{'gap':>7}  target")
    met_all = {}
    for size in args.sizes.split(","):
        bids, pools = (int(x) for x in size.lower().split("x"))
        methods = [args.method]
        if args.method == "auto" and bids * pools <= AUTO_EXACT_MAX_PAIRS:
            methods.append("decomposition")  # auto clears this size exactly: show the large path too
        for seed, method in ((int(x), m) for x in args.seeds.split(",") for m in methods):
            sc = parse_scenario(generate_scenario(pools, bids, args.intervals, seed))
            t0 = time.perf_counter()
            r = clear(sc, time_limit_s=args.time_limit, mip_gap=args.gap, method=method)
            secs = time.perf_counter() - t0
            bound = r.upper_bound_usd
            if bound is None and r.gap is not None:  # exact: HiGHS's proven bound
                bound = r.welfare_usd / (1 - r.gap) if r.gap < 1 else float("inf")
            met = r.gap is not None and r.gap <= args.gap and secs <= args.time_limit
            met_all.setdefault((size, r.method), []).append(met)
            gap = "n/a" if r.gap is None else f"{100 * r.gap:.2f}%"
            print(f"{bids:>6,} x {pools:<5,} {seed:>4} {r.method:>13} {secs:>7.1f} {r.welfare_usd:>12,.0f} "
                  f"{bound if bound is not None else float('nan'):>12,.0f} {gap:>7}  {'MET' if met else 'MISSED'}",
                  flush=True)
    print(f"after the table: {_load()}")
    for (size, method), mets in met_all.items():
        print(f"  {size} ({method}): gap <= {100 * args.gap:g}% within {args.time_limit:g} s on {sum(mets)} of "
              f"{len(mets)} seeds")

    if args.no_scipy:
        return
    bb, bp = (int(x) for x in args.baseline.lower().split("x"))
    seed = int(args.seeds.split(",")[0])
    bsc = parse_scenario(generate_scenario(bp, bb, args.intervals, seed))
    t0 = time.perf_counter()
    model = build_model(bsc, Valuer(bsc.horizon.interval_hours))
    t_build = time.perf_counter() - t0
    print(f"baseline market: {bb} bids x {bp} pools x {args.intervals} intervals (seed {seed}), "
          f"exact MILP {model.n_x:,} binaries, {model.n_rows:,} rows (valuation+build {t_build:.2f} s)")
    out = solve_milp(model, args.time_limit, args.gap)
    hw = -out.objective if out.objective is not None else float("nan")
    hgap = "n/a" if out.gap is None else f"{100 * out.gap:.2f}%"
    print(f"  highspy MILP: {out.status}, {out.seconds:.2f} s, gap {hgap}, welfare ${hw:,.0f}")
    status, msg, secs, sw, sgap = scipy_solve(model, args.time_limit, args.gap)
    sgap_s = f"{100 * sgap:.2f}%" if sgap is not None and np.isfinite(sgap) else "n/a"
    sw_s = f"${sw:,.0f}" if sw is not None else "no solution"
    print(f"  scipy.optimize.milp: status {status} ({msg.split('.')[0]}), {secs:.2f} s, gap {sgap_s}, welfare {sw_s}")
    print(f"  ratio scipy / highspy solve time (same model): {secs / out.seconds:.2f}x")
    print(f"end: {_load()}")


if __name__ == "__main__":
    main()

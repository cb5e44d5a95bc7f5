"""Benchmark: clear a generated market with `flopgrid.market.clear` (HiGHS via highspy) and,
in the same run, solve the same exact MILP with scipy.optimize.milp as the baseline.

    .venv/bin/python bench/market_clear.py                      # 10,000 x 1,000 x 24, 60 s
    .venv/bin/python bench/market_clear.py --bids 2000 --pools 200

1. The large market through the decomposition path (Lagrangian bound from column-generation
   duals + restricted master MILP on HiGHS): welfare, the upper bound, the gap
   (bound - welfare) / bound, and the time split valuation / options / bound / master LP /
   solve / pricing.
2. The baseline: the exact monolithic MILP of a smaller generated market (`--baseline-bids`
   x `--baseline-pools`, the largest size scipy handles in the time limit here), solved by
   HiGHS (highspy) and by scipy.optimize.milp on the same model; their times and the ratio.
   (scipy.optimize.milp cannot take the full-size exact model: tens of millions of binaries.)

Needs the `market` and `bench` extras (highspy, scipy). Wall-clock timings on whatever
machine runs it; other load makes them noisy.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bids", type=int, default=10_000)
    ap.add_argument("--pools", type=int, default=1_000)
    ap.add_argument("--intervals", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds, per solve")
    ap.add_argument("--gap", type=float, default=0.01, help="relative gap target")
    ap.add_argument("--baseline-bids", type=int, default=300)
    ap.add_argument("--baseline-pools", type=int, default=30)
    ap.add_argument("--no-scipy", action="store_true")
    args = ap.parse_args()

    from flopgrid.market import clear, parse_scenario
    from flopgrid.market.generate import generate_scenario
    from flopgrid.market.highs_backend import solve_milp
    from flopgrid.market.model_build import build_model
    from flopgrid.market.valuation import Valuer

    t0 = time.perf_counter()
    sc = parse_scenario(generate_scenario(args.pools, args.bids, args.intervals, args.seed))
    print(f"market: {args.bids:,} bids x {args.pools:,} pools x {args.intervals} intervals (seed {args.seed}); "
          f"generate+validate {time.perf_counter() - t0:.2f} s")
    valuer = Valuer(sc.horizon.interval_hours)
    t0 = time.perf_counter()
    r = clear(sc, time_limit_s=args.time_limit, mip_gap=args.gap, valuer=valuer, method="decomposition")
    total = time.perf_counter() - t0
    split = ", ".join(f"{k} {v:.2f}" for k, v in r.timings_s.items())
    print(f"decomposition (HiGHS): {r.status}, {total:.2f} s total ({split} s; {len(valuer._mfu)} perf-model calls)")
    print(f"  master: {r.model_size['binaries']:,} binaries, {r.model_size['rows']:,} rows; "
          f"cleared {len(r.allocations):,} / unserved {len(r.unserved):,}")
    gap = "n/a" if r.gap is None else f"{100 * r.gap:.2f}%"
    ub = "n/a" if r.upper_bound_usd is None else f"${r.upper_bound_usd:,.0f}"
    print(f"  welfare ${r.welfare_usd:,.0f}, Lagrangian upper bound {ub}, gap {gap}")
    met = r.gap is not None and r.gap <= args.gap and total <= args.time_limit
    print(f"  target gap <= {100 * args.gap:g}% within {args.time_limit:g} s: {'MET' if met else 'MISSED'}")

    if args.no_scipy:
        return
    bsc = parse_scenario(generate_scenario(args.baseline_pools, args.baseline_bids, args.intervals, args.seed))
    bval = Valuer(bsc.horizon.interval_hours)
    t0 = time.perf_counter()
    model = build_model(bsc, bval)
    t_build = time.perf_counter() - t0
    print(f"baseline market: {args.baseline_bids} bids x {args.baseline_pools} pools x {args.intervals} intervals, "
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
    dec = clear(bsc, time_limit_s=args.time_limit, mip_gap=args.gap, valuer=bval, method="decomposition")
    print(f"  decomposition on the baseline market: {dec.solve_seconds:.2f} s, welfare ${dec.welfare_usd:,.0f}, "
          f"bound ${dec.upper_bound_usd:,.0f}, gap {100 * dec.gap:.2f}% "
          f"(exact HiGHS welfare is {100 * (hw - dec.welfare_usd) / hw:+.2f}% above it)")


if __name__ == "__main__":
    main()

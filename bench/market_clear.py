"""Benchmark: clear a generated market with HiGHS (highspy, as `flopgrid.market.clear` does)
and solve the same MILP with scipy.optimize.milp in the same run as the baseline.

    .venv/bin/python bench/market_clear.py --bids 10000 --pools 1000 --intervals 24 --time-limit 60

Prints the model size, the time and gap each solver reaches, the welfare, and the ratio of
solve times (scipy / highspy). Needs the `market` and `bench` extras (highspy, scipy).
Timings are wall-clock on whatever machine runs it; other load makes them noisy.
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
    ap.add_argument("--time-limit", type=float, default=60.0, help="per solver, seconds")
    ap.add_argument("--gap", type=float, default=0.01, help="relative MIP gap target")
    ap.add_argument("--max-pools-per-bid", type=int, default=None, help="candidate cap (inexact; default exact)")
    ap.add_argument("--no-scipy", action="store_true")
    args = ap.parse_args()

    from flopgrid.market import parse_scenario
    from flopgrid.market.generate import generate_scenario
    from flopgrid.market.highs_backend import fixed_lp_duals, solve_milp
    from flopgrid.market.model_build import build_model
    from flopgrid.market.valuation import Valuer

    t0 = time.perf_counter()
    sc = parse_scenario(generate_scenario(args.pools, args.bids, args.intervals, args.seed))
    t_gen = time.perf_counter() - t0
    valuer = Valuer(sc.horizon.interval_hours)
    t0 = time.perf_counter()
    model = build_model(sc, valuer, args.max_pools_per_bid)
    t_build = time.perf_counter() - t0
    print(f"market: {args.bids:,} bids x {args.pools:,} pools x {args.intervals} intervals (seed {args.seed}), "
          f"candidate cap: {args.max_pools_per_bid or 'none (exact)'}")
    print(f"model: {model.n_x:,} binaries, {model.n_cols:,} columns, {model.n_rows:,} rows, {len(model.a_value):,} nonzeros")
    print(f"generate+validate {t_gen:.2f} s; valuation+build {t_build:.2f} s ({len(valuer._mfu)} perf-model calls)")

    out = solve_milp(model, args.time_limit, args.gap)
    welfare = -out.objective if out.objective is not None else None
    t0 = time.perf_counter()
    priced = fixed_lp_duals(model, out.col_value) if out.col_value is not None else None
    t_price = time.perf_counter() - t0
    gap = f"{100 * out.gap:.3f}%" if out.gap is not None else "n/a"
    print(f"highspy MILP: {out.status}, {out.seconds:.2f} s, gap {gap}, welfare ${welfare:,.0f}" if welfare is not None
          else f"highspy MILP: {out.status}, {out.seconds:.2f} s, no solution")
    print(f"fixed-integer LP prices: {'ok' if priced else 'failed'} in {t_price:.2f} s")
    total = t_build + out.seconds + t_price
    met = out.gap is not None and out.gap <= args.gap + 1e-12 and out.seconds <= args.time_limit
    print(f"clear (valuation + build + MILP + prices): {total:.2f} s; target gap <= {100 * args.gap:g}% "
          f"within {args.time_limit:g} s: {'MET' if met else 'MISSED'}")
    if not args.no_scipy:
        status, msg, secs, sw, sgap = scipy_solve(model, args.time_limit, args.gap)
        sgap_s = f"{100 * sgap:.3f}%" if sgap is not None and np.isfinite(sgap) else "n/a"
        sw_s = f"${sw:,.0f}" if sw is not None else "no solution"
        print(f"scipy.optimize.milp: status {status} ({msg.split('.')[0]}), {secs:.2f} s, gap {sgap_s}, welfare {sw_s}")
        print(f"ratio scipy / highspy solve time: {secs / out.seconds:.2f}x")


if __name__ == "__main__":
    main()

"""Refit the performance model's calibration constants, once, on every published run.

    python bench/perf_calibrate.py [--maxfev N]

Two steps, each one global fit (never per row or per source), by Nelder-Mead on the
per-source mean |log(1 + error)| plus a tenth of the worst row's (bench/perf_fit.py):
1. with --a100 (alternating with step 2, two rounds): the A100 kernel and link constants (`gemm_eff_max`,
   `hbm_eff`, `link_eff`) on ../shared/reference/perf_measured.csv (Korthikanti, SC21);
2. the scale and overlap mechanisms (`straggler_cv`, `overlap_slowdown`) on every row of
   perf_measured.csv and bench/perf_published.csv.
Prints the values to paste into flopgrid/perf/constants.py and the per-source errors before
and after. Needs scipy (the `bench` extra).
"""

from __future__ import annotations

import argparse
import sys
import time

from perf_fit import A100_NAMES, NEW_NAMES, errors, fit, fit_a100, load_runs

from flopgrid.perf.constants import CALIBRATION


def summary(runs, errs) -> str:
    lines, by = [], {}
    for (g, _), e in zip(runs, errs):
        by.setdefault(g, []).append(abs(e))
    for g, e in by.items():
        lines.append(f"  {g[:50]:50s} rows {len(e):2d}  mean {100 * sum(e) / len(e):5.2f}%  max {100 * max(e):5.2f}%")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maxfev", type=int, default=400)
    ap.add_argument("--a100", action="store_true", help="also refit the A100 constants (step 1)")
    args = ap.parse_args(argv)
    runs = load_runs()
    print("before:\n" + summary(runs, errors(runs, CALIBRATION)))
    started = time.perf_counter()
    cal, names = CALIBRATION, NEW_NAMES
    rounds = 2 if args.a100 else 1
    for _ in range(rounds):  # alternate: the A100 constants given the mechanisms, then the mechanisms
        if args.a100:
            cal, _ = fit_a100(runs, cal, args.maxfev)
            names = A100_NAMES + NEW_NAMES
        cal, nfev = fit(runs, cal, args.maxfev)
    print(f"fitted in {time.perf_counter() - started:.1f} s ({nfev} evaluations):")
    for n in names:
        print(f"    {n}: float = {getattr(cal, n):.4g}")
    print("after:\n" + summary(runs, errors(runs, cal)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

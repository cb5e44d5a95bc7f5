"""Refit the performance model's calibration constants, once, on every published run.

    python bench/perf_calibrate.py [--maxfev N]

One global fit (never per row or per source) of `gemm_eff_max`, `hbm_eff`, `link_eff`,
`straggler_cv` and `overlap_slowdown` on every row of ../shared/reference/perf_measured.csv
and bench/perf_published.csv, by Nelder-Mead on the per-source mean |log(1 + error)| plus a
tenth of the worst row's, with a hinge that keeps each of Korthikanti and SC21 within 4.5%
mean, inside physical bounds (bench/perf_fit.py). Prints the values to paste into
flopgrid/perf/constants.py and the per-source errors before and after. Needs scipy (the
`bench` extra).
"""

from __future__ import annotations

import argparse
import sys
import time

from _shared import require_shared
from perf_fit import NAMES, errors, fit, load_runs

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
    args = ap.parse_args(argv)
    # the shipped constants were fitted on both sets: refitting without the in-sample rows would not reproduce them
    require_shared("reference/perf_measured.csv", "the calibration fit")
    runs = load_runs()
    print("before:\n" + summary(runs, errors(runs, CALIBRATION)))
    started = time.perf_counter()
    cal, nfev = fit(runs, CALIBRATION, args.maxfev)
    print(f"fitted in {time.perf_counter() - started:.1f} s ({nfev} evaluations):")
    for n in NAMES:
        print(f"    {n}: float = {getattr(cal, n):.4g}")
    print("after:\n" + summary(runs, errors(runs, cal)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Refit the performance model's calibration constants on perf_measured.csv.

    python bench/perf_calibrate.py [CSV]

Fits `gemm_eff_max`, `gemm_half_dim_elems`, `hbm_eff`, `link_eff` and `dp_overlap`
(flopgrid.perf.constants.Calibration) once, for all rows together (never per row), by
Nelder-Mead on the mean squared log error of the predicted figure (step time or TFLOP/s
per chip, blank plan fields searched as in bench/perf_accuracy.py). Prints the fitted
values to paste into constants.py, and the per-source errors before and after.
Needs scipy (the `bench` extra).
"""

from __future__ import annotations

import csv
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.published import check_run, run_from_row
from scipy.optimize import minimize

from _shared import require_shared

IN_SAMPLE = "reference/perf_measured.csv"  # under ../shared
NAMES = ("gemm_eff_max", "gemm_half_dim_elems", "hbm_eff", "link_eff", "dp_overlap")
BOUNDS = ((0.5, 0.95), (1.0, 4000.0), (0.4, 1.0), (0.3, 1.0), (0.0, 1.0))


def _cal(x) -> Calibration:
    vals = {n: min(max(v, lo), hi) for n, v, (lo, hi) in zip(NAMES, x, BOUNDS)}
    return replace(CALIBRATION, **vals)


def errors(runs, cal: Calibration) -> list[tuple[str, float]]:
    out = []
    for run in runs:
        c = check_run(run, cal)
        out.append((run.source.split(" Table")[0], c.error))
    return out


def summary(errs) -> str:
    lines = []
    for g in sorted({g for g, _ in errs}):
        e = [abs(x) for gg, x in errs if gg == g]
        lines.append(f"  {g[:55]:55s} mean {100 * sum(e) / len(e):5.2f}%  max {100 * max(e):5.2f}%")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else require_shared(IN_SAMPLE, "the calibration")
    with path.open(newline="") as fh:
        runs = [run_from_row(r) for r in csv.DictReader(fh)]
    x0 = [getattr(CALIBRATION, n) for n in NAMES]
    print("before:\n" + summary(errors(runs, CALIBRATION)))

    def loss(x) -> float:
        errs = [e for _, e in errors(runs, _cal(x))]
        logs = [math.log1p(e) ** 2 for e in errs]
        return sum(logs) / len(logs) + 0.5 * max(logs)

    started = time.perf_counter()
    best = minimize(loss, x0, method="Nelder-Mead", options={"maxfev": 600, "xatol": 1e-3, "fatol": 1e-7})
    cal = _cal(best.x)
    print(f"fitted in {time.perf_counter() - started:.1f} s ({best.nfev} evaluations):")
    for n in NAMES:
        print(f"    {n} = {getattr(cal, n):.4g}")
    print("after:\n" + summary(errors(runs, cal)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

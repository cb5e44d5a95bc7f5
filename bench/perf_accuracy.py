"""Accuracy of flopgrid's performance model on published runs.

    python bench/perf_accuracy.py [CSV ...]

Default CSV: ../shared/reference/perf_measured.csv (Korthikanti et al. 2022 Table 5 step
times; Megatron-LM SC21 Table 1 TFLOP/s per GPU). Published plan fields are pinned, blank
ones searched; the same calibration constants for every row. Prints the per-row error,
then the mean / max absolute error per source, and the time per prediction.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from flopgrid.perf.published import check_run, run_from_row

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "reference" / "perf_measured.csv"


def main(paths: list[str]) -> int:
    files = [Path(p) for p in paths] or [DEFAULT]
    groups: dict[str, list[float]] = {}
    started = time.perf_counter()
    n = 0
    print(f"{'id':40s} {'plan':42s} {'metric':16s} {'measured':>9s} {'predicted':>9s} {'error':>7s}")
    for path in files:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                check = check_run(run_from_row(row))
                n += 1
                group = row.get("source", "").split(" Table")[0].split(",")[0]
                groups.setdefault(group, []).append(abs(check.error))
                print(f"{check.run.id:40s} {check.plan.short():42s} {check.metric:16s} {check.measured:9.2f} "
                      f"{check.predicted:9.2f} {100 * check.error:+6.1f}%")
    elapsed = time.perf_counter() - started
    print()
    for group, errs in groups.items():
        print(f"{group:60s} rows {len(errs):2d}  mean |error| {100 * sum(errs) / len(errs):5.2f}%  "
              f"max {100 * max(errs):5.2f}%")
    every = [e for errs in groups.values() for e in errs]
    print(f"{'all rows':60s} rows {len(every):2d}  mean |error| {100 * sum(every) / len(every):5.2f}%  "
          f"max {100 * max(every):5.2f}%")
    print(f"{n} rows (searching blank plan fields) in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

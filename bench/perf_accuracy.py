"""Accuracy of flopgrid's performance model on published runs, with the honest figure.

    python bench/perf_accuracy.py [--maxfev N]      # in-sample, leave-one-source-out, bands
    python bench/perf_accuracy.py CSV [CSV ...]     # rows never used for fitting

Without CSV arguments it reads every published run the constants were fitted on
(../shared/reference/perf_measured.csv and bench/perf_published.csv, bench/perf_fit.py)
and prints three blocks:
1. in-sample: every row with the shipped constants (flopgrid.perf.constants), which were
   fitted once on all of these rows together; these errors are NOT out-of-sample;
2. leave-one-source-out (the honest out-of-sample figure): for each publication, the
   constants are refitted without its rows (warm start from the shipped ones, the same
   fit as bench/perf_calibrate.py) and its rows are predicted; per-source mean / max
   |error| and the mean and max over every source;
3. the band per kind of run (flopgrid.perf.band.BAND_ERRORS): the range of the
   leave-one-source-out error of throughput (predicted / measured - 1) per (chip family,
   FSDP or 3D, scale).
With CSV arguments: those rows with the shipped constants, as one out-of-sample block
(only honest when none of them is in the fit). Published plan fields are pinned, blank
ones searched; the same constants for every row; Needs scipy for block 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from perf_fit import IN_SAMPLE_SOURCES, fit, load_runs

from flopgrid.perf.band import LARGE_CHIPS, family
from flopgrid.perf.constants import CALIBRATION
from flopgrid.perf.published import check_run

HEAD = f"{'id':36s} {'framework':13s} {'plan':44s} {'metric':21s} {'measured':>9s} {'predicted':>9s} {'error':>7s}"


def throughput_error(check) -> float:
    """predicted / measured throughput - 1 (a step time's error is inverted)."""
    return 1.0 / (1.0 + check.error) - 1.0 if check.metric == "step_time_s" else check.error


def row_line(c) -> str:
    return (f"{c.run.id:36s} {c.run.framework:13s} {c.plan.short():44s} {c.metric:21s} {c.measured:9.2f} "
            f"{c.predicted:9.2f} {100 * c.error:+6.1f}%")


def per_source(groups: dict[str, list[float]]) -> tuple[float, float]:
    means = []
    for g, errs in groups.items():
        a = [abs(e) for e in errs]
        means.append(sum(a) / len(a))
        print(f"  {g:34s} rows {len(a):2d}  mean |error| {100 * means[-1]:5.2f}%  max {100 * max(a):5.2f}%")
    every = [abs(e) for errs in groups.values() for e in errs]
    print(f"  {'every row':34s} rows {len(every):2d}  mean |error| {100 * sum(every) / len(every):5.2f}%  "
          f"max {100 * max(every):5.2f}%")
    print(f"  {'worst source mean':34s}          {100 * max(means):5.2f}%")
    return sum(every) / len(every), max(every)


def kind(run, plan) -> tuple[str, str, str]:
    return (family(run.cluster.hardware), "fsdp" if plan.zero == 3 else "3d",
            "large" if run.chips > LARGE_CHIPS else "small")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="*", help="rows never used for fitting")
    ap.add_argument("--maxfev", type=int, default=120, help="Nelder-Mead evaluations per left-out fit")
    args = ap.parse_args(argv)
    if args.csv:
        runs = load_runs([Path(p) for p in args.csv])
        print("== out-of-sample (rows not in the fit; shipped constants) ==\n" + HEAD)
        groups: dict[str, list[float]] = {}
        for g, run in runs:
            c = check_run(run)
            groups.setdefault(g, []).append(c.error)
            print(row_line(c))
        per_source(groups)
        return 0

    runs = load_runs()
    started = time.perf_counter()
    print("== 1. in-sample: every row below was used to fit the shipped constants (NOT out-of-sample) ==\n" + HEAD)
    groups = {}
    for g, run in runs:
        c = check_run(run)
        groups.setdefault(g, []).append(c.error)
        print(row_line(c))
    per_source(groups)
    kept = [abs(e) for g in IN_SAMPLE_SOURCES for e in groups.get(g, [])]
    if kept:
        print(f"  Korthikanti + SC21 in-sample mean |error| {100 * sum(kept) / len(kept):.2f}% (target <= 5%)")

    print(f"\n== 2. leave-one-source-out (refit without the source, predict it; {args.maxfev} evaluations per fit) ==")
    loso: dict[str, list[float]] = {}
    bands: dict[tuple[str, str, str], list[float]] = {}
    for source in dict.fromkeys(g for g, _ in runs):
        train = [(g, r) for g, r in runs if g != source]
        cal, _ = fit(train, CALIBRATION, args.maxfev)
        for g, run in runs:
            if g != source:
                continue
            c = check_run(run, cal)
            loso.setdefault(source, []).append(c.error)
            bands.setdefault(kind(run, c.plan), []).append(throughput_error(c))
    mean, worst = per_source(loso)
    print(f"  leave-one-source-out: mean |error| {100 * mean:.2f}% (target <= 10%), max {100 * worst:.2f}% "
          f"(target <= 20%)")

    print("\n== 3. band per kind of run (leave-one-source-out throughput error range) ==")
    print("BAND_ERRORS = {")
    for k in sorted(bands):
        e = bands[k]
        print(f"    {k!r}: ({min(min(e), 0.0):+.3f}, {max(max(e), 0.0):+.3f}),  # {len(e)} rows")
    print("}")
    print(f"\n{len(runs)} rows, {len(loso)} sources, {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Accuracy of flopgrid's performance model on published runs.

    python bench/perf_accuracy.py [CSV ...]

Without arguments: the in-sample block, ../shared/reference/perf_measured.csv (Korthikanti
et al. 2022 Table 5 step times; Megatron-LM SC21 Table 1 TFLOP/s per GPU, the only rows the
constants were fitted on), then an "out-of-sample (not used for fitting)" block,
bench/perf_heldout_h100.csv (published H100 and A100 runs with their plans: Llama 3 405B
3D parallelism, MosaicML llm-foundry FSDP; every row cites its source). With CSV
arguments: those files, as one out-of-sample block. Published plan fields are pinned,
blank ones searched; the same calibration constants for every row. Prints the per-row
error, then the mean / max absolute error per source.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from flopgrid.perf.published import check_run, run_from_row

from _shared import shared_file, skip_line

REPO = Path(__file__).resolve().parents[1]
IN_SAMPLE = "reference/perf_measured.csv"  # under ../shared
HELDOUT = REPO / "bench" / "perf_heldout_h100.csv"


def block(title: str, files: list[Path]) -> None:
    """Print the per-row and per-source errors of the runs in `files`."""
    groups: dict[str, list[float]] = {}
    started = time.perf_counter()
    print(f"== {title} ==")
    print(f"{'id':32s} {'plan':42s} {'metric':21s} {'measured':>9s} {'predicted':>9s} {'error':>7s}")
    for path in files:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                check = check_run(run_from_row(row))
                group = row.get("source", "").split(" Table")[0].split(",")[0].split(" (")[0] + f" [{row.get('hardware', '')}]"
                groups.setdefault(group, []).append(abs(check.error))
                print(f"{check.run.id:32s} {check.plan.short():42s} {check.metric:21s} {check.measured:9.2f} "
                      f"{check.predicted:9.2f} {100 * check.error:+6.1f}%")
    elapsed = time.perf_counter() - started
    print()
    for group, errs in groups.items():
        print(f"{group:60s} rows {len(errs):2d}  mean |error| {100 * sum(errs) / len(errs):5.2f}%  "
              f"max {100 * max(errs):5.2f}%")
    every = [e for errs in groups.values() for e in errs]
    print(f"{'all rows':60s} rows {len(every):2d}  mean |error| {100 * sum(every) / len(every):5.2f}%  "
          f"max {100 * max(every):5.2f}%")
    print(f"{len(every)} rows (searching blank plan fields) in {elapsed:.2f} s\n")


def main(paths: list[str]) -> int:
    if paths:
        block("out-of-sample (not used for fitting)", [Path(p) for p in paths])
        return 0
    in_sample = shared_file(IN_SAMPLE)
    if in_sample is None:
        print(skip_line("the in-sample block", IN_SAMPLE))
    else:
        block("in-sample (the calibration rows)", [in_sample])
    block("out-of-sample (not used for fitting)", [HELDOUT])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

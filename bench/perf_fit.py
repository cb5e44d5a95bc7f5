"""Shared by bench/perf_calibrate.py and bench/perf_accuracy.py: the published runs, the
error of the model on them, and the one global fit of the calibration constants.

Runs: ../shared/reference/perf_measured.csv (Korthikanti et al. 2022 Table 5, Megatron-LM
SC21 Table 1; FLOPGRID_SHARED overrides ../shared) and bench/perf_published.csv (every row
cites its source: Llama 3, llm-foundry, torchtitan, MaxText, PaLM, MegaScale, BLOOM).
A "source" is the publication (the `source` column up to its table / system detail), so
leave-one-source-out drops every row of one publication at once.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import replace
from pathlib import Path

from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.published import PublishedRun, check_run, run_from_row

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOPGRID_SHARED", REPO.parent / "shared"))
MEASURED = SHARED / "reference" / "perf_measured.csv"
PUBLISHED = REPO / "bench" / "perf_published.csv"
IN_SAMPLE_SOURCES = ("Korthikanti et al. 2022", "Megatron-LM SC21")

NAMES = ("gemm_eff_max", "hbm_eff", "link_eff", "straggler_cv", "overlap_slowdown")
# straggler_cv <= 2%: the per-rank step-time spread of a healthy fleet (MegaScale §4.3 treats
# stragglers as faults to remove); overlap_slowdown <= 0.3: NCCL holds at most ~1/4 of the SMs.
# link_eff <= 0.9: NCCL's bus bandwidth stays below ~90% of the link (nccl-tests).
BOUNDS = ((0.5, 0.95), (0.3, 1.0), (0.3, 0.9), (0.0, 0.02), (0.0, 0.3))


def source_key(source: str) -> str:
    """The publication of a `source` cell: 'Korthikanti et al. 2022 (...) Table 5, Selene' ->
    'Korthikanti et al. 2022'."""
    key = re.split(r" Table| \(|,| abstract| §| configs/| docs/| benchmarking| scripts/", source)[0]
    return key.strip()


def load_runs(paths: list[Path] | None = None) -> list[tuple[str, PublishedRun]]:
    """(source key, run) for every row of the given CSVs (default: both sets)."""
    if paths is None:
        paths = [p for p in (MEASURED, PUBLISHED) if p.exists()]
    out = []
    for path in paths:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                out.append((source_key(row.get("source", "")), run_from_row(row, path.parent)))
    return out


def with_values(x, names=NAMES, bounds=BOUNDS, base: Calibration = CALIBRATION) -> Calibration:
    vals = {n: min(max(float(v), lo), hi) for n, v, (lo, hi) in zip(names, x, bounds)}
    return replace(base, **vals)


def errors(runs, cal: Calibration) -> list[float]:
    """Signed relative error (predicted / measured - 1) of each run."""
    return [check_run(run, cal).error for _, run in runs]


def loss(errs: list[float], groups: list[str]) -> float:
    """Mean over sources of each source's mean |log(1 + error)|, plus a tenth of the worst
    row's: every publication weighs the same whatever its row count, and one outlier row
    cannot drag the constants (an L1 loss). A hinge keeps each of Korthikanti and SC21 (when
    present) within 4.5% mean."""
    by: dict[str, list[float]] = {}
    for g, e in zip(groups, errs):
        by.setdefault(g, []).append(abs(math.log1p(e)))
    per_source = [sum(v) / len(v) for v in by.values()]
    # each calibration source must stay within 4.5% mean (target 5%): a hinge penalty
    hinge = sum(50.0 * max(0.0, sum(by[g]) / len(by[g]) - 0.045) for g in IN_SAMPLE_SOURCES if g in by)
    return sum(per_source) / len(per_source) + 0.1 * max(max(v) for v in by.values()) + hinge


def fit(runs, start: Calibration = CALIBRATION, maxfev: int = 400, names=NAMES,
        bounds=None) -> tuple[Calibration, int]:
    """One global fit (Nelder-Mead, scipy) of `names` on `runs`; (calibration, evaluations).
    Parameters are scaled to their bounds' width so the simplex moves every one of them."""
    from scipy.optimize import minimize

    all_bounds = dict(zip(NAMES, BOUNDS))
    bounds = bounds or tuple(all_bounds[n] for n in names)
    groups = [g for g, _ in runs]
    width = [hi - lo for lo, hi in bounds]
    z0 = [(getattr(start, n) - lo) / w for n, (lo, _), w in zip(names, bounds, width)]
    z0 = [min(max(z, 0.05), 0.95) if w else 0.0 for z, w in zip(z0, width)]

    def values(z):
        return [lo + w * min(max(a, 0.0), 1.0) for a, (lo, _), w in zip(z, bounds, width)]

    def f(z) -> float:
        return loss(errors(runs, with_values(values(z), names, bounds, base=start)), groups)

    simplex = [z0] + [[a + (0.15 if i == j else 0.0) for j, a in enumerate(z0)] for i in range(len(z0))]
    res = minimize(f, z0, method="Nelder-Mead",
                   options={"maxfev": maxfev, "xatol": 1e-3, "fatol": 1e-6, "initial_simplex": simplex})
    return with_values(values(res.x), names, bounds, base=start), int(res.nfev)


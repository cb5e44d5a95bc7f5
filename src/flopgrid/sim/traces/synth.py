"""Synthetic traces drawn from distributions fitted to the real Philly trace.

Fitted on philly_pollux.csv (Pollux OSDI'21 artifact, 82,247 jobs, 2017-09-04..12-22;
see ../shared/data/traces/PROVENANCE.md) and written here as constants, so a fresh
install needs no trace file:
- GPU-count histogram: the exact counts of the trace.
- Run time: log-normal per GPU count, fitted robustly: median of ln(duration_s) and
  sd = (p90 - p10) / 2.563 of ln(duration_s) per count.
- Arrivals: a Poisson process whose rate follows the trace's mean jobs per hour of day
  (UTC); `days` is derived from `jobs` unless given.
Output is a flopgrid-format CSV (`id,submit_s,chips,model,duration_s,hardware`), models
assigned by the seeded rule of traces/common.py; run times are on Philly's hardware (V100,
the catalog's stand-in for its P100/P40), so a faster pool finishes them sooner.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from flopgrid.errors import UserInputError
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.common import assign_models

PHILLY_GPU_COUNTS: dict[int, int] = {1: 76627, 2: 1818, 4: 1870, 8: 1643, 16: 199, 32: 67, 64: 6, 128: 3}
# ln(duration_s) median and robust sd per GPU count
PHILLY_LOG_DURATION: dict[int, tuple[float, float]] = {
    1: (7.018, 1.920), 2: (3.045, 3.432), 4: (9.765, 2.809), 8: (10.073, 2.885),
    16: (10.869, 3.413), 32: (9.565, 1.687), 64: (7.256, 3.303), 128: (8.371, 2.359),
}
# mean job submissions per hour of day (UTC), hours 0..23
PHILLY_JOBS_PER_HOUR: tuple[float, ...] = (
    40.1, 31.0, 35.2, 34.7, 22.0, 36.3, 52.6, 65.7, 34.9, 31.7, 32.2, 27.4,
    23.6, 22.2, 20.1, 20.4, 27.7, 21.0, 25.2, 22.9, 32.0, 28.9, 35.7, 31.8,
)
MAX_DURATION_S = 4_628_226.0  # the longest job of the trace (s)
LIKE = ("philly", "llm-market")
PHILLY_HARDWARE = "v100-sxm"


def synth_jobs(jobs: int, seed: int = 0, days: float | None = None, like: str = "philly") -> list[JobSpec]:
    """`jobs` synthetic jobs. With `days`, arrivals are scaled to fit that many days."""
    if like != "philly":
        raise UserInputError(f"unknown --like {like!r}: use one of {', '.join(LIKE)} (llm-market needs --fleet and --load)")
    if jobs <= 0:
        raise UserInputError(f"--jobs must be > 0, got {jobs}")
    if days is not None and not days > 0:
        raise UserInputError(f"--days must be > 0, got {days}")
    rng = np.random.default_rng(seed)
    sizes = np.array(list(PHILLY_GPU_COUNTS))
    p = np.array(list(PHILLY_GPU_COUNTS.values()), dtype=float)
    chips = rng.choice(sizes, size=jobs, p=p / p.sum())
    mu = np.array([PHILLY_LOG_DURATION[int(g)][0] for g in chips])
    sd = np.array([PHILLY_LOG_DURATION[int(g)][1] for g in chips])
    dur = np.clip(np.round(np.exp(rng.normal(mu, sd))), 1.0, MAX_DURATION_S)
    per_hour = np.array(PHILLY_JOBS_PER_HOUR)
    scale = 1.0 if days is None else jobs / (per_hour.sum() * days)
    # thinning-free draw: walk hour by hour, Poisson counts at the hour's rate, uniform inside
    times: list[np.ndarray] = []
    n, hour = 0, 0
    while n < jobs:
        k = rng.poisson(per_hour[hour % 24] * scale)
        if k:
            times.append(hour * 3600.0 + np.sort(rng.uniform(0, 3600.0, size=k)))
            n += k
        hour += 1
    submit = np.concatenate(times)[:jobs]
    models = assign_models(chips, dur, seed)
    return [JobSpec(id=f"synth-{i}", submit_s=float(submit[i]), chips=int(chips[i]), model=models[i],
                    duration_s=float(dur[i]), hardware=PHILLY_HARDWARE) for i in range(jobs)]


def write_flopgrid_csv(jobs: list[JobSpec], out: Path) -> None:
    """Write jobs as a flopgrid-format CSV (the columns the jobs use)."""
    cols = ["id", "submit_s", "chips", "model"]
    optional = [("duration_s", lambda j: f"{j.duration_s:.0f}"), ("tokens", lambda j: f"{j.tokens:.6g}"),
                ("hardware", lambda j: j.hardware), ("value_usd_per_eflop", lambda j: f"{j.value_usd_per_eflop:.6g}"),
                ("job_class", lambda j: j.job_class)]
    used = [(k, f) for k, f in optional if any(getattr(j, k) not in (None, "") for j in jobs)]
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols + [k for k, _ in used])
        for j in jobs:
            w.writerow([j.id, f"{j.submit_s:.3f}", j.chips, j.model]
                       + [f(j) if getattr(j, k) not in (None, "") else "" for k, f in used])

"""Philly trace as shipped with Pollux (OSDI'21 artifact, `simulator/traces/philly.csv`).

Columns `timestamp,duration,num_gpus,gpu_time,cluster`: submit time (UTC text), run time
(s), GPUs. Submit times become seconds after the earliest valid row. Rows with an
unparsable time, a non-positive duration or GPU count are skipped and counted. Run times
are on Philly's hardware: P100/P40, which the catalog lacks, stood in for by V100
(`PHILLY_HARDWARE`), so faster pools finish the same work sooner.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np

from flopgrid.errors import UserInputError
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.common import TraceLoad, assign_models

REQUIRED = ("timestamp", "duration", "num_gpus")
PHILLY_HARDWARE = "v100-sxm"


def load_philly(path: Path, seed: int = 0) -> TraceLoad:
    load = TraceLoad(jobs=[], source=str(path))
    ts: list[float] = []
    dur: list[float] = []
    gpus: list[int] = []
    rows: list[int] = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise UserInputError(f"{path}: not a philly trace (missing columns {', '.join(missing)})")
        parse = datetime.fromisoformat
        for i, row in enumerate(reader):
            try:
                t = parse(row["timestamp"].strip()).timestamp()
            except (ValueError, AttributeError):
                load.skipped["unparsable time"] += 1
                continue
            try:
                d = float(row["duration"])
                g = float(row["num_gpus"])
            except (ValueError, TypeError):
                load.skipped["unparsable number"] += 1
                continue
            if not d > 0 or d != d or d == float("inf"):
                load.skipped["non-positive duration"] += 1
                continue
            if not g >= 1 or g != int(g):
                load.skipped["zero or fractional GPUs"] += 1
                continue
            ts.append(t)
            dur.append(d)
            gpus.append(int(g))
            rows.append(i)
    if not ts:
        return load
    t0 = min(ts)
    models = assign_models(np.asarray(gpus), np.asarray(dur), seed)
    order = sorted(range(len(ts)), key=lambda k: (ts[k], rows[k]))
    load.jobs = [
        JobSpec(id=f"philly-{rows[k]}", submit_s=ts[k] - t0, chips=gpus[k], model=models[k], duration_s=dur[k],
                hardware=PHILLY_HARDWARE)
        for k in order
    ]
    return load

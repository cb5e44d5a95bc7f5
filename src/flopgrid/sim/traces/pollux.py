"""Pollux workloads (OSDI'21 artifact `simulator/workloads/workload-N.csv`).

Columns `name,time,application,num_replicas,batch_size` (time = s from start). The
workloads carry no run time: Pollux's simulator replays measured throughput models. We
give each application a reference size in GPU-hours at the middle of the size class the
Pollux paper (Table 1) puts it in (Small 0-1, Medium 1-10, Large 10-100, XLarge 100-1000
GPU-hours), and a catalog stand-in model of similar scale. Both are our approximations.
Run time = GPU-hours x 3600 / num_replicas on `POLLUX_HARDWARE` (V100, the catalog's
stand-in for the testbed's T4).
"""

from __future__ import annotations

import csv
from pathlib import Path

from flopgrid.errors import UserInputError
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.common import TraceLoad

# application -> (reference GPU-hours, stand-in catalog model)
APPLICATIONS: dict[str, tuple[float, str]] = {
    "cifar10": (0.5, "gpt2-124m"),  # ResNet-18, Small
    "ncf": (0.5, "gpt2-124m"),  # NeuMF, Small
    "deepspeech2": (3.0, "gpt2-124m"),  # Medium
    "bert": (3.0, "mpt-1b"),  # BERT fine-tune, Medium
    "yolov3": (30.0, "mpt-1b"),  # Large
    "imagenet": (100.0, "mpt-1b"),  # ResNet-50, XLarge
}
REQUIRED = ("name", "time", "application", "num_replicas")
POLLUX_HARDWARE = "v100-sxm"


def load_pollux(path: Path, seed: int = 0) -> TraceLoad:
    del seed  # applications name their model: nothing random
    load = TraceLoad(jobs=[], source=str(path))
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise UserInputError(f"{path}: not a pollux workload (missing columns {', '.join(missing)})")
        for row in reader:
            try:
                t = float(row["time"])
                g = int(row["num_replicas"])
            except (ValueError, TypeError):
                load.skipped["unparsable number"] += 1
                continue
            app = APPLICATIONS.get((row["application"] or "").strip())
            if app is None:
                load.skipped["unknown application"] += 1
                continue
            if g <= 0:
                load.skipped["zero GPUs"] += 1
                continue
            gpu_h, model = app
            load.jobs.append(JobSpec(id=row["name"], submit_s=t, chips=g, model=model, duration_s=gpu_h * 3600.0 / g,
                                     hardware=POLLUX_HARDWARE))
    load.jobs.sort(key=lambda j: j.submit_s)
    return load

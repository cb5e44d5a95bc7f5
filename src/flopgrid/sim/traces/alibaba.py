"""Alibaba cluster-trace-gpu-v2023 pod list.

Columns `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
deletion_time,scheduled_time`, times in seconds. Pods with num_gpu 0 are not GPU jobs and
are skipped (counted). A pod runs from scheduled_time to deletion_time and is submitted at
creation_time. gpu_milli < 1000 is a fractional GPU: flopgrid fleets do not share chips,
so such a pod takes one whole chip and its work is scaled by gpu_milli / 1000. Run times
are on the pod's `gpu_spec` (`GPU_SPEC_HARDWARE`: A100 and V100 names map to the catalog;
T4, P100, A10 and the rest, which it lacks, to V100 as the nearest stand-in).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from flopgrid.errors import UserInputError
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.common import TraceLoad, assign_models

GPU_SPEC_HARDWARE = (("A100", "a100-40gb"), ("H800", "h100-sxm"), ("H100", "h100-sxm"), ("V100", "v100-sxm"))
DEFAULT_HARDWARE = "v100-sxm"


def _hardware(spec: str | None) -> str:
    s = (spec or "").upper()
    return next((hw for key, hw in GPU_SPEC_HARDWARE if key in s), DEFAULT_HARDWARE)


REQUIRED = ("name", "num_gpu", "gpu_milli", "creation_time", "deletion_time", "scheduled_time")


def _num(text: str | None) -> float:
    if text is None or not str(text).strip():
        raise ValueError("empty")
    v = float(text)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return v


def load_alibaba(path: Path, seed: int = 0) -> TraceLoad:
    load = TraceLoad(jobs=[], source=str(path))
    kept: list[tuple[float, int, str, float, float]] = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise UserInputError(f"{path}: not an alibaba pod list (missing columns {', '.join(missing)})")
        for i, row in enumerate(reader):
            try:
                g = _num(row["num_gpu"])
                milli = _num(row["gpu_milli"]) if (row.get("gpu_milli") or "").strip() else 1000.0
            except ValueError:
                load.skipped["unparsable number"] += 1
                continue
            if g <= 0:
                load.skipped["zero GPUs (not a GPU job)"] += 1
                continue
            try:
                created = _num(row["creation_time"])
                start = _num(row["scheduled_time"])
                end = _num(row["deletion_time"])
            except ValueError:
                load.skipped["unparsable or missing time"] += 1
                continue
            d = end - start
            if not d > 0:
                load.skipped["non-positive duration"] += 1
                continue
            if g != int(g):
                load.skipped["fractional GPU count"] += 1
                continue
            scale = min(1.0, milli / 1000.0) if milli > 0 else 1.0
            kept.append((created, int(g), row["name"] or f"row{i}", d, scale, _hardware(row.get("gpu_spec"))))
    if not kept:
        return load
    kept.sort(key=lambda r: r[0])
    t0 = kept[0][0]
    models = assign_models(np.asarray([r[1] for r in kept]), np.asarray([r[3] for r in kept]), seed)
    load.jobs = [
        JobSpec(id=name, submit_s=c - t0, chips=g, model=m, duration_s=d, work_scale=s, hardware=hw)
        for (c, g, name, d, s, hw), m in zip(kept, models)
    ]
    return load

"""Trace loaders: philly, alibaba, flopgrid (own format), pollux workloads; synthetic traces."""

from __future__ import annotations

import csv
from pathlib import Path

from flopgrid.errors import UserInputError
from flopgrid.sim.traces.alibaba import load_alibaba
from flopgrid.sim.traces.common import TraceLoad, open_trace
from flopgrid.sim.traces.flopgrid_format import load_flopgrid
from flopgrid.sim.traces.philly import load_philly
from flopgrid.sim.traces.pollux import load_pollux

LOADERS = {"philly": load_philly, "alibaba": load_alibaba, "flopgrid": load_flopgrid, "pollux": load_pollux}


def detect_format(path: Path) -> str:
    """Guess the format from the header line."""
    with open_trace(path) as fh:
        head = fh.readline()
    cols = {c.strip() for c in head.split(",")}
    if {"timestamp", "num_gpus"} <= cols:
        return "philly"
    if {"num_gpu", "gpu_milli"} <= cols:
        return "alibaba"
    if {"application", "num_replicas"} <= cols:
        return "pollux"
    return "flopgrid"


def load_trace(path: str | Path, fmt: str | None = None, seed: int = 0) -> TraceLoad:
    """Read a trace; raises UserInputError for a missing file, unknown format or no usable row."""
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"trace file not found: {p}")
    fmt = fmt or detect_format(p)
    if fmt not in LOADERS:
        raise UserInputError(f"unknown trace format {fmt!r}: use one of {', '.join(LOADERS)}")
    try:
        load = LOADERS[fmt](p, seed)
    except csv.Error as exc:
        raise UserInputError(f"{p}: not a readable CSV ({exc})") from None
    if not load.jobs:
        extra = f"; {load.summary()}" if load.skipped else ""
        raise UserInputError(f"{p}: no usable job row in this {fmt} trace{extra}")
    return load


__all__ = ["LOADERS", "TraceLoad", "detect_format", "load_alibaba", "load_flopgrid", "load_philly", "load_pollux", "load_trace"]

"""The measured peak of this machine's CPU, cached in the user cache directory.

`flopgrid peak --measure` writes it; `--hardware cpu` reads it. There is no datasheet
figure for "a CPU", so without a measurement flopgrid refuses rather than guesses.

Each dtype's entry keeps its spread across repeats, the time of measurement and the load
average then (`measurements`). A new measurement lower than the cached one by more than
`WORSE_TOLERANCE` (same thread count) is not stored unless forced: a busy machine measures
low, and CPU MFU would swing with it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from flopgrid.catalog.accelerator import Accelerator
from flopgrid.errors import UserInputError


def cache_path() -> Path:
    """Where the measured peak lives (FLOPGRID_CACHE_DIR overrides the user cache dir)."""
    override = os.environ.get("FLOPGRID_CACHE_DIR")
    if override:
        return Path(override) / "cpu_peak.json"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("flopgrid")) / "cpu_peak.json"


WORSE_TOLERANCE = 0.05  # a new figure more than 5% below the cached one is "worse"
BUSY_LOAD_PER_CPU = 0.5  # 1-minute load average per CPU above which a measurement is suspect


def save_cpu_peak(peak_flops: dict[str, float], details: dict[str, object],
                  measurements: dict[str, dict] | None = None) -> Path:
    """Merge measured peaks (FLOP/s per dtype) into the cache, atomically (replaces them)."""
    from flopgrid.files import write_text_atomic

    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    current = load_cpu_peak() or {}
    merged = {**current.get("peak_flops", {}), **peak_flops}
    record = {**current, "peak_flops": merged, "machine": platform.node(), "processor": platform.processor(),
              **details}
    if measurements:
        record["measurements"] = {**current.get("measurements", {}), **measurements}
    write_text_atomic(path, json.dumps(record, indent=2))
    return path


def machine_load() -> tuple[float, int]:
    """(1-minute load average, CPUs); (0, CPUs) where the OS has no load average."""
    cpus = os.cpu_count() or 1
    try:
        return os.getloadavg()[0], cpus
    except (OSError, AttributeError):
        return 0.0, cpus


def busy_warning() -> str | None:
    """A warning line when the machine is busy enough to depress a peak measurement."""
    load, cpus = machine_load()
    if load > BUSY_LOAD_PER_CPU * cpus:
        return (f"the machine is busy (load average {load:.2f} on {cpus} CPUs): a peak measured now is likely low; "
                "measure on an idle machine")
    return None


@dataclass(frozen=True)
class PeakUpdate:
    """What `record_cpu_peak` did: `stored` False when a better cached figure was kept."""

    stored: bool
    flops_per_s: float  # the figure now in the cache
    previous: dict | None
    note: str | None


def record_cpu_peak(dtype: str, flops_per_s: float, spread: float, threads: int, size: int, repeats: int,
                    force: bool = False) -> PeakUpdate:
    """Store a measurement of `dtype` unless the cache holds a better one for the same
    thread count (by more than WORSE_TOLERANCE) and `force` is False."""
    load, cpus = machine_load()
    entry = {"flops_per_s": flops_per_s, "spread": spread, "repeats": repeats, "threads": threads, "size": size,
             "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average": round(load, 2),
             "cpus": cpus}
    current = load_cpu_peak() or {}
    previous = current.get("measurements", {}).get(dtype)
    if previous is None and current.get("peak_flops", {}).get(dtype):
        previous = {"flops_per_s": float(current["peak_flops"][dtype]), "threads": current.get("threads")}
    if (not force and previous and previous.get("threads") == threads
            and flops_per_s < float(previous["flops_per_s"]) * (1 - WORSE_TOLERANCE)):
        when = previous.get("measured_at", "earlier")
        note = (f"kept the cached {dtype} peak {previous['flops_per_s'] / 1e9:,.1f} GFLOP/s (measured {when}): this "
                f"measurement, {flops_per_s / 1e9:,.1f} GFLOP/s, is lower (a busy machine?); --force replaces it")
        return PeakUpdate(False, float(previous["flops_per_s"]), previous, note)
    save_cpu_peak({dtype: flops_per_s}, {"threads": threads, "size": size}, {dtype: entry})
    note = None
    if previous and previous.get("threads") not in (None, threads):
        note = (f"replaced the cached {previous['threads']}-thread {dtype} peak "
                f"({float(previous['flops_per_s']) / 1e9:,.1f} GFLOP/s) by this {threads}-thread one")
    return PeakUpdate(True, flops_per_s, previous, note)


def load_cpu_peak() -> dict | None:
    path = cache_path()
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # unreadable or corrupt cache: as if never measured
        return None
    return record if isinstance(record, dict) and isinstance(record.get("peak_flops", {}), dict) else None


def cpu_accelerator() -> Accelerator:
    """The `cpu` accelerator from the cached measurement."""
    record = load_cpu_peak()
    if not record or not record.get("peak_flops"):
        raise UserInputError(
            "no measured CPU peak yet: run `flopgrid peak --measure` (and `--dtype bf16` for bf16) "
            "before using --hardware cpu"
        )
    peaks = {k: float(v) for k, v in record["peak_flops"].items()}
    return Accelerator(
        name="cpu",
        vendor="measured",
        peak_flops=peaks,
        hbm_bytes=float(record.get("memory_bytes", 0.0)),
        hbm_bytes_per_s=float(record.get("memory_bytes_per_s", 0.0)),
        scale_up_bytes_per_s=0.0,
        sources={"peak_flops": f"flopgrid peak --measure ({cache_path()})"},
    )

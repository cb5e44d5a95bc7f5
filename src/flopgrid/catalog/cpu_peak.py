"""The measured peak of this machine's CPU, cached in the user cache directory.

`flopgrid peak --measure` writes it; `--hardware cpu` reads it. There is no datasheet
figure for "a CPU", so without a measurement flopgrid refuses rather than guesses.
"""

from __future__ import annotations

import json
import os
import platform
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


def save_cpu_peak(peak_flops: dict[str, float], details: dict[str, object]) -> Path:
    """Merge measured peaks (FLOP/s per dtype) into the cache, atomically."""
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    current = load_cpu_peak() or {}
    merged = {**current.get("peak_flops", {}), **peak_flops}
    record = {"peak_flops": merged, "machine": platform.node(), "processor": platform.processor(), **details}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)
    return path


def load_cpu_peak() -> dict | None:
    path = cache_path()
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


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

"""`flopgrid peak --measure`: this machine's matmul peak, cached for `--hardware cpu`."""

from __future__ import annotations

import typer
from rich.table import Table

from flopgrid.catalog.cpu_peak import busy_warning, cache_path, load_cpu_peak, record_cpu_peak
from flopgrid.cli.output import console, emit, si, warn
from flopgrid.errors import UserInputError, require_int_range

MEASURABLE = ("fp32", "bf16", "fp16")


def peak(
    measure: bool = typer.Option(False, "--measure", help="time large matmuls now and cache the result"),
    dtype: str = typer.Option("fp32", "--dtype", help="fp32|bf16|fp16"),
    size: int = typer.Option(2048, "--size", help="matrix side n of the n x n x n matmuls (64-16384)"),
    seconds: float = typer.Option(3.0, "--seconds", help="timing budget, split over the repeats (at most 600)"),
    repeats: int = typer.Option(5, "--repeats", help="timed rounds; the peak is the best, the spread their range"),
    force: bool = typer.Option(False, "--force", help="store this measurement even if the cached one is higher"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Measure (with --measure) or show the cached CPU matmul peak.

    A measurement lower than the cached one (same threads) is reported, not stored, unless
    --force is given."""
    if dtype not in MEASURABLE:
        raise UserInputError(f"--dtype {dtype!r} is not one of: {', '.join(MEASURABLE)}")
    require_int_range(size, 64, 16384, "--size")
    require_int_range(repeats, 1, 100, "--repeats")
    if not 0 < seconds <= 600:
        raise UserInputError(f"--seconds must be > 0 and at most 600, got {seconds}")
    if measure:
        from flopgrid.meter.peak import measure_matmul_peak

        busy = busy_warning()
        if busy:
            warn(busy)
        m = measure_matmul_peak(dtype, size, seconds, repeats=repeats)
        update = record_cpu_peak(dtype, m.flops_per_s, m.spread, m.threads, size, m.repeats, force=force)
        if update.note:
            warn(update.note)
        out = {"dtype": dtype, "peak_flops": update.flops_per_s, "measured_flops": m.flops_per_s,
               "spread": m.spread, "repeats": m.repeats, "stored": update.stored, "threads": m.threads,
               "size": size, "device": m.device, "cache": str(cache_path())}
    else:
        record = load_cpu_peak()
        if not record:
            raise UserInputError("no measured peak cached: run `flopgrid peak --measure`")
        entry = record.get("measurements", {}).get(dtype, {})
        out = {"dtype": dtype, "peak_flops": record["peak_flops"].get(dtype), "all": record["peak_flops"],
               "spread": entry.get("spread"), "measured_at": entry.get("measured_at"),
               "load_average": entry.get("load_average"), "cache": str(cache_path())}
    emit(out, as_json, _render)


def _render(r: dict) -> None:
    t = Table(show_header=False, title="measured matmul peak")
    t.add_row("dtype", r["dtype"])
    t.add_row("peak", si(r["peak_flops"]) if r.get("peak_flops") else "not measured")
    if r.get("measured_flops") is not None and not r.get("stored", True):
        t.add_row("this measurement", f"{si(r['measured_flops'])} (not stored)")
    if r.get("spread") is not None:
        t.add_row("spread of the repeats", f"{100 * r['spread']:.1f}%")
    for key in ("measured_at", "load_average", "threads"):
        if r.get(key) is not None:
            t.add_row(key.replace("_", " "), str(r[key]))
    t.add_row("cached in", r["cache"])
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("peak")(peak)

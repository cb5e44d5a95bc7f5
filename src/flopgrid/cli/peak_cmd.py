"""`flopgrid peak --measure`: this machine's matmul peak, cached for `--hardware cpu`."""

from __future__ import annotations

import typer
from rich.table import Table

from flopgrid.catalog.cpu_peak import cache_path, load_cpu_peak, save_cpu_peak
from flopgrid.cli.output import console, emit, si
from flopgrid.errors import UserInputError

MEASURABLE = ("fp32", "bf16", "fp16")


def peak(
    measure: bool = typer.Option(False, "--measure", help="time large matmuls now and cache the result"),
    dtype: str = typer.Option("fp32", "--dtype", help="fp32|bf16|fp16"),
    size: int = typer.Option(2048, "--size", help="matrix side n of the n x n x n matmuls"),
    seconds: float = typer.Option(3.0, "--seconds", help="timing budget"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Measure (with --measure) or show the cached CPU matmul peak."""
    if dtype not in MEASURABLE:
        raise UserInputError(f"--dtype {dtype!r} is not one of: {', '.join(MEASURABLE)}")
    if size < 64 or seconds <= 0:
        raise UserInputError(f"--size must be >= 64 and --seconds > 0 (got {size}, {seconds})")
    if measure:
        from flopgrid.meter.peak import measure_matmul_peak

        result = measure_matmul_peak(dtype, size, seconds)
        save_cpu_peak({dtype: result.flops_per_s}, {"threads": result.threads, "size": size})
        out = {"dtype": dtype, "peak_flops": result.flops_per_s, "threads": result.threads,
               "size": size, "device": result.device, "cache": str(cache_path())}
    else:
        record = load_cpu_peak()
        if not record:
            raise UserInputError("no measured peak cached: run `flopgrid peak --measure`")
        out = {"dtype": dtype, "peak_flops": record["peak_flops"].get(dtype), "all": record["peak_flops"],
               "cache": str(cache_path())}
    emit(out, as_json, _render)


def _render(r: dict) -> None:
    t = Table(show_header=False, title="measured matmul peak")
    t.add_row("dtype", r["dtype"])
    t.add_row("peak", si(r["peak_flops"]) if r.get("peak_flops") else "not measured")
    if "threads" in r:
        t.add_row("threads", str(r["threads"]))
    t.add_row("cached in", r["cache"])
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("peak")(peak)

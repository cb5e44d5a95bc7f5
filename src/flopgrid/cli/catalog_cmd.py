"""`flopgrid hardware list|show` and `flopgrid models list|show`."""

from __future__ import annotations

import typer
from rich.table import Table

from flopgrid.catalog import ACCELERATORS, MODELS, get_accelerator, load_model
from flopgrid.cli.output import compact_table, console, emit, si
from flopgrid.flops import model_flops_per_token, param_counts

hardware_app = typer.Typer(help="The accelerator catalog.", no_args_is_help=True)
models_app = typer.Typer(help="The model catalog.", no_args_is_help=True)


def _accelerator_row(a) -> dict:
    return {"name": a.name, "vendor": a.vendor, "peak_flops": a.peak_flops, "hbm_bytes": a.hbm_bytes,
            "hbm_bytes_per_s": a.hbm_bytes_per_s, "scale_up_bytes_per_s": a.scale_up_bytes_per_s,
            "sources": a.sources, "notes": a.notes}


@hardware_app.command("list")
def hardware_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every accelerator with its dense peaks, memory and scale-up bandwidth."""
    rows = [_accelerator_row(a) for a in ACCELERATORS.values()]

    def render(r: dict) -> None:
        t = compact_table("accelerators (dense peaks, FLOP/s; bytes, bytes/s)",
                          ["name", "bf16", "fp8", "fp32", "HBM", "HBM BW", "scale-up"])
        for a in r["hardware"]:
            p = a["peak_flops"]
            t.add_row(a["name"], si(p["bf16"], "") if "bf16" in p else "-",
                      si(p["fp8"], "") if "fp8" in p else "-", si(p["fp32"], "") if "fp32" in p else "-",
                      si(a["hbm_bytes"], "B"), si(a["hbm_bytes_per_s"], "B/s"), si(a["scale_up_bytes_per_s"], "B/s"))
        console.print(t)
        console.print("[dim]aliases: a100 -> a100-80gb, h100 -> h100-sxm; cpu: measured with `flopgrid peak --measure`[/dim]")

    emit({"hardware": rows}, as_json, render)


@hardware_app.command("show")
def hardware_show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One accelerator with the source of each figure."""
    row = _accelerator_row(get_accelerator(name))

    def render(r: dict) -> None:
        t = Table(title=r["name"], show_header=False)
        for dt, v in r["peak_flops"].items():
            t.add_row(f"peak {dt} (dense)", si(v))
        t.add_row("HBM", si(r["hbm_bytes"], "B"))
        t.add_row("HBM bandwidth", si(r["hbm_bytes_per_s"], "B/s"))
        t.add_row("scale-up per chip (one way)", si(r["scale_up_bytes_per_s"], "B/s"))
        for k, v in r["sources"].items():
            t.add_row(f"source: {k}", v)
        if r["notes"]:
            t.add_row("notes", r["notes"])
        console.print(t)

    emit(row, as_json, render)


def _model_row(m) -> dict:
    c = param_counts(m)
    return {**m.model_dump(), "params_total": c.total, "params_active": c.active, "params_matmul": c.matmul,
            "model_flops_per_token": model_flops_per_token(m)}


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every catalog model with its parameter counts."""
    rows = [_model_row(m) for m in MODELS.values()]

    def render(r: dict) -> None:
        t = compact_table("models", ["name", "layers", "d_model", "heads/kv", "params", "active", "FLOP/tok"])
        for m in r["models"]:
            t.add_row(m["name"], str(m["n_layers"]), str(m["d_model"]), f"{m['n_heads']}/{m['n_kv_heads']}",
                      f"{m['params_total'] / 1e9:.2f}B", f"{m['params_active'] / 1e9:.2f}B",
                      si(m["model_flops_per_token"], ""))
        console.print(t)

    emit({"models": rows}, as_json, render)


@models_app.command("show")
def models_show(model: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One model (catalog name or spec file) with its counts."""
    row = _model_row(load_model(model))

    def render(r: dict) -> None:
        t = Table(title=r["name"], show_header=False)
        for k, v in r.items():
            if k != "name" and v is not None:
                t.add_row(k, f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
        console.print(t)

    emit(row, as_json, render)


def register(app: typer.Typer) -> None:
    app.add_typer(hardware_app, name="hardware")
    app.add_typer(models_app, name="models")

"""`flopgrid simulate` and `flopgrid trace synth`: the fleet simulator from the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from flopgrid.cli.output import compact_table, console, emit, err_console, print_table, warn
from flopgrid.errors import UserInputError, require_seed

CONTRACT_KEYS = ("jobs", "completed", "avg_jct_h", "p99_jct_h", "makespan_h", "utilization", "fleet_mfu",
                 "goodput_fraction", "useful_eflop", "lost_eflop_failures", "wall_seconds")
MONEY_KEYS = ("buyer_usd", "provider_revenue_usd", "usd_per_useful_eflop", "idle_chip_hours")  # + valued: value/welfare
FORMATS = ("philly", "alibaba", "flopgrid", "pollux")
PROGRESS_MIN_JOBS = 5000


def simulate(
    trace: Path = typer.Option(..., "--trace", help="trace file, CSV or JSON (docs/formats/trace.md)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="philly|alibaba|flopgrid|pollux (default: from the header)"),
    fleet: str = typer.Option("philly-like", "--fleet", help="fleet name (below) or a fleet file "
                              "(docs/formats/fleet.md)"),
    policy: str = typer.Option("fifo", "--policy", help="fifo|backfill|las|goodput|market|gpuhour"),
    failures: bool = typer.Option(True, "--failures/--no-failures", help="simulate chip failures"),
    seed: int = typer.Option(0, "--seed", help="random seed (failures, model assignment)"),
    compare: Optional[str] = typer.Option(None, "--compare", help="comma-separated policies to run on the same trace"),
    horizon_h: Optional[float] = typer.Option(None, "--horizon-h", help="stop after this many hours (default: all jobs done)"),
    report: Optional[Path] = typer.Option(None, "--report", help="write an HTML report (Plotly) into this folder"),
    market_time_value: Optional[float] = typer.Option(
        None, "--market-time-value", help="the market buyers' time value θ >= 0: a delay costs θ x the best surplus "
        "per hour (0: cheapest useful EFLOP, 1: most surplus per hour, the default)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contract keys)"),
) -> None:
    """Simulate a fleet over a job trace under one or several scheduling policies.

    Fleets: philly-like (2,496 GPUs), h100-campus (16,384 H100), pollux-64, or a fleet file.

    Fleets also: grid-mixed (6,400 chips: H100 NDR/RoCE/Ethernet, H200, A100 HDR/Ethernet, L40S, MI300X).

    Policies: fifo, backfill, las, goodput, market, gpuhour."""
    from flopgrid.sched import POLICIES, Market, make_policy
    from flopgrid.sim import RateTable, load_fleet, load_trace
    from flopgrid.sim.run import simulate as run_sim

    if fmt is not None and fmt not in FORMATS:
        raise UserInputError(f"unknown trace format {fmt!r}: use one of {', '.join(FORMATS)}")
    if horizon_h is not None and not horizon_h > 0:
        raise UserInputError(f"--horizon-h must be > 0, got {horizon_h}")
    require_seed(seed)
    if market_time_value is not None and not (math.isfinite(market_time_value) and market_time_value >= 0):
        raise UserInputError(f"--market-time-value must be a finite number >= 0, got {market_time_value}")
    policies = [p.strip() for p in compare.split(",")] if compare else [policy]
    if not all(policies):
        raise UserInputError(f"--compare {compare!r} has an empty policy name: give names separated by commas")
    if report is not None and report.exists() and not report.is_dir():
        raise UserInputError(f"--report {report} is a file: give a folder (created if missing)")
    for p in policies:
        if p not in POLICIES:
            make_policy(p)  # raises with the list of names
    spec = load_fleet(fleet)
    load = load_trace(trace, fmt, seed)
    if load.skipped:
        warn(load.summary())
    rates = RateTable(spec)
    if not rates.perf_available:
        warn("flopgrid.perf is not installed: every job runs at a fixed MFU of 35%")
    runs = []
    show = len(load.jobs) >= PROGRESS_MIN_JOBS
    for name in policies:
        p = name if name != "market" or market_time_value is None else Market(seed=seed, time_value=market_time_value)
        if show:
            with Progress(TextColumn(f"[bold]{name}[/bold]"), BarColumn(), TextColumn("{task.completed}/{task.total} jobs"),
                          TimeElapsedColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task(name, total=len(load.jobs))
                metrics, sim = run_sim(spec, load.jobs, p, failures=failures, seed=seed, rates=rates,
                                       horizon_s=None if horizon_h is None else horizon_h * 3600,
                                       progress=lambda done, total: bar.update(task, completed=done))
        else:
            metrics, sim = run_sim(spec, load.jobs, p, failures=failures, seed=seed, rates=rates,
                                   horizon_s=None if horizon_h is None else horizon_h * 3600)
        runs.append((metrics, sim))
    if report is not None:
        from flopgrid.sim.report import write_report

        path = write_report(runs, report)
        err_console.print(f"report: {path}", soft_wrap=True)
    results = [m for m, _ in runs]
    out = results[0] if len(results) == 1 and not compare else {"runs": results}
    emit(out, as_json, _render)


def _render(r: dict) -> None:
    runs = r.get("runs", [r])
    first = runs[0]
    wall = sum(m["wall_seconds"] for m in runs)
    t = compact_table(f"{first['jobs']:,} jobs on {first['fleet']}",
                      ["policy", "done", "JCT", "p99", "span", "util", "MFU", "goodput", "EFLOP", "lost"],
                      caption=f"hours: JCT, p99, span; EFLOP: useful, lost to failures; {wall:.1f} s")
    for m in runs:
        t.add_row(m["policy"], f"{m['completed']:,}", f"{m['avg_jct_h']:.2f}", f"{m['p99_jct_h']:.1f}",
                  f"{m['makespan_h']:.0f}", f"{m['utilization']:.1%}", f"{m['fleet_mfu']:.1%}", f"{m['goodput_fraction']:.1%}",
                  f"{m['useful_eflop']:,.0f}", f"{m['lost_eflop_failures']:,.1f}")
    print_table(t)
    _render_money(runs)
    for m in runs:
        if m["rejected"]:
            console.print(f"[yellow]{m['policy']}: {m['rejected']} job(s) rejected[/yellow]: "
                          + "; ".join(f"{k} ({v})" for k, v in m["reject_reasons"].items()))


def _render_money(runs: list[dict]) -> None:
    valued = "welfare_usd" in runs[0]
    t = compact_table("money", ["policy", "buyer $", "$/EFLOP", "EFLOP/$", "idle chip-h"] + (["value $", "welfare $"] if valued else []),
                      caption="USD; EFLOP: useful; buyer $ = provider revenue")
    for m in runs:
        per = m["useful_eflop"] / m["buyer_usd"] if m["buyer_usd"] else float("nan")
        t.add_row(m["policy"], f"{m['buyer_usd']:,.0f}", f"{m['usd_per_useful_eflop']:.3f}", f"{per:.3f}",
                  f"{m['idle_chip_hours']:,.0f}", *([f"{m['value_delivered_usd']:,.0f}", f"{m['welfare_usd']:,.0f}"] if valued else []))
    print_table(t)


trace_app = typer.Typer(help="Job traces: synthetic generation.", no_args_is_help=True)


@trace_app.command("synth")
def synth(
    like: str = typer.Option("philly", "--like", help="philly (fitted distributions) or llm-market (needs --fleet, --load, --days)"),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="number of jobs (philly)"),
    fleet: Optional[str] = typer.Option(None, "--fleet", help="llm-market: fleet name or file the load is measured against"),
    load: Optional[float] = typer.Option(None, "--load", help="llm-market: offered useful FLOPs / fleet capacity at its best MFU"),
    days: Optional[float] = typer.Option(None, "--days", help="spread arrivals over this many days"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    out: Path = typer.Option(..., "--out", help="output CSV, flopgrid trace format (docs/formats/trace.md)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Draw a synthetic trace from distributions fitted to a real one (flopgrid CSV)."""
    from flopgrid.sim.traces.synth import write_flopgrid_csv

    require_seed(seed)
    specs = _synth_specs(like, jobs, fleet, load, days, seed)
    try:
        write_flopgrid_csv(specs, out)
    except OSError as exc:
        raise UserInputError(f"cannot write {out}: {exc.strerror}") from None
    result = {"out": str(out), "jobs": len(specs), "days": specs[-1].submit_s / 86400 if specs else 0.0,
              "gpu_hours": sum(j.chips * (j.duration_s or 0) for j in specs) / 3600}
    if like == "llm-market":
        result["useful_eflop"] = _offered_eflop(specs)
    emit(result, as_json, lambda r: console.print(
        f"wrote {r['jobs']:,} jobs over {r['days']:.1f} days ("
        + (f"{r['useful_eflop']:,.0f} useful EFLOP" if "useful_eflop" in r else f"{r['gpu_hours']:,.0f} GPU-hours")
        + f") to {r['out']}"))


def _synth_specs(like: str, jobs: int | None, fleet: str | None, load: float | None, days: float | None, seed: int):
    from flopgrid.sim.traces.synth import synth_jobs

    if like == "llm-market":
        from flopgrid.sim import load_fleet
        from flopgrid.sim.traces.llm_market import llm_market_jobs

        if fleet is None or load is None or days is None:
            raise UserInputError("--like llm-market needs --fleet F, --load X and --days D")
        return llm_market_jobs(load_fleet(fleet), load, days, seed=seed)
    if jobs is None:
        raise UserInputError(f"--like {like} needs --jobs N")
    return synth_jobs(jobs, seed=seed, days=days, like=like)


def _offered_eflop(specs) -> float:
    from flopgrid.catalog import get_model
    from flopgrid.flops import model_flops_per_token

    fpt = {m: float(model_flops_per_token(get_model(m))) for m in {j.model for j in specs}}
    return sum((j.tokens or 0.0) * fpt[j.model] for j in specs) / 1e18


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.add_typer(trace_app, name="trace")

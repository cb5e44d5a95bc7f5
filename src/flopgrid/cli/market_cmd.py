"""`flopgrid clear`, `flopgrid settle` and `flopgrid scenario generate`: the ISO market."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.table import Table

from flopgrid.cli.output import compact_table, console, emit, gap_pct, write_text_atomic
from flopgrid.errors import UserInputError, require_int_range, require_positive, require_seed

scenario_app = typer.Typer(help="Market scenarios (order books).", no_args_is_help=True)


def clear_cmd(
    scenario: Path = typer.Argument(..., help="scenario JSON/YAML: horizon, pools, bids, reserve "
                                    "(docs/formats/scenario.md, `flopgrid schema scenario`)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="solver time limit, seconds"),
    mip_gap: float = typer.Option(1e-6, "--mip-gap", help="relative MIP gap at which HiGHS stops"),
    max_pools_per_bid: Optional[int] = typer.Option(None, "--max-pools-per-bid",
                                                    help="keep only the best N pools per (bid, gang): faster, inexact"),
    method: str = typer.Option("auto", "--method",
                               help="exact (monolithic MILP) | decomposition (large markets) | auto"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the JSON result here (input of `settle`; "
                                       "docs/formats/result.md)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contract keys)"),
) -> None:
    """Clear a day-ahead market: allocations, uniform prices per pool and interval, uplift."""
    from flopgrid.market import clear, load_scenario

    if time_limit is not None:
        require_positive(time_limit, "--time-limit")
    if not (0 <= mip_gap < 1):
        raise UserInputError(f"--mip-gap must be in [0, 1), got {mip_gap}")
    if max_pools_per_bid is not None:
        require_positive(max_pools_per_bid, "--max-pools-per-bid")
    if method not in ("auto", "exact", "decomposition"):
        raise UserInputError(f"--method must be auto, exact or decomposition, got {method!r}")
    result = clear(load_scenario(scenario), time_limit_s=time_limit, mip_gap=mip_gap,
                   max_pools_per_bid=max_pools_per_bid, method=method)
    d = result.to_dict()
    if out is not None:
        write_text_atomic(out, json.dumps(d, indent=1))
    emit(d, as_json, _render_clear)


def _money(v: float | None) -> str:
    return "-" if v is None else f"${v:,.2f}"


def _render_clear(r: dict) -> None:
    """Readable at 80 columns: short headers, interval span as "start-end", whole dollars."""
    gap = gap_pct(r["gap"])
    console.print(f"[bold]{r['status']}[/bold]  welfare {_money(r['welfare_usd'])}  cleared {len(r['allocations'])}"
                  f" / unserved {len(r['unserved'])}  uplift {_money(r['uplift']['total_usd'])}", highlight=False)
    bound = f"  bound {_money(r['upper_bound_usd'])}" if r.get("upper_bound_usd") is not None else ""
    console.print(f"gap {gap}{bound}  solve {r['solve_seconds']:.2f} s  ({r.get('method', 'exact')})", highlight=False)
    t = Table(title="allocations", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for col in ("bid", "pool", "chips", "hours", "MFU", "EFLOP", "$/chip-h", "$/EFLOP", "pay $"):
        t.add_column(col, justify="left" if col in ("bid", "pool") else "right", no_wrap=True)
    for a in r["allocations"][:30]:
        t.add_row(a["bid"], a["pool"], str(a["chips"]), f"{a['start']}-{a['start'] + a['intervals']}",
                  "-" if a["predicted_mfu"] is None else f"{100 * a['predicted_mfu']:.0f}%",
                  "-" if a["useful_eflop"] is None else f"{a['useful_eflop']:,.0f}",
                  f"{a['price_per_chip_hour']:.2f}", "-" if a["price_per_eflop"] is None else f"{a['price_per_eflop']:.2f}",
                  f"{a['payment_usd']:,.0f}")
    if len(r["allocations"]) > 30:
        t.caption = f"... {len(r['allocations']) - 30} more (use --json)"
    console.print(t)
    console.print("[dim]hours: intervals [start-end); MFU predicted; EFLOP useful; pay $ after uplift[/dim]")
    priced = [p for p in r["prices"] if p["cleared_chips"] > 0]
    if priced:
        lo = min(p["price_per_chip_hour"] for p in priced)
        hi = max(p["price_per_chip_hour"] for p in priced)
        console.print(f"prices: {len(priced)} (pool, interval) pairs traded, ${lo:.2f}-${hi:.2f} per chip-hour")
    for u in r["unserved"][:10]:
        console.print(f"[dim]unserved {u['bid']}: {u['reason']}[/dim]", highlight=False)
    for m in r.get("monitor", [])[:10]:
        capped = f", capped {', '.join(m['capped_pools'])}" if m["capped_pools"] else ""
        console.print(f"[yellow]pivotal[/yellow] {m['provider']} in {m['hardware']}/{m['region']} "
                      f"({len(m['intervals'])} intervals){capped}")


@scenario_app.command("generate")
def generate_cmd(
    pools: int = typer.Option(20, "--pools", help="number of pools"),
    bids: int = typer.Option(50, "--bids", help="number of bids"),
    intervals: int = typer.Option(24, "--intervals", help="intervals in the horizon"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    interval_minutes: float = typer.Option(60.0, "--interval-minutes"),
    reserve: float = typer.Option(0.05, "--reserve", help="reserve fraction (hot spares per cleared chip)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write here instead of stdout (docs/formats/scenario.md)"),
) -> None:
    """A realistic random scenario (catalog hardware and models, published price ranges)."""
    from flopgrid.market.generate import generate_scenario

    require_int_range(pools, 1, 100_000, "--pools")
    require_int_range(bids, 1, 100_000, "--bids")
    require_int_range(intervals, 1, 10_000, "--intervals")
    require_seed(seed)
    require_positive(interval_minutes, "--interval-minutes")
    if not (0 <= reserve <= 1):
        raise UserInputError(f"--reserve must be in [0, 1], got {reserve}")
    text = json.dumps(generate_scenario(pools, bids, intervals, seed, interval_minutes, reserve), indent=1)
    if out is None:
        print(text)
    else:
        write_text_atomic(out, text + "\n")


def settle_cmd(
    scenario: Path = typer.Argument(..., help="the scenario that was cleared (docs/formats/scenario.md)"),
    result: Path = typer.Argument(..., help="the day-ahead result, `flopgrid clear --out` (docs/formats/result.md)"),
    delivery: Path = typer.Argument(..., help="metered delivery JSON (docs/formats/delivery.md, "
                                    "`flopgrid schema delivery --example`)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Two-settlement: day-ahead positions, then metered deviations at real-time prices.

    Every settlement is a balanced double-entry ledger transaction."""
    from flopgrid.catalog.spec_files import read_mapping
    from flopgrid.market import load_scenario
    from flopgrid.market.settlement import check_day_ahead, parse_delivery, settle

    sc = load_scenario(scenario)
    res = check_day_ahead(sc, read_mapping(result, "result file"), str(result))
    dl = parse_delivery(read_mapping(delivery, "delivery file"), str(delivery), sc, res)
    s = settle(sc, res, dl)
    emit(s.to_dict(), as_json, _render_settle)


def _render_settle(r: dict) -> None:
    console.print(f"[bold]{len(r['transactions'])} transactions[/bold], balanced: {r['balanced']}")
    t = compact_table("balances", ["account", "USD"], caption="+ receives, - pays")
    for acct, v in sorted(r["balances"].items()):
        t.add_row(acct, f"{v:,.2f}")
    console.print(t)
    for d in r["deviations"]:
        console.print(f"{d['bid']} on {d['pool']}: provider shortfall {d['provider_shortfall_chip_hours']:.1f} chip-h, "
                      f"released {d['released_chip_hours']:.1f} chip-h, buyer-side shortfall "
                      f"{d['buyer_shortfall_eflop']:.2f} EFLOP (not compensated)")


def register(app: typer.Typer) -> None:
    app.command("clear")(clear_cmd)
    app.command("settle")(settle_cmd)
    app.add_typer(scenario_app, name="scenario")

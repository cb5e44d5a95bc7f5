"""`flopgrid diagnose RUN.jsonl`: why a metered run's MFU is below its ceiling, and what
to change (flopgrid.diagnose). Reads JSONL only: needs neither torch nor a GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from flopgrid.cli.output import compact_table, console, emit, load_model_cli, pct, warn, write_text_atomic
from flopgrid.errors import UserInputError


def _with_rank_files(logs: list[Path]) -> list[Path]:
    """Each given log plus its `<stem>.rank<r>.jsonl` siblings (the other ranks' files)
    when they exist and were not given."""
    out: list[Path] = []
    for p in logs:
        if p not in out:
            out.append(p)
        if ".rank" in p.stem:
            continue
        for sibling in sorted(p.parent.glob(f"{p.stem}.rank*{p.suffix or '.jsonl'}")):
            if sibling not in out and sibling not in logs:
                out.append(sibling)
    return out


def diagnose_cmd(
    logs: list[Path] = typer.Argument(..., help="event logs (RUN.jsonl; the other ranks' RUN.rank<r>.jsonl are found)"),
    model: Optional[str] = typer.Option(None, "--model", help="model (catalog name, spec or HF config.json) if the "
                                        "log lacks it; must match the log's"),
    hardware: Optional[str] = typer.Option(None, "--hardware", help="must match the log's hardware"),
    chips: Optional[int] = typer.Option(None, "--chips", help="must match the log's ranks"),
    tp: Optional[int] = typer.Option(None, "--tp", help="declared tensor parallel size (default: the log's)"),
    pp: Optional[int] = typer.Option(None, "--pp", help="declared pipeline stages"),
    dp: Optional[int] = typer.Option(None, "--dp", help="declared data parallel replicas"),
    cp: Optional[int] = typer.Option(None, "--cp", help="declared context parallel size"),
    ep: Optional[int] = typer.Option(None, "--ep", help="declared expert parallel size"),
    micro_batch: Optional[int] = typer.Option(None, "--micro-batch", help="declared sequences per micro-batch"),
    interleave: Optional[int] = typer.Option(None, "--interleave", help="declared virtual pipeline chunks"),
    recompute: Optional[str] = typer.Option(None, "--recompute", help="declared none|selective|full"),
    zero: Optional[int] = typer.Option(None, "--zero", help="declared ZeRO stage 0-3"),
    sequence_parallel: Optional[bool] = typer.Option(None, "--sequence-parallel/--no-sequence-parallel"),
    framework: Optional[str] = typer.Option(None, "--framework", help="framework profile (default: the log's)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a waterfall peak -> measured MFU to OUT.html"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contract keys)"),
) -> None:
    """Measured vs predicted vs ceiling MFU, the gap split into parts, and what to change.

    Parts add up to ceiling - measured; each is also given in seconds and chip-hours per day."""
    from flopgrid.diagnose import Overrides, diagnose
    from flopgrid.meter.events import merge_logs

    if plot is not None and plot.suffix.lower() not in (".html", ".htm"):
        raise UserInputError(f"--plot {str(plot)!r} must end in .html")
    if chips is not None and chips < 1:
        raise UserInputError(f"--chips must be >= 1, got {chips}")
    pins = {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep, "micro_batch": micro_batch, "interleave": interleave,
            "recompute": recompute, "zero": zero, "sequence_parallel": sequence_parallel}
    spec = load_model_cli(model) if model is not None else None
    log = merge_logs(_with_rank_files(logs))
    d = diagnose(log, Overrides(model=spec, hardware=hardware, chips=chips,
                                plan={k: v for k, v in pins.items() if v is not None}, framework=framework))
    if log.torn_lines:
        warn(f"skipped {log.torn_lines} torn last line(s) (the process was killed mid-write)")
    result = d.as_dict()
    if plot is not None:
        try:
            from flopgrid.diagnose.waterfall import waterfall_html
        except ImportError:
            raise UserInputError("--plot needs plotly: pip install 'flopgrid[sim]'") from None
        title = f"{result['model']} on {result['chips']} x {result['hardware']}: peak to measured MFU"
        write_text_atomic(plot, waterfall_html(result, title))
        result["plot"] = str(plot)
    for note in result["notes"]:
        warn(note)
    emit(result, as_json, _render)


def _plan_label(plan: dict) -> str:
    from flopgrid.perf import Plan

    return Plan(**plan).short()


def _render(r: dict) -> None:
    from flopgrid.diagnose.waterfall import LABELS

    console.print(f"[bold]{r['model']} on {r['chips']} x {r['hardware']} ({r['dtype']})[/bold], {r['steps']} steps, "
                  f"{r['wall_s']:.2f} s wall", highlight=False)
    console.print(f"measured MFU {pct(r['measured_mfu'])} (productive time: {pct(r['productive_mfu'])})", highlight=False)
    console.print(f"predicted    {pct(r['predicted_mfu'])} for the declared plan {_plan_label(r['plan'])}",
                  highlight=False)
    console.print(f"ceiling      {pct(r['ceiling_mfu'])} with plan {_plan_label(r['best_plan'])}", highlight=False)
    t = compact_table(f"gap {100 * r['gap']:.2f} MFU points, by part", ["part", "MFU pts", "seconds", "chip-h/day"])
    for k, v in r["gap_parts"].items():
        if r["gap_seconds"][k] != 0.0:
            t.add_row(LABELS.get(k, k), f"{100 * v:+.2f}", f"{r['gap_seconds'][k]:.3f}",
                      f"{r['gap_chip_hours_per_day'][k]:.2f}")
    console.print(t)
    comp = r["components"]["declared"]
    console.print("model's step (declared plan): " + ", ".join(f"{k[:-2].replace('_', ' ')} {1e3 * v:.3g} ms"
                                                                for k, v in comp.items()), highlight=False)
    ranks = r["ranks"]
    if ranks.get("slowest_rank") is not None:
        console.print(f"slowest rank {ranks['slowest_rank']}: per-rank step {', '.join(f'r{k} {1e3 * v:.3g} ms' for k, v in ranks['step_time_s'].items())} "
                      f"(median {1e3 * ranks['median_step_time_s']:.3g} ms, {ranks['basis']})", highlight=False)
    if r["recommendations"]:
        console.print("[bold]recommendations[/bold] (expected MFU gain):")
        for i, rec in enumerate(r["recommendations"], 1):
            console.print(f"{i}. {rec['action']}  [green]+{100 * rec['expected_mfu_gain']:.2f} pts[/green]\n"
                          f"   {rec['why']}", highlight=False)
    if r.get("plot"):
        console.print(f"waterfall: {r['plot']}")


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose_cmd)

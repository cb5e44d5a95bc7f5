"""`flopgrid reliability`: interruptions per day, Young/Daly interval and expected goodput."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from flopgrid.cli.output import console, emit, pct
from flopgrid.reliability import (
    DEFAULT_CHECKPOINT_S,
    DEFAULT_CHECKPOINT_WRITE_S,
    DEFAULT_RESTART_S,
    LLAMA3_MTTF_CHIP_HOURS,
    expected_goodput,
    interruptions_per_day,
    job_mtbf_s,
    young_daly_interval_s,
)


def reliability(
    chips: int = typer.Option(..., "--chips", help="chips in the job"),
    mttf_chip_hours: float = typer.Option(LLAMA3_MTTF_CHIP_HOURS, "--mttf-chip-hours",
                                          help="mean time to failure of one chip (default: Llama 3, ~50,677 h)"),
    checkpoint_s: float = typer.Option(DEFAULT_CHECKPOINT_S, "--checkpoint-s", help="seconds one checkpoint stalls training"),
    checkpoint_write_s: Optional[float] = typer.Option(
        None, "--checkpoint-write-s",
        help=f"seconds until a checkpoint is durable (asynchronous write; default {DEFAULT_CHECKPOINT_WRITE_S:.0f}, "
             "never less than --checkpoint-s; equal to it = synchronous)"),
    restart_s: Optional[float] = typer.Option(None, "--restart-s",
                                              help=f"seconds to restart after a failure (default {DEFAULT_RESTART_S:.0f})"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Interruptions per day, optimal checkpoint interval and expected goodput of an N-chip job.

    First-order Young (1974) / Daly (2006) model with Llama 3's failure rate by default."""
    r = DEFAULT_RESTART_S if restart_s is None else restart_s
    w = max(DEFAULT_CHECKPOINT_WRITE_S, checkpoint_s) if checkpoint_write_s is None else checkpoint_write_s
    interval = young_daly_interval_s(chips, mttf_chip_hours, checkpoint_s)
    result = {
        "chips": chips,
        "mttf_chip_hours": mttf_chip_hours,
        "checkpoint_s": checkpoint_s,
        "checkpoint_write_s": w,
        "restart_s": r,
        "mtbf_h": job_mtbf_s(chips, mttf_chip_hours) / 3600.0,
        "interruptions_per_day": interruptions_per_day(chips, mttf_chip_hours),
        "checkpoint_interval_s": interval,
        "expected_goodput": expected_goodput(chips, mttf_chip_hours, checkpoint_s, r, checkpoint_write_s=w),
    }
    emit(result, as_json, _render)


def _render(r: dict) -> None:
    t = Table(title=f"reliability of a {r['chips']:,}-chip job", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("chip MTTF", f"{r['mttf_chip_hours']:,.0f} h")
    t.add_row("job mean time between interruptions", f"{r['mtbf_h']:.2f} h")
    t.add_row("interruptions per day", f"{r['interruptions_per_day']:.2f}")
    t.add_row("checkpoint stall / write / restart",
              f"{r['checkpoint_s']:.0f} s / {r['checkpoint_write_s']:.0f} s / {r['restart_s']:.0f} s")
    t.add_row("optimal checkpoint interval (Young/Daly)", f"{r['checkpoint_interval_s'] / 60:.1f} min")
    t.add_row("expected goodput", pct(r["expected_goodput"]))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("reliability")(reliability)

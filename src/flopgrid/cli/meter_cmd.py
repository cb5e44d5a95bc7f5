"""`flopgrid meter demo` and `flopgrid meter report` (issue 5). Torch is imported only
inside `demo` (the report reads JSONL and needs neither torch nor a GPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from flopgrid.cli.output import console, emit, pct, si, warn, warnings_as_lines
from flopgrid.errors import UserInputError, require_int_range

meter_app = typer.Typer(help="Meter a PyTorch training run: MFU, HFU, goodput and badput.", no_args_is_help=True)

REPORT_KEYS = ("steps", "wall_s", "productive_s", "badput_s", "tokens_per_second", "model_flops_per_token",
               "peak_flops_per_chip", "chips", "mfu", "hfu", "goodput_fraction")


@meter_app.command("demo")
def demo(
    steps: int = typer.Option(30, "--steps", help="optimizer steps to train (a resumed run continues the count)"),
    out: Path = typer.Option(..., "--out", help="event log to write (RUN.jsonl)"),
    inject_data_stall_s: float = typer.Option(0.0, "--inject-data-stall-s", help="sleep before every batch (s)"),
    checkpoint_every: int = typer.Option(0, "--checkpoint-every", help="save a checkpoint every K steps (0 = never)"),
    resume: bool = typer.Option(False, "--resume", help="restart from OUT's checkpoint and append to the log"),
    size: str = typer.Option("small", "--size", help="tiny|small GPT"),
    batch_size: int = typer.Option(8, "--batch-size", help="sequences per step"),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0 = torch default)"),
    prometheus_port: Optional[int] = typer.Option(None, "--prometheus-port", help="serve /metrics on this port"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Train the bundled small GPT (CPU, or GPU if present), metered; then report."""
    from flopgrid.examples.gpt import SIZES

    if steps <= 0 or batch_size <= 0 or checkpoint_every < 0 or inject_data_stall_s < 0 or threads < 0:
        raise UserInputError("--steps and --batch-size must be > 0; --checkpoint-every, --inject-data-stall-s, "
                             f"--threads >= 0 (got {steps}, {batch_size}, {checkpoint_every}, {inject_data_stall_s}, {threads})")
    if prometheus_port is not None:
        require_int_range(prometheus_port, 1, 65535, "--prometheus-port")
    if size not in SIZES:
        raise UserInputError(f"--size {size!r} is not one of: {', '.join(SIZES)}")
    if out.suffix != ".jsonl":
        raise UserInputError(f"--out {str(out)!r} must end in .jsonl")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserInputError("the meter needs torch: pip install 'flopgrid[meter]'") from None
    from flopgrid.examples.train_demo import train

    with warnings_as_lines():
        result = train(out, steps=steps, size=size, batch_size=batch_size, stall_s=inject_data_stall_s,
                       checkpoint_every=checkpoint_every, resume=resume, threads=threads or None,
                       prometheus_port=prometheus_port)
    if not as_json:
        console.print(f"[dim]trained steps {result.first_step}..{result.last_step}, final loss "
                      f"{result.final_loss:.3f}; log {result.log_path}[/dim]")
    _report([Path(result.log_path)], as_json, None)


@meter_app.command("report")
def report(
    logs: list[Path] = typer.Argument(..., help="event logs (RUN.jsonl, one per rank)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contract keys)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a step-time timeline to OUT.html"),
) -> None:
    """MFU, HFU, goodput and badput by category of a metered run.

    Convention (Google's goodput decomposition): tokens/s, MFU and HFU over productive time.

    Data waits, checkpoints, restarts and re-done steps are badput (goodput_fraction).

    MFU over wall time = mfu x goodput_fraction."""
    if plot is not None and plot.suffix.lower() not in (".html", ".htm"):
        raise UserInputError(f"--plot {str(plot)!r} must end in .html")
    _report(logs, as_json, plot)


def _report(logs: list[Path], as_json: bool, plot: Path | None) -> None:
    from flopgrid.meter.events import merge_logs
    from flopgrid.meter.report import build_report

    log = merge_logs(logs)
    rep = build_report(log)
    if log.torn_lines:
        warn(f"skipped {log.torn_lines} torn last line(s) (the process was killed mid-write)")
    for note in rep.notes:
        warn(note)
    if rep.mfu > 1.0:
        warn(f"MFU above 100% ({pct(rep.mfu)}): the recorded peak ({si(rep.peak_flops_per_chip)}) is too low")
    result = rep.as_dict()
    if plot is not None:
        try:
            from flopgrid.meter.plot import write_timeline
        except ImportError:
            raise UserInputError("--plot needs plotly: pip install 'flopgrid[sim]'") from None
        result["plot"] = str(write_timeline(log.events, plot))
    emit(result, as_json, _render)


def _render(r: dict) -> None:
    t = Table(title=f"metered run: {r['steps']} steps on {r['chips']} x {r['hardware']} ({r['dtype']})",
              show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("tokens per second", f"{r['tokens_per_second']:,.0f}")
    t.add_row("model FLOPs per token", si(r["model_flops_per_token"], "FLOP"))
    t.add_row("peak per chip", si(r["peak_flops_per_chip"]))
    t.add_row("MFU / HFU", f"{pct(r['mfu'])} / {pct(r['hfu'])}")
    t.add_row("wall", f"{r['wall_s']:.2f} s")
    t.add_row("productive", f"{r['productive_s']:.2f} s")
    t.add_row("goodput", pct(r["goodput_fraction"]))
    for k, v in r["badput_s"].items():
        if abs(v) >= 5e-4:
            t.add_row(f"  badput: {k}", f"{v:.2f} s")
    if r["wasted_steps"]:
        t.add_row("re-done steps", str(r["wasted_steps"]))
    spread = r.get("ranks") or {}
    if spread.get("slowest_rank") is not None:
        t.add_row("slowest rank", f"{spread['slowest_rank']} ({spread['spread_s'] * 1e3:.1f} ms/step spread, "
                  f"{spread['straggler_s']:.2f} s lost vs median)")
    console.print(t)
    console.print(f"[dim]peak: {r['peak_source']}[/dim]")
    if r.get("plot"):
        console.print(f"timeline: {r['plot']}")


def register(app: typer.Typer) -> None:
    app.add_typer(meter_app, name="meter")

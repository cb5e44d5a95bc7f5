"""`flopgrid mfu`: MFU and HFU of a measured training run."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from flopgrid.catalog import get_accelerator
from flopgrid.cli.output import console, emit, load_model_cli, pct, si, warn
from flopgrid.errors import UserInputError, require_positive
from flopgrid.flops import ATTENTION_CONVENTIONS, PARAMS_CONVENTIONS, RECOMPUTE_MODES, Throughput, mfu_report
from flopgrid.flops.per_token import _check

CONTRACT_KEYS = ("params_total", "params_matmul", "model_flops_per_token", "hardware_flops_per_token",
                 "peak_flops_per_chip", "tokens_per_second", "mfu", "hfu")


def mfu(
    model: str = typer.Argument(..., help="catalog name, flopgrid spec file, or Hugging Face config.json"),
    hardware: str = typer.Option(..., "--hardware", help="accelerator name (flopgrid hardware list)"),
    chips: int = typer.Option(..., "--chips", help="number of chips in the job"),
    tokens_per_second: Optional[float] = typer.Option(None, "--tokens-per-second", help="job throughput"),
    tokens_per_second_per_chip: Optional[float] = typer.Option(None, "--tokens-per-second-per-chip"),
    step_time: Optional[float] = typer.Option(None, "--step-time", help="seconds per optimizer step"),
    global_batch_tokens: Optional[float] = typer.Option(None, "--global-batch-tokens", help="tokens per step"),
    dtype: str = typer.Option("bf16", "--dtype", help="bf16|fp16|fp8|tf32|fp32 (dense peak)"),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="training sequence length (default: the model's; "
                                          "a config.json rarely states it)"),
    params: str = typer.Option("matmul", "--params", help="matmul|total: which N in 6N"),
    attention: str = typer.Option("full", "--attention", help="full|causal|none attention FLOPs"),
    recompute: str = typer.Option("none", "--recompute", help="none|selective|full|palm-partial (HFU)"),
    allow_over_peak: bool = typer.Option(False, "--allow-over-peak",
                                         help="print an MFU or HFU above 100% instead of failing"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (contract keys)"),
) -> None:
    """MFU and HFU of a run from its measured throughput.

    MODEL formats: docs/formats/model-spec.md (`flopgrid schema model-spec`)."""
    _check(params, PARAMS_CONVENTIONS, "--params")
    _check(attention, ATTENTION_CONVENTIONS, "--attention")
    _check(recompute, RECOMPUTE_MODES, "--recompute")
    require_positive(chips, "--chips")
    spec = load_model_cli(model, seq_len)
    acc = get_accelerator(hardware)
    tput = Throughput.from_any(chips, tokens_per_second, tokens_per_second_per_chip, step_time, global_batch_tokens)
    report = mfu_report(spec, acc, chips, tput.tokens_per_second, dtype, seq_len, params, attention, recompute)
    if report.mfu > 1.0 or report.hfu > 1.0:
        message = (f"MFU {pct(report.mfu)} / HFU {pct(report.hfu)} is above 100%: {tput.tokens_per_second:,.6g} "
                   f"tokens/s on {chips:,} x {acc.name} (peak {si(report.peak_flops_per_chip)} {dtype}) for "
                   f"{spec.name} at seq_len {report.seq_len:,} is inconsistent; check the throughput, --chips, "
                   "--dtype and --seq-len")
        if not allow_over_peak:
            raise UserInputError(message + " (or give --allow-over-peak)")
        warn(message)
    emit(report.as_dict(), as_json, _render)


def _render(r: dict) -> None:
    table = Table(title=f"{r['model']} on {r['chips']} x {r['hardware']} ({r['dtype']})", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("parameters (total / matmul)", f"{r['params_total'] / 1e9:.3f}B / {r['params_matmul'] / 1e9:.3f}B")
    table.add_row("model FLOPs per token", si(r["model_flops_per_token"], "FLOP"))
    table.add_row("hardware FLOPs per token", si(r["hardware_flops_per_token"], "FLOP"))
    table.add_row("sequence length", f"{r['seq_len']:,} tokens")
    table.add_row("peak per chip", si(r["peak_flops_per_chip"]))
    table.add_row("tokens per second", f"{r['tokens_per_second']:,.0f}")
    table.add_row("achieved per chip", si(r["model_flops_per_token"] * r["tokens_per_second"] / r["chips"]))
    table.add_row("MFU", pct(r["mfu"]))
    table.add_row("HFU", pct(r["hfu"]))
    console.print(table)
    console.print(f"[dim]{r['convention']}[/dim]")


def register(app: typer.Typer) -> None:
    app.command("mfu")(mfu)

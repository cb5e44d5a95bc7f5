"""`flopgrid predict` and `flopgrid plan`: the performance model and the parallelism planner."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from flopgrid.cli.output import console, emit, load_model_cli, pct
from flopgrid.errors import UserInputError, require_positive

BAR_WIDTH = 40
BAR_CHARS = "█▓▒░▚▞▙▛▜▟▀▄▌"

_MODEL = typer.Argument(..., help="catalog name, flopgrid spec file, or Hugging Face config.json "
                                   "(docs/formats/model-spec.md)")
_HARDWARE = typer.Option(..., "--hardware", help="accelerator name (flopgrid hardware list)")
_CHIPS = typer.Option(..., "--chips", help="chips in the job")
_BATCH = typer.Option(None, "--global-batch-tokens",
                      help="tokens per optimizer step (whole sequences; default: chips x 2^k sequences, "
                           ">= 2^20 tokens)")
_CLUSTER = typer.Option(None, "--cluster", help="cluster name or JSON/YAML file (default: the hardware's; "
                                                "docs/formats/cluster.md)")
_DTYPE = typer.Option("bf16", "--dtype", help="bf16|fp16|fp8|tf32|fp32 (dense peak)")
_FLASH = typer.Option(True, "--flash-attention/--no-flash-attention", help="FlashAttention or unfused attention")
_JSON = typer.Option(False, "--json", help="print JSON (contract keys)")
_FRAMEWORK = typer.Option(None, "--framework",
                          help="software stack: a shipped profile (megatron-lm, megatron-core, nemo, torchtitan, "
                               "llm-foundry, deepspeed, maxtext, llama3) or a profile YAML/JSON file; default megatron-core")
_SEQ_LEN = typer.Option(None, "--seq-len", help="training sequence length (default: the model's)")


def _load(model: str, hardware: str, chips: int, cluster: Optional[str], global_batch_tokens: Optional[int],
          seq_len: Optional[int] = None):
    from flopgrid.catalog import get_accelerator, load_cluster
    from flopgrid.perf import default_global_batch_tokens

    require_positive(chips, "--chips")
    if global_batch_tokens is not None:
        require_positive(global_batch_tokens, "--global-batch-tokens")
    spec = load_model_cli(model, seq_len)
    acc = get_accelerator(hardware)
    fabric = load_cluster(cluster, hardware, chips)
    if fabric.hardware != acc.name:
        raise UserInputError(f"--hardware {hardware} does not match cluster {fabric.name!r} ({fabric.hardware})")
    if chips > fabric.chips:
        raise UserInputError(f"--chips {chips} exceeds cluster {fabric.name!r} ({fabric.chips} chips)")
    batch = default_global_batch_tokens(spec, chips) if global_batch_tokens is None else global_batch_tokens
    return spec, fabric, batch


def _framework(name_or_file: Optional[str]):
    from flopgrid.catalog.framework import load_framework

    return load_framework(name_or_file)


def predict_cmd(
    model: str = _MODEL,
    hardware: str = _HARDWARE,
    chips: int = _CHIPS,
    global_batch_tokens: int = _BATCH,
    tp: int = typer.Option(..., "--tp", help="tensor parallel size"),
    pp: int = typer.Option(..., "--pp", help="pipeline stages"),
    dp: int = typer.Option(..., "--dp", help="data parallel replicas"),
    cp: int = typer.Option(1, "--cp", help="context parallel size"),
    ep: int = typer.Option(1, "--ep", help="expert parallel size (inside dp*cp)"),
    micro_batch: int = typer.Option(1, "--micro-batch", help="sequences per micro-batch"),
    interleave: int = typer.Option(1, "--interleave", help="virtual pipeline chunks per stage"),
    recompute: str = typer.Option("none", "--recompute", help="none|selective|full"),
    zero: int = typer.Option(0, "--zero", help="ZeRO stage 0-3 (3 = FSDP)"),
    sequence_parallel: bool = typer.Option(False, "--sequence-parallel/--no-sequence-parallel"),
    cluster: Optional[str] = _CLUSTER,
    dtype: str = _DTYPE,
    flash_attention: bool = _FLASH,
    seq_len: Optional[int] = _SEQ_LEN,
    framework: Optional[str] = _FRAMEWORK,
    as_json: bool = _JSON,
) -> None:
    """Predict step time, MFU (with its band), memory and the time breakdown of one parallel plan."""
    from flopgrid.perf import Plan, predict

    spec, fabric, global_batch_tokens = _load(model, hardware, chips, cluster, global_batch_tokens, seq_len)
    profile = _framework(framework)
    plan = Plan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, micro_batch=micro_batch, interleave=interleave,
                recompute=recompute, zero=zero, sequence_parallel=sequence_parallel)
    pred = predict(spec, fabric, chips, plan, global_batch_tokens, dtype=dtype, flash_attention=flash_attention,
                   framework=profile)
    result = {"model": spec.name, "cluster": fabric.name, "hardware": fabric.hardware, "chips": chips,
              "global_batch_tokens": global_batch_tokens, "dtype": dtype, **pred.as_dict()}
    emit(result, as_json, _render_prediction)


def plan_cmd(
    model: str = _MODEL,
    hardware: str = _HARDWARE,
    chips: int = _CHIPS,
    global_batch_tokens: int = _BATCH,
    tp: Optional[int] = typer.Option(None, "--tp", help="pin tensor parallel size"),
    pp: Optional[int] = typer.Option(None, "--pp", help="pin pipeline stages"),
    dp: Optional[int] = typer.Option(None, "--dp", help="pin data parallel replicas"),
    cp: Optional[int] = typer.Option(None, "--cp", help="pin context parallel size"),
    ep: Optional[int] = typer.Option(None, "--ep", help="pin expert parallel size"),
    micro_batch: Optional[int] = typer.Option(None, "--micro-batch", help="pin sequences per micro-batch"),
    interleave: Optional[int] = typer.Option(None, "--interleave", help="pin virtual pipeline chunks"),
    recompute: Optional[str] = typer.Option(None, "--recompute", help="pin none|selective|full"),
    zero: Optional[int] = typer.Option(None, "--zero", help="pin ZeRO stage 0-3"),
    sequence_parallel: Optional[bool] = typer.Option(None, "--sequence-parallel/--no-sequence-parallel",
                                                     help="pin sequence parallelism on/off"),
    top: int = typer.Option(5, "--top", help="how many plans to list"),
    cluster: Optional[str] = _CLUSTER,
    dtype: str = _DTYPE,
    flash_attention: bool = _FLASH,
    seq_len: Optional[int] = _SEQ_LEN,
    framework: Optional[str] = _FRAMEWORK,
    as_json: bool = _JSON,
) -> None:
    """Search every parallel plan the framework can run and list the fastest that fit (any plan flag pins it)."""
    from flopgrid.perf import search_plans

    spec, fabric, global_batch_tokens = _load(model, hardware, chips, cluster, global_batch_tokens, seq_len)
    profile = _framework(framework)
    require_positive(top, "--top")
    pins = {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep, "micro_batch": micro_batch,
            "interleave": interleave, "recompute": recompute, "zero": zero, "sequence_parallel": sequence_parallel}
    search = search_plans(spec, fabric, chips, global_batch_tokens, pins={k: v for k, v in pins.items() if v is not None},
                          top_k=top, dtype=dtype, flash_attention=flash_attention, framework=profile)
    result = {"model": spec.name, "cluster": fabric.name, "hardware": fabric.hardware, "chips": chips,
              "global_batch_tokens": global_batch_tokens, "dtype": dtype, "framework": profile.name,
              "mfu_low": search.best.mfu_low, "mfu_high": search.best.mfu_high, **search.as_dict()}
    emit(result, as_json, _render_search)


LEGEND_WIDTH = 78


def _bar(breakdown: dict[str, float]) -> None:
    total = sum(breakdown.values()) or 1.0
    parts = [(k, v) for k, v in sorted(breakdown.items(), key=lambda kv: -kv[1]) if v / total >= 0.005]
    bar, legend = "", []
    for i, (k, v) in enumerate(parts):
        ch = BAR_CHARS[i % len(BAR_CHARS)]
        bar += ch * max(1, round(BAR_WIDTH * v / total))
        legend.append(f"{ch} {k} {v:.3g} s ({100 * v / total:.0f}%)")
    console.print(bar[: BAR_WIDTH + len(parts)], highlight=False)
    lines = [""]
    for entry in legend:  # wrap between entries, never inside one
        if lines[-1] and len(lines[-1]) + 2 + len(entry) > LEGEND_WIDTH:
            lines.append("")
        lines[-1] += ("  " if lines[-1] else "") + entry
    console.print("\n".join(lines), highlight=False)


def _plan_label(plan: dict) -> str:
    from flopgrid.perf import Plan

    return Plan(**plan).short()


def _render_prediction(r: dict) -> None:
    table = Table(title=f"{r['model']} on {r['chips']} x {r['hardware']} ({r['cluster']}, {r['dtype']})",
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("plan", _plan_label(r["plan"]))
    table.add_row("step time", f"{r['step_time_s']:.3f} s ({r['micro_batches']} micro-batches)")
    table.add_row("tokens per second", f"{r['tokens_per_second']:,.0f}")
    table.add_row("framework", r["framework"])
    table.add_row("MFU / HFU", f"{pct(r['mfu'])} / {pct(r['hfu'])}")
    table.add_row("  MFU band", f"{pct(r['mfu_low'])} .. {pct(r['mfu_high'])} (leave-one-source-out error)")
    fits = "[green]fits[/green]" if r["fits"] else "[red]does not fit[/red]"
    table.add_row("memory per chip", f"{r['memory_gib_per_chip']:.1f} of {r['hbm_gib_per_chip']:.1f} GiB, {fits}")
    mem = r["memory_breakdown_gib"]
    table.add_row("  memory breakdown", ", ".join(f"{k} {v:.1f}" for k, v in mem.items()))
    table.add_row("bottleneck", r["bottleneck"])
    console.print(table)
    if r.get("ceiling_note"):
        console.print(f"[yellow]{r['ceiling_note']}[/yellow]", highlight=False)
    _bar(r["breakdown"])


def _render_search(r: dict) -> None:
    """One line of figures per candidate and its plan on the line below: readable at 80
    columns (the widest line is 79 characters)."""
    console.print(f"[bold]{r['model']} on {r['chips']} x {r['hardware']}[/bold] ({r['framework']}): best of "
                  f"{r['searched']:,} plans ({r['fitting']:,} fit) in {r['seconds']:.2f} s; best MFU band "
                  f"{pct(r['mfu_low'])} .. {pct(r['mfu_high'])}", highlight=False)
    console.print(f"[bold]{'#':>2} {'step s':>8} {'tokens/s':>10} {'MFU':>7} {'HFU':>7} {'GiB/chip':>8}  "
                  f"bottleneck[/bold]", highlight=False)
    for i, c in enumerate(r["candidates"], 1):
        console.print(f"{i:>2} {c['step_time_s']:>8.3f} {c['tokens_per_second']:>10,.0f} {pct(c['mfu']):>7} "
                      f"{pct(c['hfu']):>7} {c['memory_gib_per_chip']:>8.1f}  {c['bottleneck']}", highlight=False)
        console.print(f"   [cyan]{_plan_label(c['plan'])}[/cyan]", highlight=False)
    if r["best"].get("ceiling_note"):
        console.print(f"[yellow]{r['best']['ceiling_note']}[/yellow]", highlight=False)
    _bar(r["best"]["breakdown"])


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_cmd)
    app.command("plan")(plan_cmd)

"""What a diagnosis needs to know about a run, from its parsed logs and the user's flags.

The log records the model spec, the plan, the hardware, the peak it was measured
against, the framework profile and the chips (ranks); flags fill in what the log lacks
(`--model`, plan flags, `--framework`) and must agree with what it has (`--model`,
`--hardware`, `--chips`): a mismatch is bad input naming both values.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.errors import UserInputError
from flopgrid.flops import model_flops_per_token
from flopgrid.meter.events import LogContents
from flopgrid.meter.flop_count import CROSS_CHECK_TOLERANCE
from flopgrid.meter.ranks import RankSpread, rank_spread
from flopgrid.meter.report import MeterReport, build_report
from flopgrid.perf import Plan

ANALYTIC_MATCH_REL = 1e-6  # a log whose FLOPs per token came from the same spec agrees to rounding


@dataclass(frozen=True)
class Overrides:
    """The user's flags (None: take the log's)."""

    model: ModelSpec | None = None
    hardware: str | None = None
    chips: int | None = None
    plan: dict[str, Any] = field(default_factory=dict)  # plan fields to set
    framework: str | None = None


@dataclass(frozen=True)
class RunFacts:
    """One run, as the diagnosis sees it (seconds are per-chip averages, as the report's)."""

    report: MeterReport
    spread: RankSpread
    model: ModelSpec
    plan: Plan
    hardware: str
    dtype: str
    chips: int
    peak_flops_per_chip: float
    framework: str | None
    global_batch_tokens: int
    checkpoints: int  # checkpoint saves per rank (rank 0's count)
    memory_bytes: float | None = None  # the `cpu` chip's RAM and copy bandwidth, as recorded
    memory_bytes_per_s: float | None = None
    notes: list[str] = field(default_factory=list)


def _starts(log: LogContents) -> list[dict[str, Any]]:
    return [e for e in log.events if e["event"] == "start"]


def _model(start: dict[str, Any], report: MeterReport, given: ModelSpec | None) -> ModelSpec:
    recorded = start.get("model_spec")
    if given is None:
        if recorded is None:
            raise UserInputError("the log records no model spec (a run metered without one): give --model")
        return ModelSpec(**recorded)
    fpt = model_flops_per_token(given)
    tol = ANALYTIC_MATCH_REL if start.get("flops_source") == "analytic" else CROSS_CHECK_TOLERANCE
    if abs(fpt - report.model_flops_per_token) > tol * report.model_flops_per_token:
        raise UserInputError(
            f"--model {given.name} has {fpt:.6g} FLOPs per token but the log's model "
            f"({start.get('model') or 'unnamed'}) has {report.model_flops_per_token:.6g}: the log is of another model")
    return given


def _plan(start: dict[str, Any], pins: dict[str, Any], chips: int) -> Plan:
    fields = {**(start.get("plan") or {}), **{k: v for k, v in pins.items() if v is not None}}
    if "dp" not in fields:
        fields["dp"] = max(1, chips // (int(fields.get("tp", 1)) * int(fields.get("pp", 1)) * int(fields.get("cp", 1))))
    fields.setdefault("tp", 1)
    fields.setdefault("pp", 1)
    try:
        plan = Plan(**fields)
    except TypeError as exc:
        raise UserInputError(f"the plan has an unknown field: {exc}") from None
    if plan.chips != chips:
        raise UserInputError(f"the plan's tp*pp*dp*cp = {plan.tp}*{plan.pp}*{plan.dp}*{plan.cp} = {plan.chips} "
                             f"does not match the run's {chips} chip(s)")
    return plan


def _global_batch_tokens(report: MeterReport, seq_len: int, notes: list[str]) -> int:
    per_step = report.useful_tokens / max(1, report.steps)
    seqs = max(1, round(per_step / seq_len))
    if abs(seqs * seq_len - per_step) > 1e-9 * per_step:
        notes.append(f"{per_step:.0f} tokens per step is not whole sequences of {seq_len}: predicted for "
                     f"{seqs} sequences ({seqs * seq_len} tokens)")
    return seqs * seq_len


def run_facts(log: LogContents, overrides: Overrides | None = None) -> RunFacts:
    """The facts of the run in `log` (every rank's events), checked against `overrides`."""
    ov = overrides or Overrides()
    report = build_report(log)  # raises on an empty or torn log, or mixed models
    starts = _starts(log)
    start = starts[0]
    runs = sorted({str(e.get("run")) for e in starts})
    if len(runs) > 1:
        raise UserInputError(f"the logs are of different runs ({', '.join(runs)}): diagnose one run at a time")
    ranks = sorted({int(e.get("rank", 0)) for e in log.events})
    world = report.world_size
    if ranks != list(range(world)):
        missing = sorted(set(range(world)) - set(ranks))
        raise UserInputError(f"read rank(s) {ranks} of a world of {world}: give every rank's log "
                             f"(missing rank(s) {missing}, files <stem>.rank<r>.jsonl)")
    if ov.chips is not None and ov.chips != world:
        raise UserInputError(f"--chips {ov.chips} does not match the log's {world} rank(s) (world_size {world})")
    hardware = str(start.get("hardware", ""))
    if ov.hardware is not None:
        from flopgrid.catalog import get_accelerator

        given = "cpu" if ov.hardware.strip().lower() == "cpu" else get_accelerator(ov.hardware).name
        if given != hardware:
            raise UserInputError(f"--hardware {ov.hardware} does not match the log's hardware {hardware!r} "
                                 "(its MFU is measured against that chip's peak)")
    notes = list(report.notes)
    model = _model(start, report, ov.model)
    plan = _plan(start, ov.plan, world)
    framework = ov.framework if ov.framework is not None else start.get("framework")
    by_rank: dict[int, list[dict[str, Any]]] = {}
    for e in log.events:
        by_rank.setdefault(int(e.get("rank", 0)), []).append(e)
    saves = [e for e in by_rank.get(0, []) if e["event"] == "checkpoint_save"]
    mem = [float(e["memory_bytes"]) for e in starts if e.get("memory_bytes")]
    bw = [float(e["memory_bytes_per_s"]) for e in starts if e.get("memory_bytes_per_s")]
    return RunFacts(report=report, spread=rank_spread(by_rank), model=model, plan=plan, hardware=hardware,
                    dtype=report.dtype or "bf16", chips=world, peak_flops_per_chip=report.peak_flops_per_chip,
                    framework=framework, global_batch_tokens=_global_batch_tokens(report, model.seq_len, notes),
                    checkpoints=len(saves), memory_bytes=min(mem) if mem else None,
                    memory_bytes_per_s=statistics.median(bw) if bw else None, notes=notes)

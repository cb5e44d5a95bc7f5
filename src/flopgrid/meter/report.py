"""`flopgrid meter report`: MFU, HFU and goodput of a metered run from its event logs.

Time quantities are per-chip averages over the ranks read (chip-seconds / chips), so
productive + badput = wall holds for the job as for each rank. Throughput counts the
tokens of the steps that count (re-done steps once):

    tokens_per_second = useful tokens (all ranks) / productive_s
    mfu = tokens_per_second x model_flops_per_token / (chips x peak_flops_per_chip)
    goodput_fraction = productive_s / wall_s

(MFU and HFU: PaLM App. B, computed by `flopgrid.flops.flops_utilization`; the peak is
the one recorded in the log's `start` event, so a report is reproducible.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flopgrid.errors import UserInputError
from flopgrid.flops import flops_utilization
from flopgrid.meter.badput import BADPUT_CATEGORIES, RankAccount, account_rank
from flopgrid.meter.events import LogContents
from flopgrid.meter.ranks import rank_spread


@dataclass(frozen=True)
class MeterReport:
    """The `flopgrid meter report` keys (issue 5) and a few more for context."""

    steps: int
    wall_s: float
    productive_s: float
    badput_s: dict[str, float]
    tokens_per_second: float
    model_flops_per_token: float
    hardware_flops_per_token: float
    peak_flops_per_chip: float
    chips: int
    mfu: float
    hfu: float
    goodput_fraction: float
    useful_tokens: int = 0
    useful_flops: float = 0.0
    wasted_steps: int = 0
    sessions: int = 0
    world_size: int = 1
    hardware: str = ""
    dtype: str = ""
    peak_source: str = ""
    torn_lines: int = 0
    notes: list[str] = field(default_factory=list)
    ranks: dict[str, Any] = field(default_factory=dict)  # flopgrid.meter.ranks.RankSpread.as_dict()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _first(events: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((e for e in events if e["event"] == kind), None)


def _flops_per_token(start: dict[str, Any], events: list[dict[str, Any]]) -> tuple[float, float]:
    model_fpt = start.get("model_flops_per_token")
    hw_fpt = start.get("hardware_flops_per_token")
    if model_fpt is None:
        count = _first(events, "flop_count")
        if count is None:
            raise UserInputError("the log has no FLOPs per token (no model spec in `start`, no `flop_count` event)")
        model_fpt = count["counted_flops_per_token"]
    return float(model_fpt), float(hw_fpt if hw_fpt is not None else model_fpt)


def build_report(log: LogContents) -> MeterReport:
    """The report of everything in `log` (one or more ranks, one or more sessions)."""
    by_rank: dict[int, list[dict[str, Any]]] = {}
    for e in log.events:
        by_rank.setdefault(int(e.get("rank", 0)), []).append(e)
    starts = [e for e in log.events if e["event"] == "start"]
    if not starts or not any(e["event"] == "step" for e in log.events):
        raise UserInputError(f"no usable events in {', '.join(log.files)}: need a `start` and at least one `step`")
    start = starts[0]
    notes: list[str] = []
    model_fpt, hw_fpt = _flops_per_token(start, log.events)
    peak = float(start["peak_flops_per_chip"])
    if any(e.get("model_flops_per_token") != start.get("model_flops_per_token") for e in starts):
        raise UserInputError("the logs mix runs of different models (model_flops_per_token differs between `start` events)")
    if any(float(e["peak_flops_per_chip"]) != peak for e in starts):
        notes.append("sessions recorded different peaks; the first session's peak is used")
    accounts: list[RankAccount] = [account_rank(evts, r) for r, evts in sorted(by_rank.items())]
    chips = len(accounts)
    world_size = max(int(e.get("world_size", 1)) for e in starts)
    if chips != world_size:
        notes.append(f"read {chips} rank(s) of a world of {world_size}: MFU is over the ranks read")

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    wall_s = mean([a.wall_s for a in accounts])
    productive_s = mean([a.productive_s for a in accounts])
    badput_s = {c: mean([a.badput_s[c] for a in accounts]) for c in BADPUT_CATEGORIES}
    tokens = sum(a.useful_tokens for a in accounts)
    tokens_per_second = tokens / productive_s if productive_s > 0 else 0.0
    return MeterReport(
        steps=max(a.steps for a in accounts),
        wall_s=wall_s,
        productive_s=productive_s,
        badput_s=badput_s,
        tokens_per_second=tokens_per_second,
        model_flops_per_token=model_fpt,
        hardware_flops_per_token=hw_fpt,
        peak_flops_per_chip=peak,
        chips=chips,
        mfu=flops_utilization(model_fpt, tokens_per_second, chips, peak),
        hfu=flops_utilization(hw_fpt, tokens_per_second, chips, peak),
        goodput_fraction=productive_s / wall_s if wall_s > 0 else 0.0,
        useful_tokens=tokens,
        useful_flops=tokens * model_fpt,
        wasted_steps=max(a.wasted_steps for a in accounts),
        sessions=max(a.sessions for a in accounts),
        world_size=world_size,
        hardware=str(start.get("hardware", "")),
        dtype=str(start.get("dtype", "")),
        peak_source=str(start.get("peak_source", "")),
        torn_lines=log.torn_lines,
        notes=notes,
        ranks=rank_spread(by_rank).as_dict(),
    )

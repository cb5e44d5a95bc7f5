"""Goodput accounting of one rank's event log: productive time and badput by category.

Categories follow Google's ml-goodput-measurement taxonomy (github.com/AI-Hypercomputer/
ml-goodput-measurement: "Badput breakdown": TPU/accelerator initialization, training
preparation / program startup, data loading, checkpoint manager save and restore,
wasted progress due to disruption, infrastructure recovery from disruption, other):

- `initialization`: from a session's start to its first step, less checkpoint restores.
- `data_loading`: waiting for batches of steps that count.
- `checkpoint_save`, `checkpoint_restore`: time inside the meter's checkpoint contexts.
- `wasted_progress`: whole steps (data wait + compute) that a later session re-did after
  a restart; found from the step counter: every execution of a step number but the last
  is wasted.
- `disruption_recovery`: the gap between a session's last event and the next session's
  start (the job was down: kill, reschedule, restart).
- `other`: the rest of the wall time (gaps between steps, logging, evaluation).

Productive time = compute time of the steps that count. `other` is the remainder, so
productive + badput = wall holds exactly; a large `other` is a sign the loop does work
the meter does not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BADPUT_CATEGORIES: tuple[str, ...] = (
    "initialization", "data_loading", "checkpoint_save", "checkpoint_restore",
    "wasted_progress", "disruption_recovery", "other",
)


@dataclass
class RankAccount:
    """Time accounting of one rank (all seconds)."""

    rank: int
    wall_s: float = 0.0
    productive_s: float = 0.0
    badput_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BADPUT_CATEGORIES, 0.0))
    useful_tokens: int = 0
    steps: int = 0  # distinct step numbers that count
    wasted_steps: int = 0  # step executions re-done after a restart
    sessions: int = 0
    first_t: float = 0.0
    last_t: float = 0.0


def _sessions(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive runs of events with the same `session` id, in file order."""
    out: list[list[dict[str, Any]]] = []
    for e in events:
        if out and out[-1][0].get("session") == e.get("session"):
            out[-1].append(e)
        else:
            out.append([e])
    return out


def _span(session: list[dict[str, Any]]) -> tuple[float, float]:
    starts = [float(e["t"]) for e in session if e["event"] == "start"]
    t_first = starts[0] if starts else min(float(e.get("t0", e["t"])) for e in session)
    return t_first, max(float(e["t"]) for e in session)


def account_rank(events: list[dict[str, Any]], rank: int = 0) -> RankAccount:
    """Productive time and badput of one rank's events (file order = time order)."""
    acc = RankAccount(rank=rank)
    sessions = _sessions(events)
    acc.sessions = len(sessions)
    if not sessions:
        return acc
    bad = acc.badput_s
    prev_end: float | None = None
    for session in sessions:
        t_start, t_end = _span(session)
        acc.wall_s += t_end - t_start
        if prev_end is not None:
            gap = max(0.0, t_start - prev_end)
            bad["disruption_recovery"] += gap
            acc.wall_s += gap
        prev_end = t_end
        steps = [e for e in session if e["event"] == "step"]
        first_step_t0 = float(steps[0]["t0"]) if steps else t_end
        pre_ckpt = sum(float(e["duration_s"]) for e in session
                       if e["event"] in ("checkpoint_restore", "checkpoint_save") and float(e["t0"]) < first_step_t0)
        bad["initialization"] += max(0.0, first_step_t0 - t_start - pre_ckpt)
        for e in session:
            if e["event"] in ("checkpoint_save", "checkpoint_restore"):
                bad[e["event"]] += float(e["duration_s"])
    acc.first_t = _span(sessions[0])[0]
    acc.last_t = prev_end or acc.first_t

    all_steps = [e for e in events if e["event"] == "step"]
    last_index = {int(e["step"]): i for i, e in enumerate(all_steps)}
    for i, e in enumerate(all_steps):
        if last_index[int(e["step"])] == i:
            acc.productive_s += float(e["compute_s"])
            bad["data_loading"] += float(e["data_s"])
            acc.useful_tokens += int(e["tokens"])
        else:
            bad["wasted_progress"] += float(e["data_s"]) + float(e["compute_s"])
            acc.wasted_steps += 1
    acc.steps = len(last_index)
    bad["other"] = acc.wall_s - acc.productive_s - sum(v for k, v in bad.items() if k != "other")
    return acc

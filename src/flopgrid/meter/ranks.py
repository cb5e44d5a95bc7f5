"""Per-rank step times of a multi-rank run and its straggler loss (torch-free).

Under synchronous data parallelism every rank finishes a step when the slowest does, so
per-rank wall step times are all the same; what differs is when each rank *arrives* at
the gradient sync. A `Meter` that watches the model records `sync_s` per step: the time
from the start of the step's data wait to the rank's last accumulated parameter gradient
(its own work: data, forward, backward up to the sync). The slowest rank is the one with
the largest mean `sync_s`; the job loses, per step, the slowest rank's time minus the
median rank's ("slowest rank vs median", the measure NVIDIA's straggler detection and
Megatron-LM's `--log-straggler` report as relative performance). The median is the low
median (`statistics.median_low`): with an even number of ranks it is the lower middle
rank, a typical rank rather than the mean of one fast and one slow rank (with two ranks,
the fast one). Without `sync_s` the
per-rank step times (data + compute) are compared instead, which shows ranks that do not
synchronise (independent runs) but not a straggler inside a synchronous job.

The first counting step of each rank is left out (its wait starts at each rank's own
end of initialisation, not at a common sync).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RankSpread:
    """Per-rank mean step time (s) and the straggler seconds of the job."""

    ranks: list[int] = field(default_factory=list)
    step_time_s: dict[int, float] = field(default_factory=dict)  # mean per rank, on `basis`
    slowest_rank: int | None = None
    median_step_time_s: float = 0.0
    spread_s: float = 0.0  # slowest - fastest mean step time
    straggler_s: float = 0.0  # sum over steps of (slowest - median), wall seconds of the job
    steps_compared: int = 0
    basis: str = "none"  # "sync" (arrival at the gradient sync), "step" (data + compute) or "none"

    def as_dict(self) -> dict[str, Any]:
        return {"ranks": self.ranks, "step_time_s": {str(k): v for k, v in self.step_time_s.items()},
                "slowest_rank": self.slowest_rank, "median_step_time_s": self.median_step_time_s,
                "spread_s": self.spread_s, "straggler_s": self.straggler_s,
                "steps_compared": self.steps_compared, "basis": self.basis}


def _counting_steps(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Step number -> its last execution (the one that counts), without the first."""
    steps = [e for e in events if e["event"] == "step"]
    last: dict[int, dict[str, Any]] = {}
    for e in steps:
        last[int(e["step"])] = e
    if steps:
        last.pop(int(steps[0]["step"]), None)
    return last


def rank_spread(by_rank: dict[int, list[dict[str, Any]]]) -> RankSpread:
    """The spread of `by_rank` (rank -> its events in file order)."""
    ranks = sorted(by_rank)
    if len(ranks) < 2:
        return RankSpread(ranks=ranks)
    per_rank = {r: _counting_steps(by_rank[r]) for r in ranks}
    common = sorted(set.intersection(*(set(s) for s in per_rank.values())))
    if not common:
        return RankSpread(ranks=ranks)
    sync = all("sync_s" in per_rank[r][k] for r in ranks for k in common)

    def value(e: dict[str, Any]) -> float:
        return float(e["sync_s"]) if sync else float(e["data_s"]) + float(e["compute_s"])

    straggler_s = 0.0
    for k in common:
        vals = [value(per_rank[r][k]) for r in ranks]
        straggler_s += max(vals) - statistics.median_low(vals)
    means = {r: statistics.fmean(value(per_rank[r][k]) for k in common) for r in ranks}
    slowest = max(ranks, key=lambda r: means[r])
    return RankSpread(ranks=ranks, step_time_s=means, slowest_rank=slowest,
                      median_step_time_s=statistics.median_low(means.values()),
                      spread_s=max(means.values()) - min(means.values()), straggler_s=straggler_s,
                      steps_compared=len(common), basis="sync" if sync else "step")

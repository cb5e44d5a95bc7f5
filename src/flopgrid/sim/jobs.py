"""Jobs: what a trace row asks for (JobSpec) and the simulator's mutable state of it (Job)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job of a trace. `duration_s` is its run time at `chips` on the trace's own
    `hardware` (traces that record run times; None: the fleet's first pool); `tokens` is its
    training tokens (flopgrid traces may give either). Either way the simulator turns it into
    useful FLOPs, so a faster pool finishes the same job sooner. `work_scale` scales the work
    (e.g. fractional GPUs in Alibaba pods). `value_usd_per_eflop`: what the job's buyer gets
    per useful EFLOP delivered (None: the market policies draw one). `job_class`: a label
    (e.g. pretraining, fine-tune) the report groups jobs by."""

    id: str
    submit_s: float
    chips: int
    model: str
    duration_s: float | None = None
    tokens: float | None = None
    work_scale: float = 1.0
    hardware: str | None = None
    value_usd_per_eflop: float | None = None
    job_class: str = ""


# Job states
WAITING, RUNNING, COMPLETED, REJECTED = "waiting", "running", "completed", "rejected"


@dataclass(slots=True, eq=False)
class Job:
    """Simulator state of one job. FLOPs are useful (model) FLOPs; times in seconds."""

    spec: JobSpec
    index: int
    work_flop: float = 0.0
    done_flop: float = 0.0  # checkpointed (or finished) useful work
    state: str = WAITING
    reject_reason: str = ""
    # current run segment
    pool: int = -1
    gang: int = 0
    nodes: list[tuple[int, int]] = field(default_factory=list)  # (node index, chips on it)
    seg_start_s: float = 0.0
    setup_s: float = 0.0  # restart cost at the start of the segment
    rate_flop_s: float = 0.0  # useful FLOP/s while computing
    interval_s: float = 0.0  # checkpoint interval (compute seconds), 0 = none
    checkpoint_s: float = 0.0
    token: int = 0  # invalidates stale finish events
    # history
    first_start_s: float = -1.0
    end_s: float = -1.0
    starts: int = 0
    attained_chip_s: float = 0.0  # LAS attained service (chip-seconds executed)
    last_run_s: float = 0.0
    last_lost_s: float = 0.0  # compute-seconds lost when the last segment ended (since its last checkpoint)
    wait_since_s: float = 0.0
    price_per_chip_hour: float = 0.0  # of the current segment, USD
    paid_micro_usd: int = 0  # every chip-hour held, at its segment's price
    held_chip_s_by_pool: dict[int, float] = field(default_factory=dict)

    def effective_rate(self) -> float:
        """Useful FLOP/s averaged over compute + checkpoint writes."""
        if self.interval_s <= 0 or self.checkpoint_s <= 0:
            return self.rate_flop_s
        return self.rate_flop_s * self.interval_s / (self.interval_s + self.checkpoint_s)

    def remaining_flop(self) -> float:
        return max(0.0, self.work_flop - self.done_flop)

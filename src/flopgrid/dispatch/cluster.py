"""`RayCluster`: the `flopgrid.sched.Cluster` protocol on a live Ray cluster, so the policy
objects that run in the fleet simulator dispatch real gangs here.

The cluster is one pool of chips (GPUs, or the custom `chip` resource): `free_chips` and
`up_chips` are what Ray reports for the alive nodes, `start` reserves a whole-gang
placement group (`flopgrid.dispatch.placement`) and launches one rank actor per chip
(`flopgrid.dispatch.gang`); a gang that cannot be placed whole is refused with the reason
kept on its job. Jobs are the leases of cleared allocations (`DispatchJob`). Resizing is
not offered (the gang is what the market cleared); `preempt` tears a gang down and requeues
it, to resume from its checkpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flopgrid.dispatch.gang import GangRun, GangTiming
from flopgrid.dispatch.job import JobSpec
from flopgrid.dispatch.lease import Lease
from flopgrid.dispatch.placement import Unplaceable, chip_resource, describe, node_chips, reserve
from flopgrid.sched.cluster import PoolInfo

log = logging.getLogger(__name__)


@dataclass
class DispatchSpec:
    """`JobSpecLike` of one allocation."""

    id: str
    submit_s: float
    chips: int
    model: str
    value_usd_per_eflop: float | None = None
    job_class: str = "training"


@dataclass
class DispatchJob:
    """`JobLike` of one allocation, with its lease and its current gang."""

    index: int
    spec: DispatchSpec
    lease: Lease
    state: str = "waiting"
    pool: int = -1
    gang: int = 0
    wait_since_s: float = 0.0
    last_run_s: float = 0.0
    last_lost_s: float = 0.0  # seconds of the last run lost to its failure (since its last checkpoint)
    attained_chip_s: float = 0.0
    retry_at_s: float = 0.0  # backoff: not offered to the policy before this (cluster clock)
    requeued: bool = False
    run: GangRun | None = field(default=None, repr=False)


class RayCluster:
    """A `Cluster` over the Ray cluster this process is connected to (`ray.init` first)."""

    def __init__(self, jobs: list[DispatchJob], spec: JobSpec, run_root: Path, timing: GangTiming,
                 cpus_per_rank: float = 1.0, placement_timeout_s: float = 30.0, resource: str | None = None) -> None:
        self.jobs, self.spec, self.run_root, self.timing = jobs, spec, Path(run_root), timing
        self.cpus_per_rank, self.placement_timeout_s = cpus_per_rank, placement_timeout_s
        self.resource = resource or chip_resource()
        self.t0 = time.time()
        self.timers: list[tuple[float, Hashable]] = []
        self.on_started = None  # callback(job) set by the dispatcher: persist the status change

    @property
    def now(self) -> float:  # type: ignore[override]
        return time.time() - self.t0

    def _nodes(self):
        return node_chips(self.resource)

    def pools(self) -> Sequence[PoolInfo]:
        nodes = self._nodes()
        total = sum(n.total for n in nodes)
        return [PoolInfo(id="ray", hardware=self.spec.hardware or self.resource, chips=total,
                         node_chips=max((n.total for n in nodes), default=0), island_chips=total,
                         price_per_chip_hour=0.0, restart_s=0.0, scale_out_bytes_per_s=0.0,
                         peak_flops_per_chip=self.spec.peak_flops_per_chip or 0.0)]

    def free_chips(self, pool: int) -> int:
        return sum(n.free for n in self._nodes())

    def up_chips(self, pool: int) -> int:
        return sum(n.total for n in self._nodes())

    def waiting(self, limit: int | None = None) -> list[DispatchJob]:
        now = self.now
        ready = [j for j in self.jobs if j.state == "waiting" and j.retry_at_s <= now]
        ready.sort(key=lambda j: (not j.requeued, j.index))
        return ready[:limit] if limit is not None else ready

    def running(self) -> list[DispatchJob]:
        return [j for j in self.jobs if j.state == "running"]

    def pools_for(self, job: DispatchJob, gang: int) -> list[int]:
        return [0] if 0 < gang <= self.up_chips(0) else []

    def can_start(self, pool: int, gang: int) -> bool:
        return self.free_chips(pool) >= gang

    def can_resize(self, job: DispatchJob, pool: int, gang: int) -> bool:
        return False

    def start(self, job: DispatchJob, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool:
        """Reserve the whole gang, then start its ranks; False (reason on the lease) if it cannot be placed."""
        lease = job.lease
        attempt = lease.attempts
        try:
            pg, strategy = reserve(lease.allocation_id, attempt, gang, self.cpus_per_rank, self.placement_timeout_s,
                                   self.resource)
        except Unplaceable as exc:
            lease.reason = str(exc)
            return False
        lease.attempts += 1
        lease.placement_group, lease.strategy = pg.id.hex(), strategy
        lease.placement_group_name = f"{lease.allocation_id}-{attempt}"
        job.run = GangRun(lease.allocation_id, attempt, pg, gang, self.spec, self.run_root / f"alloc-{lease.allocation_id}",
                          self.resource, self.cpus_per_rank, self.timing)
        job.state, job.pool, job.gang, job.requeued = "running", pool, gang, False
        job.run.launch()
        if self.on_started:
            self.on_started(job)
        return True

    def preempt(self, job: DispatchJob) -> None:
        if job.run is not None:
            job.run.teardown()
            job.run = None
        job.state, job.requeued, job.wait_since_s = "waiting", True, self.now

    def resize(self, job: DispatchJob, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool:
        return False

    def _step_s(self) -> float:
        return 1.0

    def rate_flop_s(self, job: DispatchJob, pool: int, gang: int) -> float:
        """A nominal rate (peak x chips): the policies used for dispatch order by arrival, not by rate."""
        return 0.0 if gang > self.up_chips(pool) else gang * (self.spec.peak_flops_per_chip or 1e12)

    def expected_goodput(self, pool: int, gang: int) -> float:
        return 1.0

    def estimate_runtime_s(self, job: DispatchJob, pool: int, gang: int) -> float:
        return max(0, self.spec.steps - 1 - job.lease.last_step) * self._step_s()

    def estimated_end_s(self, job: DispatchJob) -> float:
        return self.now + self.estimate_runtime_s(job, job.pool, job.gang)

    def remaining_flop(self, job: DispatchJob) -> float:
        return self.estimate_runtime_s(job, job.pool, job.gang) * self.rate_flop_s(job, job.pool, job.gang)

    def call_later(self, at_s: float, tag: Hashable) -> None:
        self.timers.append((at_s, tag))

    def due_timers(self) -> list[Hashable]:
        now = self.now
        due = [t for at, t in self.timers if at <= now]
        self.timers = [(at, t) for at, t in self.timers if at > now]
        return due

    def why_not_placed(self, gang: int) -> str:
        return describe(self._nodes(), self.resource)

"""Discrete-event fleet simulator.

Events: arrival, finish, failure (node down), repair (node up), demote (LAS queue
change) and epoch (periodic policy call, e.g. market clearing). After all events at one
instant are applied, the policy is asked to schedule: it starts waiting jobs on pools at
gang sizes (`start`) and may preempt running ones (`preempt`).

Job progress is in useful FLOPs: rate = MFU(model, pool, gang) x gang x peak (perf
model). A job of a trace that records run time `duration_s` at `chips` on the reference
(first) pool carries work = duration_s x rate(reference pool, chips) x work_scale. With
failures on, each segment checkpoints every Young/Daly interval (sqrt(2 C M), M = pool
MTTF / gang) at cost C; a failure loses the work since the last completed checkpoint;
a resumed job first pays the pool's restart cost. A preempted job checkpoints on the way
out (Tiresias, NSDI'19) and loses nothing but pays the restart cost on resume.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from flopgrid.reliability import node_failure_rate_per_s, young_daly_interval_s
from flopgrid.sim import events as ev
from flopgrid.sim.fleet import FleetSpec
from flopgrid.sim.jobs import COMPLETED, REJECTED, RUNNING, WAITING, Job, JobSpec
from flopgrid.sim.placement import PoolState
from flopgrid.sim.throughput import RateTable

if TYPE_CHECKING:
    from flopgrid.sim.policies.base import Policy


@dataclass
class Counters:
    busy_chip_s: float = 0.0
    productive_chip_s: float = 0.0
    lost_flop: float = 0.0
    lost_chip_s: float = 0.0
    failures: int = 0
    interruptions: int = 0
    preemptions: int = 0
    resizes: int = 0
    events: int = 0
    busy_chip_s_by_pool: list[float] = field(default_factory=list)
    useful_flop_by_pool: list[float] = field(default_factory=list)
    series_t: list[float] = field(default_factory=list)
    series_busy: list[int] = field(default_factory=list)
    series_queue: list[int] = field(default_factory=list)
    series_lost_flop: list[float] = field(default_factory=list)


class Simulation:
    """One run of one policy over one trace on one fleet. Deterministic for a seed."""

    def __init__(
        self,
        fleet: FleetSpec,
        specs: list[JobSpec],
        policy: Policy,
        *,
        failures: bool = True,
        seed: int = 0,
        horizon_s: float | None = None,
        rates: RateTable | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self.policy = policy
        self.failures = failures
        self.seed = seed
        self.horizon_s = horizon_s
        self.rates = rates or RateTable(fleet)
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self.pools = [PoolState(p.nodes, p.node_chips, p.nodes_per_island) for p in fleet.pools]
        self.island_chips = [p.nodes_per_island * p.node_chips for p in fleet.pools]
        self.jobs = [Job(spec=s, index=i) for i, s in enumerate(specs)]
        self.queue: dict[int, Job] = {}  # waiting jobs, insertion order (arrivals)
        self.requeued: dict[int, Job] = {}  # interrupted/preempted jobs, served first
        self.running: dict[int, Job] = {}
        self.now = 0.0
        self.c = Counters(busy_chip_s_by_pool=[0.0] * len(fleet.pools), useful_flop_by_pool=[0.0] * len(fleet.pools))
        self.events = ev.EventQueue()
        self.busy_chips = 0
        self.arrived = 0
        self.finished = 0
        self.dirty = False
        self.wall_seconds = 0.0
        self.end_s = 0.0

    # ------------------------------------------------------------------ setup
    def _init_work(self, job: Job) -> None:
        s = job.spec
        fits_somewhere = any(s.chips <= ic for ic in self.island_chips)
        if not fits_somewhere:
            self._reject(job, f"gang of {s.chips} chips is larger than every fabric island")
            return
        if s.tokens is not None:
            job.work_flop = s.tokens * self.rates.flops_per_token(s.model) * s.work_scale
            if self._best_rate(job, s.chips) <= 0:
                self._reject(job, f"{s.model} does not fit on {s.chips} chips of any pool")
            return
        rate = self.rates.rate_flop_s(s.model, 0, s.chips) if s.chips <= self.island_chips[0] else 0.0
        if rate <= 0:
            rate = self._best_rate(job, s.chips)
        if rate <= 0:
            self._reject(job, f"{s.model} does not fit on {s.chips} chips of any pool")
            return
        job.work_flop = float(s.duration_s or 0.0) * rate * s.work_scale

    def _best_rate(self, job: Job, gang: int) -> float:
        return max(
            (self.rates.rate_flop_s(job.spec.model, p, gang) for p in range(len(self.pools)) if gang <= self.island_chips[p]),
            default=0.0,
        )

    def _reject(self, job: Job, reason: str) -> None:
        job.state = REJECTED
        job.reject_reason = reason
        job.end_s = self.now

    # ------------------------------------------------------------- policy API
    def waiting(self) -> list[Job]:
        """Waiting jobs: requeued ones first, then arrivals, each in order."""
        return [*self.requeued.values(), *self.queue.values()]

    def pools_for(self, job: Job, gang: int) -> list[int]:
        """Pools where `job` can run at `gang` chips (model fits, gang fits an island), fleet order."""
        return [p for p in range(len(self.pools)) if gang <= self.island_chips[p]
                and self.rates.rate_flop_s(job.spec.model, p, gang) > 0]

    def can_start(self, pool: int, gang: int) -> bool:
        return self.pools[pool].can_place(gang)

    def start(self, job: Job, pool: int, gang: int) -> bool:
        """Start (or resume) `job` on `pool` with `gang` chips; False if it does not fit now."""
        if job.state != WAITING:
            return False
        rate = self.rates.rate_flop_s(job.spec.model, pool, gang)
        if rate <= 0:
            return False
        alloc = self.pools[pool].place(gang, job.index)
        if alloc is None:
            return False
        self.queue.pop(job.index, None)
        self.requeued.pop(job.index, None)
        spec = self.fleet.pools[pool]
        job.state = RUNNING
        job.pool, job.gang, job.nodes = pool, gang, alloc
        job.seg_start_s = self.now
        job.setup_s = spec.restart_s if job.starts > 0 else 0.0
        job.rate_flop_s = rate
        if self.failures and spec.checkpoint_s > 0:
            job.checkpoint_s = spec.checkpoint_s
            job.interval_s = young_daly_interval_s(gang, spec.mttf_chip_hours, spec.checkpoint_s)
        else:
            job.checkpoint_s = job.interval_s = 0.0
        if job.first_start_s < 0:
            job.first_start_s = self.now
        job.starts += 1
        job.token += 1
        self.running[job.index] = job
        self.busy_chips += gang
        self.events.push(self.now + self._time_to_finish(job), ev.FINISH, job.index, job.token)
        self.policy.on_start(self, job)
        return True

    def preempt(self, job: Job) -> None:
        """Stop `job` now, checkpointing all its progress (no work lost), and requeue it."""
        if job.state != RUNNING:
            return
        computed, _ = self._progress(job, self.now)
        self._end_segment(job, saved=computed, lost=0.0)
        self.c.preemptions += 1
        self._requeue(job)

    def resize(self, job: Job, pool: int, gang: int) -> bool:
        """Elastic reallocation (Pollux, OSDI'21 §4): checkpoint `job` (no work lost), restart it
        on `pool` with `gang` chips paying the pool's restart cost. If the new gang cannot be
        placed, the job resumes on its old pool and gang (still paying the restart)."""
        if job.state != RUNNING:
            return False
        old_pool, old_gang = job.pool, job.gang
        computed, _ = self._progress(job, self.now)
        self._end_segment(job, saved=computed, lost=0.0)
        self.c.resizes += 1
        self._requeue(job)
        if self.start(job, pool, gang):
            return True
        return self.start(job, old_pool, old_gang)

    def can_resize(self, job: Job, pool: int, gang: int) -> bool:
        """Whether `job` (running) could be placed on `pool` at `gang` chips once it releases its own."""
        if job.state != RUNNING or self.rates.rate_flop_s(job.spec.model, pool, gang) <= 0:
            return False
        if pool != job.pool:
            return self.pools[pool].can_place(gang)
        return self.pools[pool].can_place_after_release(job.nodes, job.index, gang)

    def remaining_flop_now(self, job: Job) -> float:
        """Useful FLOPs `job` still has to compute, counting its current segment's progress."""
        if job.state != RUNNING:
            return job.remaining_flop()
        computed, _ = self._progress(job, self.now)
        return max(0.0, job.remaining_flop() - computed * job.rate_flop_s)

    def estimated_end_s(self, job: Job) -> float:
        """When a running job will finish if nothing interrupts it."""
        return job.seg_start_s + self._time_to_finish(job)

    def estimate_runtime_s(self, job: Job, pool: int, gang: int) -> float:
        rate = self.rates.rate_flop_s(job.spec.model, pool, gang)
        return math.inf if rate <= 0 else job.remaining_flop() / rate

    # ---------------------------------------------------------- job timeline
    def _time_to_finish(self, job: Job) -> float:
        c_s = job.remaining_flop() / job.rate_flop_s
        if job.interval_s > 0 and c_s > job.interval_s:
            c_s += (math.ceil(c_s / job.interval_s) - 1) * job.checkpoint_s
        return job.setup_s + c_s

    def _progress(self, job: Job, t: float) -> tuple[float, float]:
        """(computed, saved) compute-seconds of the current segment at time t."""
        e = t - job.seg_start_s - job.setup_s
        if e <= 0:
            return 0.0, 0.0
        need = job.remaining_flop() / job.rate_flop_s
        if job.interval_s <= 0:
            x = min(e, need)
            return x, x
        cycle = job.interval_s + job.checkpoint_s
        k = math.floor(e / cycle)
        computed = min(need, k * job.interval_s + min(e - k * cycle, job.interval_s))
        saved = min(computed, k * job.interval_s)
        return computed, saved

    def _end_segment(self, job: Job, saved: float, lost: float) -> None:
        dur = self.now - job.seg_start_s
        chip_s = job.gang * dur
        self.c.busy_chip_s += chip_s
        self.c.busy_chip_s_by_pool[job.pool] += chip_s
        self.c.productive_chip_s += job.gang * saved
        self.c.lost_chip_s += job.gang * lost
        flop = saved * job.rate_flop_s
        job.done_flop = min(job.work_flop, job.done_flop + flop)
        self.c.useful_flop_by_pool[job.pool] += flop
        self.c.lost_flop += lost * job.rate_flop_s
        job.attained_chip_s += chip_s
        job.last_run_s = dur
        self.pools[job.pool].release(job.nodes, job.index)
        self.busy_chips -= job.gang
        self.running.pop(job.index, None)
        job.token += 1
        job.nodes = []
        self.policy.on_stop(self, job)

    def _requeue(self, job: Job) -> None:
        job.state = WAITING
        job.wait_since_s = self.now
        self.requeued[job.index] = job
        self.dirty = True

    # ------------------------------------------------------------ main loop
    def run(self) -> Simulation:
        t0 = time.perf_counter()
        for job in self.jobs:
            self.events.push(job.spec.submit_s, ev.ARRIVAL, job.index)
        if self.failures:
            for p in range(len(self.pools)):
                self._next_failure(p)
        self.policy.setup(self)
        total = len(self.jobs)
        horizon = self.horizon_s if self.horizon_s is not None else math.inf
        step = max(1, total // 200)
        while len(self.events):
            t = self.events.peek_time()
            if t > horizon:
                break
            if self._done():
                break
            self.now = t
            while len(self.events) and self.events.peek_time() == t:
                _, _, kind, a, b = self.events.pop()
                self.c.events += 1
                self._handle(kind, a, b)
            if self.dirty:
                self.dirty = False
                if self.queue or self.requeued or (self.policy.elastic and self.running):
                    self.policy.schedule(self)
                self._record()
            if self.progress is not None and self.arrived % step == 0:
                self.progress(self.arrived, total)
        if self.horizon_s is not None:
            self.now = self.horizon_s
        self.end_s = self.now
        for job in list(self.running.values()):  # still running at the end: keep their progress
            computed, _ = self._progress(job, self.now)
            self._end_segment(job, saved=computed, lost=0.0)
            job.state = RUNNING
        self._record()
        if self.progress is not None:
            self.progress(total, total)
        self.wall_seconds = time.perf_counter() - t0
        return self

    def _done(self) -> bool:
        return self.arrived == len(self.jobs) and not self.running and not self.queue and not self.requeued

    def _handle(self, kind: int, a: int, b: int) -> None:
        if kind == ev.ARRIVAL:
            job = self.jobs[a]
            self.arrived += 1
            self._init_work(job)
            if job.state == WAITING:
                job.wait_since_s = self.now
                self.queue[a] = job
                self.dirty = True
                self.policy.on_arrival(self, job)
        elif kind == ev.FINISH:
            job = self.jobs[a]
            if job.token != b or job.state != RUNNING:
                return
            computed, _ = self._progress(job, self.now)
            self._end_segment(job, saved=computed, lost=0.0)
            job.done_flop = job.work_flop
            job.state = COMPLETED
            job.end_s = self.now
            self.finished += 1
            self.dirty = True
        elif kind == ev.FAILURE:
            self.c.failures += 1
            pool = self.pools[a]
            for j in sorted(pool.take_down(b)):
                job = self.jobs[j]
                computed, saved = self._progress(job, self.now)
                self._end_segment(job, saved=saved, lost=computed - saved)
                self.c.interruptions += 1
                self._requeue(job)
            self.events.push(self.now + self.fleet.pools[a].repair_s, ev.REPAIR, a, b)
            self._next_failure(a)
            self.dirty = True
        elif kind == ev.REPAIR:
            self.pools[a].bring_up(b)
            self.dirty = True
        else:  # DEMOTE, EPOCH
            self.policy.on_timer(self, kind, a, b)
            self.dirty = True

    def _next_failure(self, p: int) -> None:
        spec = self.fleet.pools[p]
        rate = node_failure_rate_per_s(spec.nodes, spec.node_chips, spec.mttf_chip_hours)
        if rate <= 0:
            return
        t = self.now + float(self.rng.exponential(1.0 / rate))
        node = int(self.rng.integers(0, spec.nodes))
        self.events.push(t, ev.FAILURE, p, node)

    def _record(self) -> None:
        c = self.c
        c.series_t.append(self.now)
        c.series_busy.append(self.busy_chips)
        c.series_queue.append(len(self.queue) + len(self.requeued))
        c.series_lost_flop.append(c.lost_flop)

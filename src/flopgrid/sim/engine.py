"""Discrete-event fleet simulator.

`Simulation` implements the `flopgrid.sched.Cluster` protocol; the policy sees nothing
else. Loop (sched/cluster.py): on an arrival the policy's `admit` accepts or rejects the
job; after all events at one instant (arrival, finish, failure, repair, a policy's
`call_later` timer) are applied, the policy's `schedule` starts, resizes or preempts jobs
through the protocol.

Job progress is in useful FLOPs: rate = MFU(model, pool, gang) x gang x peak (perf
model). A job of a trace that records run time `duration_s` at `chips` on its own hardware
(`JobSpec.hardware`; None: the fleet's first pool) carries work = duration_s x
rate(that hardware, chips) x work_scale (`RateTable.reference_rate_flop_s`).

Money: every run segment is charged chip-hours held x the price per chip-hour its policy
set at `start`/`resize` (None: the pool's posted price), in integer micro-dollars, to the
job's buyer and the same amount to the pool's provider. With
failures on, each segment checkpoints every Young/Daly interval (sqrt(2 C M), M = pool
MTTF / gang) at cost C; a failure loses the work since the last completed checkpoint;
a resumed job first pays the pool's restart cost. A preempted job checkpoints on the way
out (Tiresias, NSDI'19) and loses nothing but pays the restart cost on resume.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from flopgrid.catalog import get_accelerator
from flopgrid.reliability import (
    expected_goodput,
    node_failure_rate_per_s,
    young_daly_interval_s,
)
from flopgrid.sched.cluster import PoolInfo
from flopgrid.sched.pricing import offer_price_per_chip_hour
from flopgrid.sim import events as ev
from flopgrid.sim.fleet import FleetSpec
from flopgrid.sim.jobs import COMPLETED, REJECTED, RUNNING, WAITING, Job, JobSpec
from flopgrid.sim.placement import PoolState
from flopgrid.sim.throughput import RateTable

if TYPE_CHECKING:
    from flopgrid.sched.base import Policy


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
    revenue_micro_usd_by_pool: list[int] = field(default_factory=list)
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
        self.pool_states = [PoolState(p.nodes, p.node_chips, p.nodes_per_island) for p in fleet.pools]
        self.island_chips = [p.nodes_per_island * p.node_chips for p in fleet.pools]
        self._pool_info = tuple(
            PoolInfo(id=p.id, hardware=get_accelerator(p.hardware).name, chips=p.chips, node_chips=p.node_chips,
                     island_chips=self.island_chips[i],
                     price_per_chip_hour=offer_price_per_chip_hour(get_accelerator(p.hardware).name, p.price_per_chip_hour),
                     restart_s=p.restart_s, scale_out_bytes_per_s=float(p.fabric().scale_out_bytes_per_s),
                     peak_flops_per_chip=p.peak_flops_per_chip)
            for i, p in enumerate(fleet.pools))
        self.jobs = [Job(spec=s, index=i) for i, s in enumerate(specs)]
        self.queue: dict[int, Job] = {}  # waiting jobs, insertion order (arrivals)
        self.requeued: dict[int, Job] = {}  # interrupted/preempted jobs, served first
        self._running: dict[int, Job] = {}
        self._timers: dict[int, Hashable] = {}
        self._timer_seq = 0
        self._goodput: dict[tuple[int, int], float] = {}
        self.now = 0.0
        n = len(fleet.pools)
        self.c = Counters(busy_chip_s_by_pool=[0.0] * n, useful_flop_by_pool=[0.0] * n,
                          revenue_micro_usd_by_pool=[0] * n)
        self.events = ev.EventQueue()
        self.busy_chips = 0
        self.arrived = 0
        self.finished = 0
        self.dirty = False
        self.wall_seconds = 0.0
        self.end_s = 0.0

    # ------------------------------------------------------------------ setup
    def _init_work(self, job: Job) -> None:
        """Work in useful FLOPs (tokens x FLOPs per token, or run time x rate on the trace's hardware)."""
        s = job.spec
        if s.tokens is not None:
            job.work_flop = s.tokens * self.rates.flops_per_token(s.model) * s.work_scale
            return
        rate = self.rates.reference_rate_flop_s(s.model, s.hardware, s.chips)
        if rate <= 0:
            rate = self._best_rate(job, s.chips)
        job.work_flop = float(s.duration_s or 0.0) * rate * s.work_scale

    def _best_rate(self, job: Job, gang: int) -> float:
        return max(
            (self.rates.rate_flop_s(job.spec.model, p, gang) for p in range(len(self.pool_states))
             if gang <= self.island_chips[p]),
            default=0.0,
        )

    def _reject(self, job: Job, reason: str) -> None:
        job.state = REJECTED
        job.reject_reason = reason
        job.end_s = self.now

    # ------------------------------------------------- the Cluster protocol
    def pools(self) -> tuple[PoolInfo, ...]:
        return self._pool_info

    def free_chips(self, pool: int) -> int:
        return self.pool_states[pool].free_chips

    def up_chips(self, pool: int) -> int:
        return self.pool_states[pool].up_chips

    def waiting(self, limit: int | None = None) -> list[Job]:
        """Waiting jobs: requeued ones first, then arrivals, each in order; at most `limit`."""
        both = itertools.chain(self.requeued.values(), self.queue.values())
        return list(both if limit is None else itertools.islice(both, limit))

    def running(self) -> list[Job]:
        return list(self._running.values())

    def pools_for(self, job: Job, gang: int) -> list[int]:
        """Pools where `job` can run at `gang` chips (model fits, gang fits an island), fleet order."""
        return [p for p in range(len(self.pool_states)) if gang <= self.island_chips[p]
                and self.rates.rate_flop_s(job.spec.model, p, gang) > 0]

    def can_start(self, pool: int, gang: int) -> bool:
        return self.pool_states[pool].can_place(gang)

    def rate_flop_s(self, job: Job, pool: int, gang: int) -> float:
        return self.rates.rate_flop_s(job.spec.model, pool, gang)

    def expected_goodput(self, pool: int, gang: int) -> float:
        """Young/Daly expected goodput (flopgrid.reliability) of a gang on a pool; 1 without failures."""
        if not self.failures:
            return 1.0
        key = (pool, gang)
        v = self._goodput.get(key)
        if v is None:
            s = self.fleet.pools[pool]
            v = self._goodput[key] = expected_goodput(gang, s.mttf_chip_hours, s.checkpoint_s, s.restart_s)
        return v

    def call_later(self, at_s: float, tag: Hashable) -> None:
        self._timer_seq += 1
        self._timers[self._timer_seq] = tag
        self.events.push(max(at_s, self.now), ev.TIMER, self._timer_seq)

    def start(self, job: Job, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool:
        """Start (or resume) `job` on `pool` with `gang` chips; False if it does not fit now."""
        if job.state != WAITING:
            return False
        rate = self.rates.rate_flop_s(job.spec.model, pool, gang)
        if rate <= 0:
            return False
        alloc = self.pool_states[pool].place(gang, job.index)
        if alloc is None:
            return False
        self.queue.pop(job.index, None)
        self.requeued.pop(job.index, None)
        spec = self.fleet.pools[pool]
        job.state = RUNNING
        job.pool, job.gang, job.nodes = pool, gang, alloc
        job.price_per_chip_hour = (self._pool_info[pool].price_per_chip_hour if price_per_chip_hour is None
                                   else float(price_per_chip_hour))
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
        self._running[job.index] = job
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

    def resize(self, job: Job, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool:
        """Elastic reallocation (Pollux, OSDI'21 §4): checkpoint `job` (no work lost), restart it
        on `pool` with `gang` chips paying the pool's restart cost. If the new gang cannot be
        placed, the job resumes on its old pool and gang (still paying the restart)."""
        if job.state != RUNNING:
            return False
        old_pool, old_gang, old_price = job.pool, job.gang, job.price_per_chip_hour
        computed, _ = self._progress(job, self.now)
        self._end_segment(job, saved=computed, lost=0.0)
        self.c.resizes += 1
        self._requeue(job)
        if self.start(job, pool, gang, price_per_chip_hour):
            return True
        return self.start(job, old_pool, old_gang, old_price)

    def can_resize(self, job: Job, pool: int, gang: int) -> bool:
        """Whether `job` (running) could be placed on `pool` at `gang` chips once it releases its own."""
        if job.state != RUNNING or self.rates.rate_flop_s(job.spec.model, pool, gang) <= 0:
            return False
        if pool != job.pool:
            return self.pool_states[pool].can_place(gang)
        return self.pool_states[pool].can_place_after_release(job.nodes, job.index, gang)

    def remaining_flop(self, job: Job) -> float:
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
        micro = round(chip_s * job.price_per_chip_hour / 3600.0 * 1e6)
        job.paid_micro_usd += micro
        job.held_chip_s_by_pool[job.pool] = job.held_chip_s_by_pool.get(job.pool, 0.0) + chip_s
        self.c.revenue_micro_usd_by_pool[job.pool] += micro
        job.attained_chip_s += chip_s
        job.last_run_s = dur
        job.last_lost_s = lost
        self.pool_states[job.pool].release(job.nodes, job.index)
        self.busy_chips -= job.gang
        self._running.pop(job.index, None)
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
            for p in range(len(self.pool_states)):
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
                if self.queue or self.requeued or (self.policy.elastic and self._running):
                    self.policy.schedule(self)
                self._record()
            if self.progress is not None and self.arrived % step == 0:
                self.progress(self.arrived, total)
        if self.horizon_s is not None:
            self.now = self.horizon_s
        self.end_s = self.now
        for job in list(self._running.values()):  # still running at the end: keep their progress
            computed, _ = self._progress(job, self.now)
            self._end_segment(job, saved=computed, lost=0.0)
            job.state = RUNNING
        self._record()
        if self.progress is not None:
            self.progress(total, total)
        self.wall_seconds = time.perf_counter() - t0
        return self

    def _done(self) -> bool:
        return self.arrived == len(self.jobs) and not self._running and not self.queue and not self.requeued

    def _handle(self, kind: int, a: int, b: int) -> None:
        if kind == ev.ARRIVAL:
            job = self.jobs[a]
            self.arrived += 1
            verdict = self.policy.admit(self, job)  # the accept step
            if not verdict.accept:
                self._reject(job, verdict.reason)
                return
            self._init_work(job)
            job.wait_since_s = self.now
            self.queue[a] = job
            self.dirty = True
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
            pool = self.pool_states[a]
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
            self.pool_states[a].bring_up(b)
            self.dirty = True
        else:  # TIMER
            self.policy.on_timer(self, self._timers.pop(a))
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

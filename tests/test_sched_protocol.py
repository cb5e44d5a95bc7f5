"""Every policy runs against a small fake cluster that implements the `Cluster` protocol and
nothing else (no simulator): the policies use only the protocol.

The fake is a fake on purpose (the issue asks for one): two pools of 16 chips in nodes of 8,
a fixed rate per chip, time advanced to the next finish; jobs are slotted dataclasses with
exactly the `JobLike` fields, so touching anything else raises AttributeError.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import pytest

from flopgrid.sched import POLICIES, Cluster, PoolInfo, make_policy


@dataclass(slots=True)
class Spec:
    id: str
    submit_s: float
    chips: int
    model: str = "m"
    value_usd_per_eflop: float | None = None
    job_class: str = ""


@dataclass(slots=True, eq=False)
class FakeJob:
    index: int
    spec: Spec
    work_flop: float
    state: str = "waiting"
    pool: int = -1
    gang: int = 0
    wait_since_s: float = 0.0
    last_run_s: float = 0.0
    last_lost_s: float = 0.0
    attained_chip_s: float = 0.0
    _start_s: float = 0.0
    _done_flop: float = 0.0
    _price: float = 0.0


class FakeCluster:
    """Only the protocol's names (plus `run`, which drives the loop)."""

    RATE_PER_CHIP = 1e15  # useful FLOP/s per chip, any pool, any gang

    def __init__(self, jobs: list[FakeJob], policy) -> None:
        self.now = 0.0
        self._jobs = jobs
        self._policy = policy
        self._pools = (PoolInfo("a", "h100-sxm", 16, 8, 16, 2.0, 30.0, 50e9, 989e12),
                       PoolInfo("b", "a100-80gb", 16, 8, 8, 1.0, 30.0, 3e9, 312e12))
        self._free = [16, 16]
        self._waiting: list[FakeJob] = []
        self._running: list[FakeJob] = []
        self._timers: list[tuple[float, int, object]] = []
        self.paid_usd = 0.0
        self.max_busy = [0, 0]

    # -- protocol --
    def pools(self):
        return self._pools

    def free_chips(self, pool):
        return self._free[pool]

    def up_chips(self, pool):
        return self._pools[pool].chips

    def waiting(self, limit=None):
        return list(self._waiting if limit is None else self._waiting[:limit])

    def running(self):
        return list(self._running)

    def pools_for(self, job, gang):
        return [p for p, info in enumerate(self._pools) if gang <= info.island_chips]

    def can_start(self, pool, gang):
        return gang <= self._free[pool] and gang <= self._pools[pool].island_chips

    def can_resize(self, job, pool, gang):
        return job.state == "running" and gang <= self._free[pool] + (job.gang if pool == job.pool else 0)

    def start(self, job, pool, gang, price_per_chip_hour=None):
        if job.state != "waiting" or not self.can_start(pool, gang):
            return False
        self._waiting.remove(job)
        self._running.append(job)
        self._free[pool] -= gang
        self.max_busy[pool] = max(self.max_busy[pool], 16 - self._free[pool])
        job.state, job.pool, job.gang, job._start_s = "running", pool, gang, self.now
        job._price = self._pools[pool].price_per_chip_hour if price_per_chip_hour is None else price_per_chip_hour
        self._policy.on_start(self, job)
        return True

    def _stop(self, job):
        dt = self.now - job._start_s
        job._done_flop += dt * self.rate_flop_s(job, job.pool, job.gang)
        job.attained_chip_s += dt * job.gang
        job.last_run_s = dt
        self.paid_usd += dt / 3600 * job.gang * job._price
        self._free[job.pool] += job.gang
        self._running.remove(job)

    def preempt(self, job):
        if job.state == "running":
            self._stop(job)
            job.state, job.wait_since_s = "waiting", self.now
            self._waiting.insert(0, job)
            self._policy.on_stop(self, job)

    def resize(self, job, pool, gang, price_per_chip_hour=None):
        if job.state != "running":
            return False
        old = (job.pool, job.gang, job._price)
        self.preempt(job)
        return self.start(job, pool, gang, price_per_chip_hour) or self.start(job, old[0], old[1], old[2])

    def rate_flop_s(self, job, pool, gang):
        return self.RATE_PER_CHIP * gang * (1.0 if pool == 0 else 0.5)

    def expected_goodput(self, pool, gang):
        return 1.0

    def estimate_runtime_s(self, job, pool, gang):
        return (job.work_flop - job._done_flop) / self.rate_flop_s(job, pool, gang)

    def estimated_end_s(self, job):
        return job._start_s + self.estimate_runtime_s(job, job.pool, job.gang)

    def remaining_flop(self, job):
        extra = (self.now - job._start_s) * self.rate_flop_s(job, job.pool, job.gang) if job.state == "running" else 0.0
        return max(0.0, job.work_flop - job._done_flop - extra)

    def call_later(self, at_s, tag):
        heapq.heappush(self._timers, (max(at_s, self.now), id(tag) ^ len(self._timers), tag))

    # -- driver: accept -> schedule -> (policy) place/execute --
    def run(self, until_s: float = 1e6) -> None:
        arrivals = sorted(self._jobs, key=lambda j: j.spec.submit_s)
        self._policy.setup(self)
        while self.now < until_s:
            while arrivals and arrivals[0].spec.submit_s <= self.now:
                job = arrivals.pop(0)
                if self._policy.admit(self, job).accept:
                    job.wait_since_s = self.now
                    self._waiting.append(job)
                else:
                    job.state = "rejected"
            if self._waiting or (self._policy.elastic and self._running):
                self._policy.schedule(self)
            ends = [self.estimated_end_s(j) for j in self._running]
            nxt = min([*ends, arrivals[0].spec.submit_s if arrivals else math.inf,
                       self._timers[0][0] if self._timers else math.inf])
            if not math.isfinite(nxt):
                return
            self.now = max(self.now, nxt)
            for j in list(self._running):
                if self.estimated_end_s(j) <= self.now + 1e-9:
                    self._stop(j)
                    j._done_flop = j.work_flop
                    j.state = "completed"
                    self._policy.on_stop(self, j)
            while self._timers and self._timers[0][0] <= self.now:
                self._policy.on_timer(self, heapq.heappop(self._timers)[2])


def _jobs() -> list[FakeJob]:
    sizes = [8, 1, 16, 2, 4, 8, 1, 1, 16, 4]
    return [FakeJob(i, Spec(f"j{i}", 60.0 * i, g, value_usd_per_eflop=3.0 + i % 3), work_flop=3600e15 * g)
            for i, g in enumerate(sizes)]


def test_the_fake_is_a_cluster():
    assert isinstance(FakeCluster([], make_policy("fifo")), Cluster)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_runs_on_the_protocol_alone(name):
    jobs = _jobs()
    policy = make_policy(name)
    cluster = FakeCluster(jobs, policy)
    cluster.run()
    assert all(j.state == "completed" for j in jobs), [(j.spec.id, j.state) for j in jobs]
    assert all(b <= 16 for b in cluster.max_busy) and cluster._free == [16, 16]
    assert cluster.paid_usd > 0


def test_admission_rejects_with_a_reason():
    job = FakeJob(0, Spec("big", 0.0, 64), work_flop=1e18)
    for name in POLICIES:
        verdict = make_policy(name).admit(FakeCluster([job], make_policy(name)), job)
        assert not verdict.accept and "64 chips" in verdict.reason


def test_sched_does_not_import_the_simulator():
    import subprocess
    import sys

    code = "import sys, flopgrid.sched; sys.exit(any(m.startswith('flopgrid.sim') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_demo_day_ahead_schedule_runs_on_the_protocol_alone():
    """The demo's delivery policy starts each job (submitted at its lease's start) on its leased pool and gang,
    and stops a job its lease cannot finish at the lease's end (hand-computed: 16 chips at 1e15
    FLOP/s on pool 0 finish 3600e15*16 FLOP in 3600 s; 8 chips on pool 1 at 0.5e15 need 14,400 s)."""
    from flopgrid.demo.delivery import DayAheadSchedule, Lease

    jobs = [FakeJob(0, Spec("a", 600.0, 16), work_flop=3600e15 * 16),
            FakeJob(1, Spec("b", 0.0, 16), work_flop=3600e15 * 16)]
    leases = {0: Lease(0, pool=0, gang=16, start_s=600.0, end_s=7200.0),
              1: Lease(1, pool=1, gang=8, start_s=0.0, end_s=3600.0)}
    cluster = FakeCluster(jobs, DayAheadSchedule(leases))
    cluster.run()
    assert leases[0].started and leases[0].finished_s == pytest.approx(4200.0) and leases[0].completed
    assert jobs[0].attained_chip_s == pytest.approx(16 * 3600.0)
    assert leases[1].started and leases[1].ended and leases[1].finished_s is None
    assert jobs[1].pool == 1 and jobs[1].attained_chip_s == pytest.approx(8 * 3600.0)
    assert cluster._free == [16, 16] and leases[0].outage_s == 0.0 == leases[1].outage_s

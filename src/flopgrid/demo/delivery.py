"""Delivering a cleared day in the fleet simulator, and the readings it meters.

Each cleared allocation (bid, pool, chips, start, intervals) becomes one simulated job: the
buyer's own job (its model and its work in tokens), submitted at the allocation's start on
the allocation's pool at its gang. `DayAheadSchedule` is the schedule the market published:
it starts every job at its start on its pool, restarts it there after a failure as soon as
the pool has the chips again, and stops it at the allocation's end (checkpointing on the way
out). Everything else is the simulator's (`flopgrid.sim.Simulation`): node failures drawn
from each pool's MTTF (the reliability model, seeded), Young/Daly checkpoints, work since the
last checkpoint lost in a failure, the pool's restart cost, node repair. The failure draws
depend only on the fleet and the seed, so both markets' days see the same failures.

The reading of an allocation (`POST /v1/allocations/{id}/readings`):
- `useful_eflop`: the work the job kept (finished or checkpointed) / 1e18;
- `provider_outage_minutes`: time the gang was down by the provider's fault (node failure):
  from each failure to the restart, plus the work lost since the last checkpoint and the
  restart cost, plus any late start because the pool's chips were down; capped at the
  allocation's length;
- `released_after_intervals`: not given by default, as the Ray dispatcher's readings
  (`flopgrid.dispatch.readings`) do not give it: a lease runs to its end even when its job
  finished early. `release_early=True` reports the whole intervals a finished job used, so
  settlement credits the rest at the real-time price; the demo has no real-time buyers, so
  that credit is paid out of the ISO's real-time account (see docs/demo.md for what it
  changes);
- `badput_s`: provider_outage, wasted_progress (lost work), restart seconds.
The policy acts only through the `flopgrid.sched.Cluster` protocol (the work lost at an
interruption is the job's `last_lost_s`), like the `flopgrid.sched` policies.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from flopgrid.sched.base import ACCEPT, Admission, Policy
from flopgrid.sched.cluster import Cluster
from flopgrid.sim.engine import Simulation
from flopgrid.sim.fleet import FleetSpec
from flopgrid.sim.jobs import RUNNING, WAITING, JobSpec
from flopgrid.sim.throughput import RateTable


@dataclass
class Lease:
    """One allocation's delivery in the simulator (times in seconds of the day)."""

    allocation: int
    pool: int
    gang: int
    start_s: float
    end_s: float
    outage_s: float = 0.0
    lost_s: float = 0.0
    restart_s: float = 0.0
    interruptions: int = 0
    restarts: int = 0
    started: bool = False
    ended: bool = False
    finished_s: float | None = None
    stopped_s: float | None = None
    pending_lost_s: float = 0.0

    @property
    def completed(self) -> bool:
        """Delivered to its end: the job finished, or its gang ran until the allocation ended."""
        return self.started and (self.finished_s is not None or self.stopped_s is None)


class DayAheadSchedule(Policy):
    """Runs the published day-ahead schedule (see the module docstring)."""

    name = "day-ahead"

    def __init__(self, leases: dict[int, Lease]) -> None:
        self.leases = leases  # job index -> lease
        self.jobs: dict[int, Any] = {}  # job index -> the job, from its admission

    def setup(self, cluster: Cluster) -> None:
        for idx, lease in self.leases.items():
            cluster.call_later(lease.end_s, ("end", idx))

    def admit(self, cluster: Cluster, job: Any) -> Admission:
        self.jobs[job.index] = job
        return ACCEPT  # the clearing already checked that the gang fits the pool

    def schedule(self, cluster: Cluster) -> None:
        for job in cluster.waiting():
            lease = self.leases[job.index]
            if not lease.ended and cluster.now >= lease.start_s:
                cluster.start(job, lease.pool, lease.gang)

    def on_start(self, cluster: Cluster, job: Any) -> None:
        lease = self.leases[job.index]
        setup_s = cluster.pools()[lease.pool].restart_s if lease.started else 0.0  # a restart pays it
        if not lease.started:
            lease.started = True
            lease.outage_s += max(0.0, cluster.now - lease.start_s)  # the pool's chips were down
        elif lease.stopped_s is not None:
            lease.outage_s += cluster.now - lease.stopped_s + lease.pending_lost_s
            lease.restarts += 1
            lease.stopped_s = None
        lease.outage_s += setup_s
        lease.restart_s += setup_s

    def on_stop(self, cluster: Cluster, job: Any) -> None:
        lease = self.leases[job.index]
        if lease.ended:
            return
        rate_flop_s = cluster.rate_flop_s(job, job.pool, job.gang)
        if cluster.remaining_flop(job) <= 1e-6 * rate_flop_s:  # under a microsecond of work left: finished
            lease.finished_s = cluster.now
            return
        lease.interruptions += 1
        lease.stopped_s = cluster.now
        lease.pending_lost_s = job.last_lost_s
        lease.lost_s += lease.pending_lost_s

    def on_timer(self, cluster: Cluster, tag: Hashable) -> None:
        _, idx = tag
        lease, job = self.leases[idx], self.jobs.get(idx)
        lease.ended = True
        if job is None:  # never arrived: the allocation went unused
            lease.outage_s += lease.end_s - lease.start_s if not lease.started else 0.0
        elif job.state == RUNNING:
            cluster.preempt(job)
        elif job.state == WAITING:
            if lease.stopped_s is not None:
                lease.outage_s += cluster.now - lease.stopped_s + lease.pending_lost_s
            elif not lease.started:
                lease.outage_s += lease.end_s - lease.start_s


@dataclass
class DeliveredDay:
    sim: Simulation
    leases: list[Lease]
    readings: dict[int, dict[str, Any]]  # allocation id -> reading body


def deliver(fleet: FleetSpec, allocations: list[dict[str, Any]], jobs: dict[str, JobSpec], interval_s: float,
            horizon_s: float, seed: int, rates: RateTable | None = None, release_early: bool = False) -> DeliveredDay:
    """Simulate the allocations (the service's allocation bodies; `jobs`: bid id -> the
    buyer's job) and meter each into a reading (see the module docstring)."""
    pool_index = {p.id: i for i, p in enumerate(fleet.pools)}
    specs, leases = [], {}
    for i, a in enumerate(sorted(allocations, key=lambda a: a["id"])):
        job = jobs[a["bid"]]
        start_s = a["start"] * interval_s
        specs.append(JobSpec(id=a["bid"], submit_s=start_s, chips=int(a["chips"]), model=job.model, tokens=job.tokens,
                             value_usd_per_eflop=job.value_usd_per_eflop, job_class=job.job_class))
        leases[i] = Lease(int(a["id"]), pool_index[a["pool"]], int(a["chips"]), start_s,
                          start_s + a["intervals"] * interval_s)
    sim = Simulation(fleet, specs, DayAheadSchedule(leases), failures=True, seed=seed, horizon_s=horizon_s, rates=rates)
    sim.run()
    readings = {}
    for i, lease in leases.items():
        job = sim.jobs[i]
        length_s = lease.end_s - lease.start_s
        outage_s = min(lease.outage_s, length_s)
        released = None
        if release_early and lease.finished_s is not None and lease.finished_s < lease.end_s:
            used = math.ceil((lease.finished_s - lease.start_s) / interval_s - 1e-9)
            intervals = round(length_s / interval_s)
            released = used if used < intervals else None
        readings[lease.allocation] = {
            "useful_eflop": job.done_flop / 1e18, "provider_outage_minutes": outage_s / 60.0,
            "released_after_intervals": released,
            "badput_s": {"provider_outage": round(outage_s, 3), "wasted_progress": round(lease.lost_s, 3),
                         "restart": round(lease.restart_s, 3)},
            "productive_s": job.done_flop / job.rate_flop_s if job.rate_flop_s > 0 else 0.0}
    return DeliveredDay(sim, [leases[i] for i in sorted(leases)], readings)

"""The dispatcher: cleared allocations -> leases -> gangs on Ray, run by a sched policy on
`RayCluster`, recovered from failures, metered into readings.

Loop (every `poll_s`): poll each running gang; a finished gang completes its lease; a lost
gang is attributed (`flopgrid.dispatch.lease.attribute`), torn down with its placement
group, and requeued after a backoff to resume from its checkpoint, until `max_retries`
failures; leases past their TTL are stopped; the policy schedules the waiting leases; the
reconciler removes placement groups that no live lease holds. Every status change is
written to `state.json` in the run root (atomically) and sent as a cumulative reading.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopgrid.dispatch.cluster import DispatchJob, DispatchSpec, RayCluster
from flopgrid.dispatch.gang import GangTiming
from flopgrid.dispatch.job import JobSpec
from flopgrid.dispatch.lease import Failure, Lease, attribute, backoff_s
from flopgrid.dispatch.placement import reconcile
from flopgrid.dispatch.readings import NullSink, ReadingSink, last_progress, meter_figures, reading_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3  # failures tolerated per lease; one more ends it `failed`
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0


@dataclass
class AllocationOrder:
    """What the dispatcher needs of one cleared allocation (the service's allocation fields)."""

    id: int
    bid: str
    pool: str
    chips: int
    ttl_s: float
    model: str = ""

    @classmethod
    def from_service(cls, a: dict[str, Any], interval_minutes: float) -> AllocationOrder:
        return cls(id=int(a["id"]), bid=a["bid"], pool=a["pool"], chips=int(a["chips"]),
                   ttl_s=float(a["intervals"]) * interval_minutes * 60.0, model=str(a.get("model") or a.get("bid")))


@dataclass
class DispatchResult:
    leases: list[Lease]
    wall_s: float
    orphans_removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"leases": [lease.as_dict() for lease in self.leases], "wall_seconds": self.wall_s,
                "orphans_removed": self.orphans_removed,
                "completed": sum(1 for lease in self.leases if lease.state == "completed"),
                "restarts": sum(len(lease.failures) for lease in self.leases)}


class Dispatcher:
    def __init__(self, orders: list[AllocationOrder], spec: JobSpec, run_root: str | Path, policy: Any = None,
                 sink: ReadingSink | None = None, timing: GangTiming | None = None, retry: RetryPolicy | None = None,
                 cpus_per_rank: float = 1.0, placement_timeout_s: float = 20.0, place_deadline_s: float = 120.0,
                 poll_s: float = 0.25, reconcile_every_s: float = 5.0,
                 on_change: Callable[[Lease], None] | None = None) -> None:
        from flopgrid.sched import Fifo

        self.run_root = Path(run_root)
        self.run_root.mkdir(parents=True, exist_ok=True)
        self.spec, self.policy = spec, policy or Fifo()
        self.sink = sink or NullSink()
        self.retry = retry or RetryPolicy()
        self.place_deadline_s, self.poll_s, self.reconcile_every_s = place_deadline_s, poll_s, reconcile_every_s
        self.on_change = on_change
        now = time.time()
        self.jobs = [DispatchJob(index=i, spec=DispatchSpec(id=o.bid, submit_s=0.0, chips=o.chips, model=o.model),
                                 lease=Lease(o.id, o.bid, o.pool, o.chips, o.ttl_s, created_unix_s=now))
                     for i, o in enumerate(orders)]
        self.cluster = RayCluster(self.jobs, spec, self.run_root, timing or GangTiming(), cpus_per_rank,
                                  placement_timeout_s)
        self.cluster.on_started = self._started
        self.orphans_removed: list[str] = []

    # -- persistence --------------------------------------------------------------------------
    def run_dir(self, lease: Lease) -> Path:
        return self.run_root / f"alloc-{lease.allocation_id}"

    def _persist(self) -> None:
        path = self.run_root / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"leases": [j.lease.as_dict() for j in self.jobs]}, indent=1))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(path)

    def _change(self, job: DispatchJob, state: str, reason: str = "", send: bool = True) -> None:
        lease = job.lease
        lease.set_state(state, time.time(), reason)
        log.info("allocation %s: %s%s", lease.allocation_id, state, f" ({reason})" if reason else "")
        if send and lease.attempts > 0:
            lease.reading = reading_for(lease, self.run_dir(lease))
            try:
                self.sink.post(lease.allocation_id, lease.reading)
            except Exception as exc:  # noqa: BLE001 - the lease goes on; the next change re-sends it all
                log.warning("reading for allocation %s not accepted: %s", lease.allocation_id, exc)
                lease.history.append({"state": "reading_refused", "at_unix_s": time.time(), "reason": str(exc)})
        self._persist()
        if self.on_change:
            self.on_change(lease)

    # -- events ---------------------------------------------------------------------------------
    def _started(self, job: DispatchJob) -> None:
        lease = job.lease
        now = time.time()
        if lease.started_unix_s is None:
            lease.started_unix_s = now
        if lease.failures and lease.failures[-1].downtime_s == 0.0:
            lease.failures[-1].downtime_s = now - lease.failures[-1].at_unix_s
        self._change(job, "running", send=False)
        self.policy.on_start(self.cluster, job)

    def _ended(self, job: DispatchJob) -> None:
        run, lease = job.run, job.lease
        assert run is not None
        run.teardown()
        lease.placement_group = ""
        job.run = None
        job.last_run_s = time.time() - run.started_unix_s
        job.attained_chip_s += job.last_run_s * job.gang
        job.last_lost_s = 0.0
        m = last_progress(self.run_dir(lease))
        lease.last_step = m["last_step"]
        if run.ok:
            job.state = "completed"
            lease.ended_unix_s = time.time()
            lease.steps = meter_figures(self.run_dir(lease))["steps"]
            self._change(job, "completed")
        else:
            cause, who = attribute(list(run.outcomes.values()))
            lost_since = max(m["checkpoint_unix_s"] or 0.0, run.started_unix_s)
            fail = Failure(attempt=lease.attempts, cause=cause, detail=who.detail or cause, at_unix_s=run.lost_unix_s or time.time(),
                           rank=who.rank, last_checkpoint_step=m["checkpoint_step"],
                           lost_steps=max(0, m["last_step"] - max(m["checkpoint_step"], -1)) if m["last_step"] >= 0 else 0,
                           lost_work_s=max(0.0, (run.lost_unix_s or time.time()) - lost_since))
            if cause == "job_exception" and run.traceback():
                fail.detail = f"{who.detail}\n{run.traceback()}"
            lease.failures.append(fail)
            job.last_lost_s = fail.lost_work_s
            if len(lease.failures) > self.retry.max_retries:
                job.state = "completed"  # out of the policy's queue
                lease.ended_unix_s = time.time()
                self._change(job, "failed", f"{fail.party}: {cause} on rank {who.rank}: {who.detail}; "
                             f"gave up after {self.retry.max_retries} retries")
            else:
                wait = backoff_s(len(lease.failures), self.retry.backoff_base_s, self.retry.backoff_cap_s)
                job.state, job.requeued = "waiting", True
                job.retry_at_s = self.cluster.now + wait
                job.wait_since_s = self.cluster.now
                self._change(job, "recovering", f"{fail.party}: {cause} on rank {who.rank}: {who.detail}; "
                             f"retry {len(lease.failures)} of {self.retry.max_retries} in {wait:.1f} s")
        self.policy.on_stop(self.cluster, job)

    def _expire(self, job: DispatchJob) -> None:
        if job.run is not None:
            job.run.teardown()
            job.run = None
        job.lease.placement_group = ""
        job.state = "completed"
        job.lease.ended_unix_s = time.time()
        self._change(job, "expired", f"lease TTL of {job.lease.ttl_s:.0f} s ran out")

    # -- the loop -------------------------------------------------------------------------------
    def run(self, timeout_s: float | None = None) -> DispatchResult:
        t0 = time.time()
        self.orphans_removed += reconcile(set())  # groups left by an earlier dispatcher (ray#19131)
        self.policy.setup(self.cluster)
        for job in self.jobs:
            adm = self.policy.admit(self.cluster, job)
            if not adm.accept:
                job.state = "rejected"
                self._change(job, "unplaceable", f"{adm.reason}; {self.cluster.why_not_placed(job.spec.chips)}; "
                             f"nothing was started", send=False)
        self._persist()
        last_reconcile = time.time()
        try:
            while not all(j.lease.terminal for j in self.jobs):
                if timeout_s is not None and time.time() - t0 > timeout_s:
                    for j in self.jobs:
                        if not j.lease.terminal:
                            if j.run is not None:
                                j.run.teardown()
                                j.run = None
                            j.state = "completed"
                            self._change(j, "failed", f"dispatch timed out after {timeout_s:.0f} s")
                    break
                for job in list(self.jobs):
                    if job.state == "running" and job.run is not None and job.run.poll():
                        self._ended(job)
                    elif job.state == "running" and job.lease.expires_unix_s and time.time() > job.lease.expires_unix_s:
                        self._expire(job)
                for tag in self.cluster.due_timers():
                    self.policy.on_timer(self.cluster, tag)
                if self.cluster.waiting():
                    self.policy.schedule(self.cluster)
                self._give_up_unplaced()
                if time.time() - last_reconcile > self.reconcile_every_s:
                    held = {j.lease.placement_group for j in self.jobs if j.lease.placement_group}
                    self.orphans_removed += reconcile(held)
                    last_reconcile = time.time()
                time.sleep(self.poll_s)
        finally:
            for j in self.jobs:
                if j.run is not None:
                    j.run.teardown()
                    j.run = None
            self.orphans_removed += reconcile(set())
            self._persist()
        return DispatchResult([j.lease for j in self.jobs], time.time() - t0, self.orphans_removed)

    def _give_up_unplaced(self) -> None:
        """A lease that waited `place_deadline_s` without its whole gang being placed ends unplaceable."""
        now = self.cluster.now
        for job in self.cluster.waiting():
            if now - max(job.wait_since_s, job.retry_at_s) > self.place_deadline_s:
                job.state = "rejected"
                self._change(job, "unplaceable", job.lease.reason or
                             f"gang of {job.spec.chips} not placed within {self.place_deadline_s:.0f} s "
                             f"({self.cluster.why_not_placed(job.spec.chips)})")

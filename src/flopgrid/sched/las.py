"""Tiresias 2D-LAS (Gu et al., NSDI'19): least attained service in two dimensions
(chips x time executed), discretised into priority queues, with a starvation guard.

- A job's queue is set by its attained service (chip-seconds): below `thresholds_chip_s[0]`
  queue 0, and so on. Inside a queue, jobs are served in submit order.
- A running job crossing a threshold is demoted (a `call_later` timer) and may then be
  preempted by waiting jobs of a higher-priority queue. Preemption checkpoints the job
  (no lost work) and costs the pool's restart time on resume (Tiresias measured ~62 s).
- Starvation guard (Tiresias's PROMOTEKNOB): a job that has waited longer than
  `promote_knob` x its last run time goes back to queue 0 with its attained service reset
  (the policy keeps the reset as an offset; it never writes the job).
- At most `lookahead` waiting jobs are examined per pass (the first in priority order).
Thresholds are our choice: 1 and 10 GPU-hours.
"""

from __future__ import annotations

import bisect

from flopgrid.sched.base import Policy, first_fit


class Las(Policy):
    name = "las"

    def __init__(self, thresholds_chip_s: tuple[float, ...] = (3600.0, 36000.0), promote_knob: float = 8.0,
                 lookahead: int = 256) -> None:
        self.thresholds = thresholds_chip_s
        self.promote_knob = promote_knob
        self.lookahead = lookahead
        self._reset: dict[int, float] = {}  # attained service forgiven by the starvation guard
        self._seg: dict[int, float] = {}  # start of the current run segment
        self._pending: dict[int, float] = {}
        self._job: dict[int, object] = {}  # running jobs with a pending demotion, by index

    def _attained(self, cluster, job) -> float:
        a = job.attained_chip_s - self._reset.get(job.index, 0.0)
        if job.state == "running":
            a += job.gang * (cluster.now - self._seg.get(job.index, cluster.now))
        return a

    def level(self, cluster, job) -> int:
        return bisect.bisect_right(self.thresholds, self._attained(cluster, job) + 1e-9)

    def on_start(self, cluster, job) -> None:
        self._seg[job.index] = cluster.now
        self._job[job.index] = job
        lvl = self.level(cluster, job)
        if lvl < len(self.thresholds):
            t = cluster.now + (self.thresholds[lvl] - self._attained(cluster, job)) / job.gang + 1e-6
            self._pending[job.index] = t
            cluster.call_later(t, ("demote", job.index, t))

    def on_stop(self, cluster, job) -> None:
        self._pending.pop(job.index, None)
        self._job.pop(job.index, None)

    def on_timer(self, cluster, tag) -> None:
        _, index, t = tag
        if self._pending.get(index) != t:
            return
        del self._pending[index]
        job = self._job.get(index)
        if job is not None and job.state == "running":  # demoted: schedule the next demotion
            self._seg_restart(cluster, job)

    def _seg_restart(self, cluster, job) -> None:
        lvl = self.level(cluster, job)
        if lvl < len(self.thresholds):
            t = cluster.now + (self.thresholds[lvl] - self._attained(cluster, job)) / job.gang + 1e-6
            self._pending[job.index] = t
            cluster.call_later(t, ("demote", job.index, t))

    def _candidates(self, cluster) -> list:
        """The waiting jobs that can be among the first `lookahead` in priority order: every job
        that ran before (listed first by the cluster) and the first `lookahead` that never ran
        (level 0, already in submit order), without copying the whole queue."""
        limit = self.lookahead
        while True:
            waiting = cluster.waiting(limit)
            fresh = sum(1 for j in waiting if j.attained_chip_s == 0 and j.last_run_s == 0)
            if len(waiting) < limit or fresh >= self.lookahead:
                return waiting
            limit *= 2

    def schedule(self, cluster) -> None:
        now = cluster.now
        waiting = self._candidates(cluster)
        for job in waiting:  # starvation guard
            if job.last_run_s > 0 and now - job.wait_since_s > self.promote_knob * job.last_run_s \
                    and self._reset.get(job.index) != job.attained_chip_s:
                self._reset[job.index] = job.attained_chip_s
        waiting.sort(key=lambda j: (self.level(cluster, j), j.spec.submit_s, j.index))
        running = None
        for job in waiting[: self.lookahead]:
            g = job.spec.chips
            p = first_fit(cluster, job, g)
            if p >= 0:
                cluster.start(job, p, g)
                running = None
                continue
            lvl = self.level(cluster, job)
            if running is None:
                running = cluster.running()
            for p in cluster.pools_for(job, g):
                victims = [r for r in running if r.pool == p and r.state == "running" and self.level(cluster, r) > lvl]
                if cluster.free_chips(p) + sum(v.gang for v in victims) < g:
                    continue
                victims.sort(key=lambda r: (-self.level(cluster, r), -r.spec.submit_s, -r.index))
                for v in victims:
                    cluster.preempt(v)
                    if cluster.can_start(p, g):
                        break
                if cluster.start(job, p, g):
                    running = None
                    break

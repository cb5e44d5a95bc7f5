"""Tiresias 2D-LAS (Gu et al., NSDI'19): least attained service in two dimensions
(chips x time executed), discretised into priority queues, with a starvation guard.

- A job's queue is set by its attained service (chip-seconds): below `thresholds_chip_s[0]`
  queue 0, and so on. Inside a queue, jobs are served in submit order.
- A running job crossing a threshold is demoted (a DEMOTE event) and may then be
  preempted by waiting jobs of a higher-priority queue. Preemption checkpoints the job
  (no lost work) and costs the pool's restart time on resume (Tiresias measured ~62 s).
- Starvation guard (Tiresias's PROMOTEKNOB): a job that has waited longer than
  `promote_knob` x its last run time goes back to queue 0 with its attained service reset.
- At most `lookahead` waiting jobs are examined per pass.
Thresholds are our choice: 1 and 10 GPU-hours.
"""

from __future__ import annotations

import bisect

from flopgrid.sim import events as ev
from flopgrid.sim.jobs import RUNNING
from flopgrid.sim.policies.base import Policy, first_fit


class Las(Policy):
    name = "las"

    def __init__(self, thresholds_chip_s: tuple[float, ...] = (3600.0, 36000.0), promote_knob: float = 8.0,
                 lookahead: int = 256) -> None:
        self.thresholds = thresholds_chip_s
        self.promote_knob = promote_knob
        self.lookahead = lookahead

    def _attained(self, sim, job) -> float:
        a = job.attained_chip_s
        if job.state == RUNNING:
            a += job.gang * (sim.now - job.seg_start_s)
        return a

    def level(self, sim, job) -> int:
        return bisect.bisect_right(self.thresholds, self._attained(sim, job) + 1e-9)

    def on_start(self, sim, job) -> None:
        lvl = self.level(sim, job)
        if lvl < len(self.thresholds):
            t = sim.now + (self.thresholds[lvl] - job.attained_chip_s) / job.gang
            sim.events.push(t + 1e-6, ev.DEMOTE, job.index, job.token)

    def on_timer(self, sim, kind, a, b) -> None:
        job = sim.jobs[a]
        if kind == ev.DEMOTE and job.token == b and job.state == RUNNING:
            self.on_start(sim, job)  # schedule the next demotion

    def schedule(self, sim) -> None:
        now = sim.now
        waiting = sim.waiting()
        for job in waiting:  # starvation guard
            if job.last_run_s > 0 and now - job.wait_since_s > self.promote_knob * job.last_run_s:
                job.attained_chip_s = 0.0
                job.last_run_s = 0.0
        waiting.sort(key=lambda j: (self.level(sim, j), j.spec.submit_s, j.index))
        for job in waiting[: self.lookahead]:
            g = job.spec.chips
            p = first_fit(sim, job, g)
            if p >= 0:
                sim.start(job, p, g)
                continue
            lvl = self.level(sim, job)
            for p in sim.pools_for(job, g):
                victims = [r for r in sim.running.values() if r.pool == p and self.level(sim, r) > lvl]
                if sim.pools[p].free_chips + sum(v.gang for v in victims) < g:
                    continue
                victims.sort(key=lambda r: (-self.level(sim, r), -r.spec.submit_s, -r.index))
                for v in victims:
                    sim.preempt(v)
                    if sim.can_start(p, g):
                        break
                if sim.start(job, p, g):
                    break

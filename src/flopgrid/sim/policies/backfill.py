"""EASY backfill (Lifka 1995, "The ANL/IBM SP scheduling system"; Slurm's backfill).

Jobs start in FIFO order. When the head job cannot start, it gets a reservation: on the
pool where it can start earliest, the time (`shadow`) at which running jobs' estimated
ends free enough chips, and the chips left over then (`extra`). Later jobs may start now
("backfill") if they fit and either end before the shadow time or only use extra chips
(or run on another pool). Runtime estimates are the perf-model run time x
`estimate_factor` (1.0 = exact estimates; Slurm users typically over-estimate). The
reservation counts chips per pool, not node fragmentation. At most `depth` queued jobs
are examined per pass (Slurm's bf_max_job_test).
"""

from __future__ import annotations

import math

from flopgrid.sim.policies.base import Policy, first_fit


class Backfill(Policy):
    name = "backfill"

    def __init__(self, estimate_factor: float = 1.0, depth: int = 1000) -> None:
        self.estimate_factor = estimate_factor
        self.depth = depth

    def _reservation(self, sim, head) -> tuple[int, float, int]:
        g = head.spec.chips
        best = (-1, math.inf, 0)
        ends_by_pool: dict[int, list[tuple[float, int]]] = {}
        for job in sim.running.values():
            ends_by_pool.setdefault(job.pool, []).append((sim.estimated_end_s(job), job.gang))
        for p in sim.pools_for(head, g):
            free = sim.pools[p].free_chips
            if free >= g:
                shadow, extra = sim.now, free - g
            else:
                shadow, extra = math.inf, 0
                for end, gang in sorted(ends_by_pool.get(p, [])):
                    free += gang
                    if free >= g:
                        shadow, extra = end, free - g
                        break
            if shadow < best[1]:
                best = (p, shadow, extra)
        return best

    def schedule(self, sim) -> None:
        waiting = sim.waiting()
        i = 0
        while i < len(waiting):
            job = waiting[i]
            p = first_fit(sim, job, job.spec.chips)
            if p < 0 or not sim.start(job, p, job.spec.chips):
                break
            i += 1
        if i >= len(waiting):
            return
        head = waiting[i]
        rpool, shadow, extra = self._reservation(sim, head)
        for job in waiting[i + 1 : i + 1 + self.depth]:
            if sim.busy_chips >= sum(ps.up_chips for ps in sim.pools):
                return
            g = job.spec.chips
            for p in sim.pools_for(job, g):
                if not sim.can_start(p, g):
                    continue
                if p != rpool:
                    sim.start(job, p, g)
                    break
                est = sim.estimate_runtime_s(job, p, g) * self.estimate_factor
                if sim.now + est <= shadow:
                    sim.start(job, p, g)
                    break
                if g <= extra:
                    extra -= g
                    sim.start(job, p, g)
                    break

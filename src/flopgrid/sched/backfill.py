"""EASY backfill (Lifka 1995, "The ANL/IBM SP scheduling system"; Slurm's backfill).

Jobs start in FIFO order. When the head job cannot start, it gets a reservation
(`earliest_start`): on the pool where it can start earliest, the time (`shadow`) at which
running jobs' estimated ends free enough chips, and the chips left over then (`extra`).
Later jobs may start now ("backfill") if they fit and either end before the shadow time or
only use extra chips (or run on another pool). Runtime estimates are the cluster's
estimate x `estimate_factor` (1.0 = exact estimates; Slurm users typically over-estimate).
At most `depth` queued jobs are examined per pass (Slurm's bf_max_job_test).
"""

from __future__ import annotations

from flopgrid.sched.base import Policy, earliest_start, first_fit


class Backfill(Policy):
    name = "backfill"

    def __init__(self, estimate_factor: float = 1.0, depth: int = 1000) -> None:
        self.estimate_factor = estimate_factor
        self.depth = depth

    def schedule(self, cluster) -> None:
        waiting = cluster.waiting()
        i = 0
        while i < len(waiting):
            job = waiting[i]
            p = first_fit(cluster, job, job.spec.chips)
            if p < 0 or not cluster.start(job, p, job.spec.chips):
                break
            i += 1
        if i >= len(waiting):
            return
        head = waiting[i]
        rpool, shadow, extra = earliest_start(cluster, head, head.spec.chips)
        n_pools = len(cluster.pools())
        for job in waiting[i + 1 : i + 1 + self.depth]:
            if not any(cluster.free_chips(p) for p in range(n_pools)):
                return
            g = job.spec.chips
            for p in cluster.pools_for(job, g):
                if not cluster.can_start(p, g):
                    continue
                if p != rpool:
                    cluster.start(job, p, g)
                    break
                est = cluster.estimate_runtime_s(job, p, g) * self.estimate_factor
                if cluster.now + est <= shadow:
                    cluster.start(job, p, g)
                    break
                if g <= extra:
                    extra -= g
                    cluster.start(job, p, g)
                    break

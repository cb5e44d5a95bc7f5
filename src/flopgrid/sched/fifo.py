"""First in, first out with head-of-line blocking: jobs start in arrival order (requeued
jobs first) on the first pool that fits, and the first job that cannot start blocks the
rest. The baseline of Tiresias (NSDI'19) and Pollux (OSDI'21) comparisons."""

from __future__ import annotations

from flopgrid.sched.base import Policy, first_fit


class Fifo(Policy):
    name = "fifo"

    def schedule(self, cluster) -> None:
        for job in cluster.waiting():
            p = first_fit(cluster, job, job.spec.chips)
            if p < 0 or not cluster.start(job, p, job.spec.chips):
                return

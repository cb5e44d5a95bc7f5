"""First in, first out with head-of-line blocking: jobs start in arrival order (requeued
jobs first) on the first pool that fits, and the first job that cannot start blocks the
rest. The baseline of Tiresias (NSDI'19) and Pollux (OSDI'21) comparisons."""

from __future__ import annotations

from flopgrid.sim.policies.base import Policy, first_fit


class Fifo(Policy):
    name = "fifo"

    def schedule(self, sim) -> None:
        for job in sim.waiting():
            p = first_fit(sim, job, job.spec.chips)
            if p < 0 or not sim.start(job, p, job.spec.chips):
                return

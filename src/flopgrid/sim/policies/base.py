"""Policy interface: the engine calls `schedule` after every instant at which something
changed; hooks let a policy keep its own state (queues, timers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flopgrid.sim.engine import Simulation
    from flopgrid.sim.jobs import Job


class Policy:
    name = "base"
    elastic = False
    """True: `schedule` is also called when nobody waits (to grow running jobs into idle chips)."""

    def setup(self, sim: Simulation) -> None:
        """Called once before the first event."""

    def schedule(self, sim: Simulation) -> None:
        raise NotImplementedError

    def on_arrival(self, sim: Simulation, job: Job) -> None:
        """A job entered the queue."""

    def on_start(self, sim: Simulation, job: Job) -> None:
        """A job started a run segment."""

    def on_stop(self, sim: Simulation, job: Job) -> None:
        """A run segment ended (finish, failure, preemption, end of run)."""

    def on_timer(self, sim: Simulation, kind: int, a: int, b: int) -> None:
        """A DEMOTE or EPOCH event this policy scheduled."""


def first_fit(sim: Simulation, job: Job, gang: int) -> int:
    """The first pool (fleet order) where `job` can start now at `gang` chips, or -1."""
    for p in sim.pools_for(job, gang):
        if sim.can_start(p, gang):
            return p
    return -1

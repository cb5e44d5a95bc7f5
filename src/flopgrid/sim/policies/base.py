"""Policy interface: the engine calls `schedule` after every instant at which something
changed; hooks let a policy keep its own state (queues, timers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flopgrid.reliability import expected_goodput

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


def gang_options(req: int, min_fraction: int) -> list[int]:
    """Acceptable gang sizes, largest first: the request, then the powers of two below it
    down to req / min_fraction."""
    out = [req]
    g = 1 << (req.bit_length() - 1)
    if g == req:
        g //= 2
    while g >= max(1, req // min_fraction):
        out.append(g)
        g //= 2
    return out


def pool_goodput(sim: Simulation, pool: int, gang: int) -> float:
    """Expected goodput (Young/Daly, flopgrid.reliability) of a `gang`-chip job on `pool`;
    1 when the simulation has no failures."""
    if not sim.failures:
        return 1.0
    s = sim.fleet.pools[pool]
    return expected_goodput(gang, s.mttf_chip_hours, s.checkpoint_s, s.restart_s)

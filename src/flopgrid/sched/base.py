"""Policy interface (admission + scheduling on a `Cluster`) and the pieces policies share."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from flopgrid.sched.cluster import Cluster, JobLike


@dataclass(frozen=True, slots=True)
class Admission:
    """The accept step's answer: accept, or reject with a reason a user can read."""

    accept: bool
    reason: str = ""


ACCEPT = Admission(True)


class Policy:
    name = "base"
    elastic = False
    """True: `schedule` is also called when nobody waits (to grow running jobs into idle chips)."""

    def setup(self, cluster: Cluster) -> None:
        """Called once before the first event."""

    def admit(self, cluster: Cluster, job: JobLike) -> Admission:
        """Accept step: by default a job is accepted when some pool can run its requested gang."""
        if not cluster.pools_for(job, job.spec.chips):
            isl = max((p.island_chips for p in cluster.pools()), default=0)
            if job.spec.chips > isl:
                return Admission(False, f"gang of {job.spec.chips} chips is larger than every fabric island")
            return Admission(False, f"{job.spec.model} does not fit on {job.spec.chips} chips of any pool")
        return ACCEPT

    def schedule(self, cluster: Cluster) -> None:
        raise NotImplementedError

    def on_start(self, cluster: Cluster, job: JobLike) -> None:
        """A job started a run segment."""

    def on_stop(self, cluster: Cluster, job: JobLike) -> None:
        """A run segment ended (finish, failure, preemption, resize, end of run)."""

    def on_timer(self, cluster: Cluster, tag: Hashable) -> None:
        """A `call_later` this policy asked for is due."""


def first_fit(cluster: Cluster, job: JobLike, gang: int) -> int:
    """The first pool (fleet order) where `job` can start now at `gang` chips, or -1."""
    for p in cluster.pools_for(job, gang):
        if cluster.can_start(p, gang):
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


def earliest_start(cluster: Cluster, job: JobLike, gang: int, pools: list[int] | None = None,
                   running: list[JobLike] | None = None) -> tuple[int, float, int]:
    """Reservation of EASY backfill (Lifka 1995): over `pools` (default: all that fit), the
    pool where `gang` chips free up earliest from running jobs' estimated ends, that time
    (`shadow`, s) and the chips left over then (`extra`). (-1, inf, 0) if none. Counts
    chips per pool, not node fragmentation."""
    best = (-1, math.inf, 0)
    ends: dict[int, list[tuple[float, int]]] = {}
    for r in running if running is not None else cluster.running():
        ends.setdefault(r.pool, []).append((cluster.estimated_end_s(r), r.gang))
    for p in pools if pools is not None else cluster.pools_for(job, gang):
        free = cluster.free_chips(p)
        if free >= gang:
            shadow, extra = cluster.now, free - gang
        else:
            shadow, extra = math.inf, 0
            for end, g in sorted(ends.get(p, [])):
                free += g
                if free >= gang:
                    shadow, extra = end, free - gang
                    break
        if shadow < best[1]:
            best = (p, shadow, extra)
    return best


def eflop_per_hour(cluster: Cluster, job: JobLike, pool: int, gang: int) -> float:
    """Expected useful EFLOP per hour of `job` on `pool` at `gang` (rate x expected goodput)."""
    return cluster.rate_flop_s(job, pool, gang) * cluster.expected_goodput(pool, gang) * 3600.0 / 1e18

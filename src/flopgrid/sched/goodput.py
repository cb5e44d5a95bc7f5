"""Goodput: elastic allocation that maximises the fleet's useful FLOP/s (after Pollux,
Qiao et al., OSDI'21: goodput-driven, periodically re-optimised gang sizes with a restart
penalty; Sia, SOSP'23, adapts sizes the same way on heterogeneous pools).

Each option (pool, gang) of a job is valued at its expected useful FLOP/s = rate x expected
goodput of that gang on that pool (`Cluster.rate_flop_s`, `Cluster.expected_goodput`), so
slow fabrics and unreliable pools count for less.

Every scheduling pass:
1. Start waiting jobs, highest useful FLOP/s per chip first (then submit order; no
   head-of-line blocking), each at the largest gang from its request down to
   1/`min_fraction` of it (powers of two) that can start now, on the pool with the most
   useful FLOP/s per chip (values within `tolerance` count as equal).
2. Shrink when jobs wait (`elastic.shrink_for`).
3. Grow when chips sit idle and nobody waits, at most once per `period_s` (Pollux
   re-optimises every 60 s) (`elastic.grow`).
Values are cached per (model, pool, gang): a cluster's rate depends on nothing else.
"""

from __future__ import annotations

from flopgrid.sched import elastic
from flopgrid.sched.base import Policy, gang_options
from flopgrid.sched.cluster import total_free_chips


class Goodput(Policy):
    name = "goodput"
    elastic = True

    def __init__(self, min_fraction: int = 4, lookahead: int = 512, tolerance: float = 0.02,
                 order_by_value: bool = True, max_grow: int = 4, period_s: float = 60.0, min_gain: float = 4.0) -> None:
        self.tolerance = tolerance
        self.order_by_value = order_by_value
        self.min_fraction = min_fraction
        self.lookahead = lookahead
        self.max_grow = max_grow
        self.period_s = period_s
        self.min_gain = min_gain
        self._value: dict[tuple[str, int, int], float] = {}
        self._last_grow_s = -1e300
        self._timer_at = -1.0

    def value(self, cluster, job, pool: int, gang: int) -> float:
        """Expected useful FLOP/s of `job` on `pool` at `gang` chips (rate x goodput)."""
        key = (job.spec.model, pool, gang)
        v = self._value.get(key)
        if v is None:
            v = self._value[key] = cluster.rate_flop_s(job, pool, gang) * cluster.expected_goodput(pool, gang)
        return v

    def _job_value(self, cluster, job) -> float:
        """Best useful FLOP/s per chip of `job` at its requested size, in units of 100 TFLOP/s."""
        g = job.spec.chips
        return max((self.value(cluster, job, p, g) / g for p in cluster.pools_for(job, g)), default=0.0) / 1e14

    def gangs(self, req: int) -> list[int]:
        return gang_options(req, self.min_fraction)

    def schedule(self, cluster) -> None:
        blocked = self._start_waiting(cluster)
        if blocked:
            elastic.shrink_for(cluster, blocked, lambda j: self.gangs(j.spec.chips)[-1], self._start_best)
        elif not cluster.waiting():
            self._grow(cluster)

    def on_timer(self, cluster, tag) -> None:
        self._timer_at = -1.0

    def _best_option(self, cluster, job, free: int):
        best = None
        for g in self.gangs(job.spec.chips):
            if g > free:
                continue
            for p in cluster.pools_for(job, g):
                if not cluster.can_start(p, g):
                    continue
                per_chip = self.value(cluster, job, p, g) / g
                if best is None or per_chip > best[0] * (1 + self.tolerance):
                    best = (per_chip, p, g)
            if best is not None:
                break
        return best

    def _start_best(self, job) -> None:
        best = self._best_option(self._cluster, job, total_free_chips(self._cluster))
        if best is not None:
            self._cluster.start(job, best[1], best[2])

    def _start_waiting(self, cluster) -> list:
        """Step 1; returns the waiting jobs that could not start (in priority order)."""
        self._cluster = cluster
        waiting = cluster.waiting()
        if not waiting:
            return []
        if self.order_by_value:
            waiting.sort(key=lambda j: (-round(self._job_value(cluster, j), 2), j.spec.submit_s, j.index))
        free = total_free_chips(cluster)
        blocked = []
        for job in waiting[: self.lookahead]:
            best = self._best_option(cluster, job, free) if free > 0 else None
            if best is not None and cluster.start(job, best[1], best[2]):
                free -= best[2]
            else:
                blocked.append(job)
        return blocked

    def _grow(self, cluster) -> None:
        if not total_free_chips(cluster):
            return
        if cluster.now - self._last_grow_s < self.period_s - 1e-6:
            due = self._last_grow_s + self.period_s
            if self._timer_at < 0:  # wake up when the period is over
                self._timer_at = due
                cluster.call_later(due, "grow")
            return
        self._last_grow_s = cluster.now
        elastic.grow(cluster, lambda r, p, g: self.value(cluster, r, p, g), self.max_grow, self.min_gain)

"""Goodput: elastic allocation that maximises the fleet's useful FLOP/s (after Pollux,
Qiao et al., OSDI'21: goodput-driven, periodically re-optimised gang sizes with a restart
penalty; Sia, SOSP'23, adapts sizes the same way on heterogeneous pools).

Each option (pool, gang) of a job is valued at its expected useful FLOP/s = MFU(model,
pool, gang) x gang x peak x expected goodput of that gang on that pool (Young/Daly,
flopgrid.reliability), so slow fabrics and unreliable pools count for less.

Every scheduling pass:
1. Start waiting jobs, highest useful FLOP/s per chip first (then submit order; no
   head-of-line blocking), each at the largest gang from its request down to
   1/`min_fraction` of it (powers of two) that can start now, on the pool with the most
   useful FLOP/s per chip (values within `tolerance` count as equal).
2. Shrink when jobs wait: a waiting job that cannot start even at its smallest gang takes
   chips back from jobs grown beyond their request (halving the most over-allocated first,
   never below the request) until it fits.
3. Grow when chips sit idle and nobody waits, at most once per `period_s` (Pollux
   re-optimises every 60 s): running jobs double their gang (up to `max_grow` x the
   request, inside one island) when the time saved, remaining / rate(g) - remaining /
   rate(2g), exceeds `min_gain` x the pool's restart cost; the largest saving per added chip
   goes first. Every resize checkpoints the job (no work lost) and pays the pool's restart
   cost (Pollux measured ~30 s per reallocation), as the engine charges any restart.
"""

from __future__ import annotations

from flopgrid.sim import events as ev
from flopgrid.sim.jobs import RUNNING
from flopgrid.sim.policies.base import Policy, gang_options, pool_goodput


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

    def value(self, sim, model: str, pool: int, gang: int) -> float:
        """Expected useful FLOP/s of `model` on `pool` at `gang` chips (MFU x goodput)."""
        key = (model, pool, gang)
        v = self._value.get(key)
        if v is None:
            v = self._value[key] = sim.rates.rate_flop_s(model, pool, gang) * pool_goodput(sim, pool, gang)
        return v

    def _job_value(self, sim, job) -> float:
        """Best useful FLOP/s per chip of `job` at its requested size, in units of 100 TFLOP/s."""
        g = job.spec.chips
        return max((self.value(sim, job.spec.model, p, g) / g for p in sim.pools_for(job, g)), default=0.0) / 1e14

    def gangs(self, req: int) -> list[int]:
        """Acceptable gang sizes, largest first (see `gang_options`)."""
        return gang_options(req, self.min_fraction)

    # -------------------------------------------------------------- pass
    def schedule(self, sim) -> None:
        blocked = self._start_waiting(sim)
        if blocked:
            self._shrink_for(sim, blocked)
        elif not sim.queue and not sim.requeued:
            self._grow(sim)

    def on_timer(self, sim, kind, a, b) -> None:
        self._timer_at = -1.0

    def _best_option(self, sim, job, free: int):
        best = None
        for g in self.gangs(job.spec.chips):
            if g > free:
                continue
            for p in sim.pools_for(job, g):
                if not sim.can_start(p, g):
                    continue
                per_chip = self.value(sim, job.spec.model, p, g) / g
                if best is None or per_chip > best[0] * (1 + self.tolerance):
                    best = (per_chip, p, g)
            if best is not None:
                break
        return best

    def _start_waiting(self, sim) -> list:
        """Step 1; returns the waiting jobs that could not start (in priority order)."""
        waiting = sim.waiting()
        if not waiting:
            return []
        if self.order_by_value:
            waiting.sort(key=lambda j: (-round(self._job_value(sim, j), 2), j.spec.submit_s, j.index))
        free = sum(ps.free_chips for ps in sim.pools)
        blocked = []
        for job in waiting[: self.lookahead]:
            best = self._best_option(sim, job, free) if free > 0 else None
            if best is not None and sim.start(job, best[1], best[2]):
                free -= best[2]
            else:
                blocked.append(job)
        return blocked

    # ------------------------------------------------------------ shrink
    def _shrink_for(self, sim, blocked: list) -> None:
        """Step 2: reclaim chips from grown jobs for waiting jobs, in priority order."""
        grown = [r for r in sim.running.values() if r.gang > r.spec.chips]
        for job in blocked:
            if not grown:
                return
            g = self.gangs(job.spec.chips)[-1]
            pools = sim.pools_for(job, g)
            for p in pools:
                donors = sorted((r for r in grown if r.pool == p and r.state == RUNNING),
                                key=lambda r: (-r.gang / r.spec.chips, -r.gang, r.index))
                reclaimable = sum(r.gang - r.spec.chips for r in donors)
                if sim.pools[p].free_chips + reclaimable < g:
                    continue
                for r in donors:
                    while r.gang > r.spec.chips and not sim.can_start(p, g):
                        before = r.gang
                        sim.resize(r, r.pool, max(r.spec.chips, r.gang // 2))
                        if r.gang >= before:
                            break
                    if sim.can_start(p, g):
                        break
                best = self._best_option(sim, job, sum(ps.free_chips for ps in sim.pools))
                if best is not None:
                    sim.start(job, best[1], best[2])
                grown = [r for r in grown if r.state == RUNNING and r.gang > r.spec.chips]
                break

    # -------------------------------------------------------------- grow
    def _grow(self, sim) -> None:
        """Step 3: double running jobs into idle chips when the saving beats the restart cost."""
        if not any(ps.free_chips for ps in sim.pools):
            return
        if sim.now - self._last_grow_s < self.period_s:
            due = self._last_grow_s + self.period_s
            if self._timer_at < 0:  # wake up when the period is over
                self._timer_at = due
                sim.events.push(due, ev.EPOCH)
            return
        self._last_grow_s = sim.now
        options = []
        for r in sim.running.values():
            g2 = r.gang * 2
            if g2 > r.spec.chips * self.max_grow or g2 > sim.island_chips[r.pool]:
                continue
            if sim.pools[r.pool].free_chips < r.gang:
                continue
            rate1 = self.value(sim, r.spec.model, r.pool, r.gang)
            rate2 = self.value(sim, r.spec.model, r.pool, g2)
            if rate2 <= rate1:
                continue
            rem = sim.remaining_flop_now(r)
            restart = sim.fleet.pools[r.pool].restart_s
            saved_s = rem / rate1 - rem / rate2 - restart
            if saved_s <= self.min_gain * max(restart, 1.0):
                continue
            options.append((-saved_s / r.gang, r.index, r))
        options.sort(key=lambda o: (o[0], o[1]))
        for _, _, r in options:
            g2 = r.gang * 2
            if sim.pools[r.pool].free_chips >= r.gang and sim.can_resize(r, r.pool, g2):
                sim.resize(r, r.pool, g2)

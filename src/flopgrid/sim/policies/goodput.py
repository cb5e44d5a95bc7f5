"""Goodput: place jobs to maximise the fleet's useful FLOP/s.

Waiting jobs are taken in order of their useful FLOP/s per chip (highest first, then
submit order; no head-of-line blocking), since that is what fleet useful FLOP/s rewards
under contention. For each job the policy
considers every pool and elastic gang size from the requested size down to a quarter of
it (powers of two; Pollux, OSDI'21, and Sia, SOSP'23, adapt gang sizes the same way).
Each option is valued at its expected useful FLOP/s = MFU(model, pool, gang) x gang x peak
x expected goodput of that gang on that pool (Young/Daly, flopgrid.reliability), so slow
fabrics and unreliable pools count for less. It picks the largest gang that can start now
(a job that would block the queue at full size starts smaller instead of waiting), and
among pools the one with the most useful FLOP/s per chip; per-chip values within
`tolerance` of each other count as equal (the larger gang wins).
"""

from __future__ import annotations

from flopgrid.reliability import expected_goodput
from flopgrid.sim.policies.base import Policy


class Goodput(Policy):
    name = "goodput"

    def __init__(self, min_fraction: int = 4, lookahead: int = 512, tolerance: float = 0.02,
                 order_by_value: bool = True) -> None:
        self.tolerance = tolerance
        self.order_by_value = order_by_value
        self.min_fraction = min_fraction
        self.lookahead = lookahead
        self._value: dict[tuple[str, int, int], float] = {}

    def value(self, sim, model: str, pool: int, gang: int) -> float:
        key = (model, pool, gang)
        v = self._value.get(key)
        if v is None:
            spec = sim.fleet.pools[pool]
            g = expected_goodput(gang, spec.mttf_chip_hours, spec.checkpoint_s, spec.restart_s) if sim.failures else 1.0
            v = self._value[key] = sim.rates.rate_flop_s(model, pool, gang) * g
        return v

    def _job_value(self, sim, job) -> float:
        """Best useful FLOP/s per chip of `job` at its requested size, in units of 100 TFLOP/s."""
        g = job.spec.chips
        return max((self.value(sim, job.spec.model, p, g) / g for p in sim.pools_for(job, g)), default=0.0) / 1e14

    def gangs(self, req: int) -> list[int]:
        out = [req]
        g = 1 << (req.bit_length() - 1)
        if g == req:
            g //= 2
        while g >= max(1, req // self.min_fraction):
            out.append(g)
            g //= 2
        return out

    def schedule(self, sim) -> None:
        waiting = sim.waiting()
        if self.order_by_value:
            waiting.sort(key=lambda j: (-round(self._job_value(sim, j), 2), j.spec.submit_s, j.index))
        free = sum(ps.free_chips for ps in sim.pools)
        for job in waiting[: self.lookahead]:
            if free <= 0:
                return
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
            if best is not None and sim.start(job, best[1], best[2]):
                free -= best[2]

"""Market: flopgrid's useful-FLOP market as an ISO would run it, on the real-time clearing
of `clearing.ClearingPolicy` (event-driven batches, uniform price per pool, day-ahead
reservations for multi-node gangs).

- Products are pools (a locational price per pool, as an electricity ISO prices nodes);
  a pool's floor is its posted offer (`Cluster.pools()[p].price_per_chip_hour`).
- Each job bids its own value in USD per useful EFLOP (trace, else the documented draw).
  For every (pool, gang) it could run on (its request and powers of two down to
  1/`min_fraction` of it: the same acceptable gangs as `goodput`'s elastic jobs) its value
  per chip-hour there is value x expected useful EFLOP per chip-hour (rate x expected
  goodput: slow fabrics, small islands and unreliable pools deliver less, so they clear
  lower). Of the options that can start now it takes the best for its time value (below);
  ties go to the faster option.
- The buyer's time value, `time_value` = θ >= 0 (`buyer="surplus"` is θ = 1, the default;
  `buyer="cost"` is θ = 0). A job of fixed useful work W EFLOP worth v USD per EFLOP, on an
  option delivering e useful EFLOP/h on g chips at p USD per chip-hour, finishes in W/e
  hours and pays p g W/e. A buyer whose value falls by c USD per hour of completion time
  (the linearly decaying value of market-based batch schedulers: Chun & Culler, CCGrid'02;
  Irwin, Grit & Chase, HPDC'04) nets W (v - (p g + c)/e), so it takes the option with the
  most useful EFLOP per effective dollar, e / (p g + c). Its delay cost is c = θ s*, where
  s* = max(v e - p g) is the most surplus per hour any option it chooses among earns:
  - θ = 0: no time value, the cheapest useful EFLOP, which maximises the job's total
    surplus W (v - p g/e) (`buyer="cost"`);
  - θ = 1: the buyer whose slot is the constraint. A slot that runs such jobs back to back
    earns their surplus per hour (renewal-reward), so an hour of delay costs s*, and the
    option with the most e / (p g + s*) is exactly the one with the most surplus per hour
    v e - p g (Dinkelbach, Management Science 13(7), 1967: each has e/(p g + s*) <= 1/v,
    with equality only at the surplus-per-hour optimum). This is the welfare rate of
    DESIGN.md market step 2, which maximises the same welfare per interval, so a buyer
    pays for speed exactly as far as its value covers it;
  - 0 < θ < 1: a delay costs the fraction θ of that best surplus rate (θ > 1: more).
  Options whose preference is within `gang_tolerance` (default 0) of the best count as
  equal. The same rule decides growth and re-clearing (below), between the running
  allocation and the new one, counting the restart the buyer pays for.
  `bench/thesis.py --frontier` sweeps θ: the EFLOP-per-$ / EFLOP trade-off.
- Merit order: highest bid per chip-hour first (`ClearingPolicy.merit`).
- Admission: a job whose value is below the cheapest useful EFLOP any pool offers it is
  rejected with that reason (no pool would ever sell to it).
- Elastic like `goodput` (`elastic.grow` / `shrink_for`): idle chips are sold at the
  pool's current price to running jobs whose new allocation is better by their rule
  (above) and adds surplus per hour; grown chips go back when a waiting job needs them.
"""

from __future__ import annotations

import math

from flopgrid.sched import elastic
from flopgrid.sched.base import eflop_per_hour, gang_options
from flopgrid.sched.clearing import ClearingPolicy, Option
from flopgrid.sched.cluster import total_free_chips

BUYERS = {"surplus": 1.0, "cost": 0.0}  # buyer name -> time value θ


def per_effective_usd(time_value: float, opts: list[Option], prices) -> list[float]:
    """Useful EFLOP per effective dollar of each option, e / (p g + c), with the delay cost
    c = `time_value` x the most surplus per hour v e - p g among `opts` (USD per hour)."""
    best = max(((o.value_per_chip_hour - prices[o.product]) * o.gang for o in opts), default=0.0)
    delay_usd_h = time_value * max(best, 0.0)
    out = []
    for o in opts:
        usd_h = prices[o.product] * o.gang + delay_usd_h
        out.append(o.speed / usd_h if usd_h > 0 else o.speed)
    return out


class Market(ClearingPolicy):
    no_option_reason = "value per useful EFLOP below the cheapest offer of every pool it fits"
    name = "market"
    elastic = True

    def __init__(self, seed: int = 0, batch_s: float = 30.0, lookahead: int = 512, day_ahead_s: float = 600.0,
                 gang_tolerance: float = 0.0, min_fraction: int = 4, max_grow: int = 4,
                 grow_period_s: float = 60.0, min_gain: float = 4.0, markup: tuple[float, float] | None = None,
                 buyer: str = "surplus", time_value: float | None = None) -> None:
        if buyer not in BUYERS:
            raise ValueError(f"buyer must be one of {', '.join(BUYERS)}, got {buyer!r}")
        if time_value is None:
            time_value = BUYERS[buyer]
        if not (time_value >= 0.0 and math.isfinite(time_value)):
            raise ValueError(f"time_value must be a finite number >= 0, got {time_value!r}")
        super().__init__(batch_s=batch_s, lookahead=lookahead, day_ahead_s=day_ahead_s, gang_tolerance=gang_tolerance,
                         seed=seed, **({} if markup is None else {"markup": markup}))
        self.time_value = time_value
        self.min_fraction = min_fraction
        self.max_grow = max_grow
        self.grow_period_s = grow_period_s
        self.min_gain = min_gain
        self._last_grow_s = -1e300
        self._last_partial_s = -1e300
        self._partial: dict[int, object] = {}  # running jobs below their requested gang
        self._eflop_h: dict[tuple[str, int, int], float] = {}

    def floors(self, cluster) -> dict:
        return {p: info.price_per_chip_hour for p, info in enumerate(cluster.pools())}

    def eflop_h(self, cluster, job, pool: int, gang: int) -> float:
        key = (job.spec.model, pool, gang)
        v = self._eflop_h.get(key)
        if v is None:
            v = self._eflop_h[key] = eflop_per_hour(cluster, job, pool, gang)
        return v

    def options(self, cluster, job) -> list[Option]:
        value = self.value_usd_per_eflop(cluster, job)
        out = []
        for g in gang_options(job.spec.chips, self.min_fraction):
            for p in cluster.pools_for(job, g):
                e = self.eflop_h(cluster, job, p, g)
                ask = self._floors[p]
                if e <= 0 or value * e / g < ask:
                    continue
                out.append(Option(p, g, p, value * e / g, (value * e / g - ask) * g, e))
        return out

    def scores(self, opts: list[Option], prices) -> list[float]:
        """The buyer's preference among `opts` at `prices` (module docstring): useful EFLOP
        per effective dollar e / (p g + θ s*); at θ = 1 surplus per hour v e - p g itself
        (the same choice, Dinkelbach, without the rounding of the ratio)."""
        if self.time_value == 1.0:
            return [(o.value_per_chip_hour - prices[o.product]) * o.gang for o in opts]
        return per_effective_usd(self.time_value, opts, prices)

    def on_start(self, cluster, job) -> None:
        if job.gang < job.spec.chips:
            self._partial[job.index] = job

    def on_stop(self, cluster, job) -> None:
        self._partial.pop(job.index, None)
        super().on_stop(cluster, job)

    # -- elastic -------------------------------------------------------------
    def after_clearing(self, cluster, blocked: list) -> None:
        if self._partial and cluster.now - self._last_partial_s >= self.grow_period_s - 1e-6 \
                and total_free_chips(cluster):
            self._last_partial_s = cluster.now
            held = {r[0]: r for i, r in self._resv.items()}  # pool -> (pool, shadow_s, extra chips)
            elastic.complete_partial(cluster, lambda r, p, g: self.eflop_h(cluster, r, p, g), self.min_gain,
                                     list(self._partial.values()),
                                     accept=lambda r, p, g: self._worth_growing(cluster, r, p, g)
                                     and self._respects_reservation(cluster, r, p, g, held.get(p)),
                                     price=lambda p: self.prices[p])
        if blocked:
            elastic.shrink_for(cluster, blocked, lambda j: gang_options(j.spec.chips, self.min_fraction)[-1],
                               lambda j: self._start_one(cluster, j), lambda p: self.prices[p])
        elif not cluster.waiting(1) and total_free_chips(cluster):
            if cluster.now - self._last_grow_s < self.grow_period_s - 1e-6:
                cluster.call_later(self._last_grow_s + self.grow_period_s, "grow")
                return
            self._last_grow_s = cluster.now
            elastic.grow(cluster, lambda r, p, g: self.eflop_h(cluster, r, p, g), self.max_grow, self.min_gain,
                         accept=lambda r, p, g: self._worth_growing(cluster, r, p, g), price=lambda p: self.prices[p])

    @staticmethod
    def _respects_reservation(cluster, job, pool: int, gang: int, resv) -> bool:
        """EASY backfill on a reserved pool (Lifka 1995): only inside the chips left over at
        the reserved start, or ending before it."""
        if resv is None:
            return True
        return gang <= resv[2] or cluster.now + cluster.estimate_runtime_s(job, pool, gang) <= resv[1]

    def _worth_growing(self, cluster, job, pool: int, gang: int) -> bool:
        """Whether the buyer takes a new allocation (a larger gang, or the requested gang on
        another pool) for the rest of its work R: it adds surplus per hour at current prices
        (its extra useful EFLOP is worth more than the extra chips cost), and by the buyer's
        rule (module docstring) it is no worse than the running one, counting the restart
        it pays for: the new option's useful EFLOP per effective dollar is scaled by
        (R/e) / (R/e + restart), the chips held while the job restarts deliver nothing
        (within `gang_tolerance`)."""
        v = self.value_usd_per_eflop(cluster, job)
        e_now = self.eflop_h(cluster, job, job.pool, job.gang)
        e = self.eflop_h(cluster, job, pool, gang)
        if v * e - self.prices[pool] * gang < v * e_now - self.prices[job.pool] * job.gang:
            return False
        now_o = Option(job.pool, job.gang, job.pool, v * e_now / job.gang, 0.0, e_now)
        new_o = Option(pool, gang, pool, v * e / gang, 0.0, e)
        s_now, s_new = per_effective_usd(self.time_value, [now_o, new_o], self.prices)
        run_h = cluster.remaining_flop(job) / 1e18 / e
        restart_h = cluster.pools()[pool].restart_s / 3600.0
        if run_h > 0:
            s_new *= run_h / (run_h + restart_h)
        return s_new >= (1.0 - self.gang_tolerance) * s_now

    def _start_one(self, cluster, job) -> None:
        o = self._choose(cluster, job, self.job_options(cluster, job), {}, {}, self.prices)
        if o is not None:
            cluster.start(job, o.pool, o.gang, self.prices[o.product])

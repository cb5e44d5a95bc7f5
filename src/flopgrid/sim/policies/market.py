"""Market: periodic day-ahead clearing with flopgrid.market (DESIGN.md "The market").

Every `epoch_s` of simulated time (a market epoch; interval length = epoch_s, horizon =
`horizon_intervals` intervals) the simulator builds a DESIGN.md Scenario and calls
`flopgrid.market.clear` (HiGHS MILP, `time_limit_s`, `mip_gap`):

- Supply: every pool with free chips offers them (`chips` = free chips now, `island_chips`
  = the largest gang placeable now) at one step priced by `offer_price_per_chip_hour`: the
  pool's `price_per_chip_hour` from the fleet file, else the bottom of the published range
  for its hardware (`flopgrid.market.prices`), else `FALLBACK_PRICE_PER_CHIP_HOUR` (V100
  and other hardware without a published range). The same free chips are offered in every
  interval of the horizon (chips freed later are not promised ahead).
- Demand: the oldest `max_bids` waiting jobs (requeued first, then arrival order) bid for
  gangs of their requested size and the powers of two down to 1/`min_fraction` of it, for
  intervals = ceil(estimated run time / epoch_s) clamped to the horizon, starting in
  interval 0 (the free chips are all that is offered, so a later start would only be a
  tie the solver breaks arbitrarily). Value rule (documented, deterministic): `max_price_per_eflop` = the cheapest
  cost per useful EFLOP the fleet's offers could give the job at its requested size x a
  markup drawn in `markup` from (seed, job id) x (1 + hours waited / `aging_h`). So every
  bid is worth clearing somewhere, buyers differ in urgency, and waiting raises a bid until
  it clears (no starvation by price).
- Valuation uses the simulator's own rate table (perf model MFU at the pool's compute dtype,
  x expected goodput when failures are on), so the market prices exactly what the
  simulator will deliver; the welfare-maximising clearing therefore sends a job where it
  delivers the most useful FLOPs per dollar of offer.
- Cleared allocations start now on the cleared pool and gang (a gang that cannot be placed
  after all, e.g. fragmented nodes, waits); unserved bids wait for the next epoch. A solver
  time limit without an incumbent clears nothing that epoch. Safe fallback: when nothing
  runs and an epoch starts nothing, the oldest waiting job starts first-fit at its
  requested size, so an idle fleet never stalls.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from flopgrid.errors import UserInputError
from flopgrid.sim import events as ev
from flopgrid.sim.policies.base import Policy, first_fit, gang_options, pool_goodput

FALLBACK_PRICE_PER_CHIP_HOUR: dict[str, float] = {"v100-sxm": 0.50, "v100-pcie": 0.45}
"""USD per chip-hour for hardware missing from flopgrid.market.prices (our assumption: about
the 2024 marketplace price of a V100; P100/P40 stand-ins of philly-like run on V100)."""
DEFAULT_PRICE_PER_CHIP_HOUR = 1.0
MAX_PRICE_PER_EFLOP = 100_000.0  # flopgrid.market.validation's limit


def market_available() -> bool:
    try:
        from flopgrid.market import clear  # noqa: F401
    except ImportError:
        return False
    return True


def offer_price_per_chip_hour(pool_spec: Any) -> float:
    """Offer price of a simulator pool in USD per chip-hour (see the module docstring)."""
    if getattr(pool_spec, "price_per_chip_hour", None) is not None:
        return float(pool_spec.price_per_chip_hour)
    from flopgrid.catalog import get_accelerator
    from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

    hw = get_accelerator(pool_spec.hardware).name
    if hw in PRICE_RANGE_PER_CHIP_HOUR:
        return PRICE_RANGE_PER_CHIP_HOUR[hw][0]
    return FALLBACK_PRICE_PER_CHIP_HOUR.get(hw, DEFAULT_PRICE_PER_CHIP_HOUR)


def unit_draw(seed: int, key: str) -> float:
    """A deterministic draw in [0, 1) from (seed, key) (BLAKE2b; independent of run order)."""
    d = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(d, "little") / 2.0**64


def _sim_valuer_class():
    from flopgrid.market import Valuer
    from flopgrid.market.valuation import Delivery

    @dataclass
    class SimValuer(Valuer):
        """Values (bid, pool, gang) with the simulator's rate table: pool ids are `p<index>`."""

        sim: Any = None

        def delivery(self, bid, pool, chips: int) -> Delivery:
            key = (bid.model, pool.id, chips)
            d = self._delivery.get(key)
            if d is None:
                p = int(pool.id[1:])
                mfu = self.sim.rates.mfu(bid.model, p, chips)
                gp = self.sim.policy.goodput(self.sim, p, chips)
                eflop = mfu * gp * chips * self.sim.rates.peak(p) * self.interval_hours * 3600.0 / 1e18
                d = self._delivery[key] = Delivery(mfu, gp, eflop)
            return d

    return SimValuer


class Market(Policy):
    name = "market"

    def __init__(self, epoch_s: float = 300.0, horizon_intervals: int = 4, max_bids: int = 64,
                 time_limit_s: float = 2.0, mip_gap: float = 1e-3, min_fraction: int = 2,
                 markup: tuple[float, float] = (1.25, 2.5), aging_h: float = 2.0) -> None:
        if not market_available():
            raise UserInputError("policy 'market' needs flopgrid.market (issue 4), which is not installed; "
                                 "use fifo, backfill, las or goodput")
        self.epoch_s = epoch_s
        self.horizon_intervals = horizon_intervals
        self.max_bids = max_bids
        self.time_limit_s = time_limit_s
        self.mip_gap = mip_gap
        self.min_fraction = min_fraction
        self.markup = markup
        self.aging_h = aging_h
        self._due = False
        self._goodput: dict[tuple[int, int], float] = {}
        self._best_cost: dict[tuple[str, int], float] = {}
        self._markup: dict[int, float] = {}
        self.clearings: list[dict[str, Any]] = []  # per epoch: time, bids, cleared, started, status, seconds

    # ------------------------------------------------------------ helpers
    def goodput(self, sim, pool: int, gang: int) -> float:
        """Expected goodput of a gang on a pool (cached `pool_goodput`)."""
        key = (pool, gang)
        v = self._goodput.get(key)
        if v is None:
            v = self._goodput[key] = pool_goodput(sim, pool, gang)
        return v

    def gangs(self, req: int) -> list[int]:
        """The request and powers of two below it down to req / min_fraction (`gang_options`)."""
        return gang_options(req, self.min_fraction)

    def best_cost_per_eflop(self, sim, job) -> float:
        """Cheapest offer cost per useful EFLOP any pool could give `job` at its requested size (USD)."""
        key = (job.spec.model, job.spec.chips)
        v = self._best_cost.get(key)
        if v is None:
            g = job.spec.chips
            costs = []
            for p in sim.pools_for(job, g):
                eflop_h = sim.rates.rate_flop_s(job.spec.model, p, g) * self.goodput(sim, p, g) * 3600.0 / 1e18
                if eflop_h > 0:
                    costs.append(self._price[p] * g / eflop_h)
            v = self._best_cost[key] = min(costs, default=math.inf)
        return v

    def bid_price_per_eflop(self, sim, job) -> float:
        m = self._markup.get(job.index)
        if m is None:
            lo, hi = self.markup
            m = self._markup[job.index] = lo + (hi - lo) * unit_draw(sim.seed, job.spec.id)
        wait_h = max(0.0, sim.now - job.spec.submit_s) / 3600.0
        return min(MAX_PRICE_PER_EFLOP, self.best_cost_per_eflop(sim, job) * m * (1.0 + wait_h / self.aging_h))

    # ------------------------------------------------------------ policy hooks
    def setup(self, sim) -> None:
        self._price = [offer_price_per_chip_hour(p) for p in sim.fleet.pools]
        self._valuer = _sim_valuer_class()(interval_hours=self.epoch_s / 3600.0, sim=sim)
        first = min((j.spec.submit_s for j in sim.jobs), default=0.0)
        sim.events.push(first, ev.EPOCH)

    def on_timer(self, sim, kind, a, b) -> None:
        if kind != ev.EPOCH:
            return
        self._due = bool(sim.queue or sim.requeued)  # an epoch with nobody waiting clears nothing
        if not sim._done():
            sim.events.push(sim.now + self.epoch_s, ev.EPOCH)

    def schedule(self, sim) -> None:
        if not self._due:
            return
        self._due = False
        self.clear_epoch(sim)

    # ------------------------------------------------------------ clearing
    def build_scenario(self, sim, jobs: list):
        from flopgrid.market import Bid, Horizon, OfferStep, Pool, Reserve, Scenario

        H = self.horizon_intervals
        pools = []
        for p, ps in enumerate(sim.pools):
            free = ps.free_chips
            isl = min(sim.island_chips[p], ps.max_gang(), free)
            if free <= 0 or isl <= 0:
                continue
            spec = sim.fleet.pools[p]
            pools.append(Pool(id=f"p{p}", provider=spec.id, hardware=spec.hardware, chips=free, island_chips=isl,
                              offer=[OfferStep(chips=free, price_per_chip_hour=self._price[p])]))
        bids = []
        for job in jobs:
            gangs = [g for g in self.gangs(job.spec.chips) if sim.pools_for(job, g)]
            price = self.bid_price_per_eflop(sim, job)
            if not gangs or not math.isfinite(price):
                continue
            g = job.spec.chips if job.spec.chips in gangs else gangs[0]
            run_s = min(sim.estimate_runtime_s(job, p, g) for p in sim.pools_for(job, g))
            L = max(1, min(H, math.ceil(run_s / self.epoch_s)))
            bids.append(Bid(id=f"j{job.index}", buyer=f"j{job.index}", model=job.spec.model, chips=gangs,
                            intervals=L, window=(0, L), max_price_per_eflop=price))
        horizon = Horizon(intervals=H, interval_minutes=self.epoch_s / 60.0)
        return Scenario(horizon=horizon, pools=pools, bids=bids, reserve=Reserve(fraction=0.0))

    def clear_epoch(self, sim) -> None:
        from flopgrid.market import clear

        if not any(ps.free_chips for ps in sim.pools):
            return
        jobs = sim.waiting()[: self.max_bids]
        scenario = self.build_scenario(sim, jobs)
        if not scenario.pools or not scenario.bids:
            return
        res = clear(scenario, time_limit_s=self.time_limit_s, mip_gap=self.mip_gap, valuer=self._valuer)
        now = sorted(res.allocations, key=lambda a: (-a.chips, a.bid))
        started = 0
        for a in now:
            job = sim.jobs[int(a.bid[1:])]
            started += bool(sim.start(job, int(a.pool[1:]), a.chips))
        if not started and not sim.running:
            for job in jobs:
                p = first_fit(sim, job, job.spec.chips)
                if p >= 0 and sim.start(job, p, job.spec.chips):
                    started = 1
                    break
        self.clearings.append({"t_s": sim.now, "bids": len(scenario.bids), "cleared": len(res.allocations),
                               "started": started, "status": res.status, "solve_seconds": res.solve_seconds})

"""The demo's day: a scaled-down `grid-mixed` fleet, a day of `llm-market` buyers, and each
buyer's order in both markets (pure functions; no I/O).

- Fleet: `grid-mixed` (flopgrid.sim.fleet) with every pool's chips divided by `SCALE`
  (6,400 -> 800 chips), its fabric islands too where they are larger than 64 chips (the
  small Ethernet islands, 16 and 32 chips, are what the fleet is about and stay as they are).
  Each pool is one provider's site: it registers with `region` = its pool id, so an order
  can name the sites it accepts.
- Buyers: `llm_market_jobs` (flopgrid.sim.traces.llm_market) at `LOAD` over the demo's
  hours, on the scaled fleet; one buyer participant per job class.
- A flopgrid bid (`flopgrid_bid`): the job's gang, its value in USD per useful EFLOP
  (`max_price_per_eflop`), for the intervals its work takes on the trace's reference
  hardware (DGX H100 on NDR, the perf model), starting in the interval it arrives in (a
  day-ahead buyer names its hours), capped at the end of the day.
- A GPU-hour bid (`gpuhour_bids`): the same job ordered by the `gpuhour` buyer's rule of
  `flopgrid.sched.gpuhour` (its code, not a copy): the hardware class with the most dense
  peak FLOP/s per dollar of the class's posted price among those that fit the gang (RDMA
  fabric for multi-node gangs: the accepted pools become the bid's `region` list), its limit
  price per chip-hour = value x the class's peak x the assumed 40% MFU, exactly its gang,
  for the hours its work takes at that assumed MFU on that class; the same arrival interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flopgrid.sim.fleet import GRID_MIXED, FleetSpec, PoolSpec
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.throughput import RateTable
from flopgrid.sim.traces.llm_market import REFERENCE_HARDWARE, llm_market_jobs

SCALE = 8
LOAD = 1.0
KEEP_ISLAND_CHIPS = 64  # islands up to this size are kept (the fleet's small Ethernet islands)
INTERVAL_MINUTES = 60.0
BUYERS = {"pretraining": "frontier-lab", "continued-pretraining": "model-studio", "fine-tune": "finetune-co",
          "experiment": "research-lab"}


@dataclass(frozen=True)
class Day:
    """The demo's day: fleet, jobs and the horizon (`hours` intervals of an hour)."""

    fleet: FleetSpec
    jobs: list[JobSpec]
    hours: int
    seed: int

    @property
    def intervals(self) -> int:
        return int(round(self.hours * 60.0 / INTERVAL_MINUTES))

    @property
    def interval_s(self) -> float:
        return INTERVAL_MINUTES * 60.0


def scaled_pool(p: PoolSpec, scale: int) -> PoolSpec:
    node = p.node_chips
    chips = max(node, p.chips // scale // node * node)
    island = p.island_chips or p.chips
    if island > KEEP_ISLAND_CHIPS:
        island = max(node, island // scale // node * node)
    return p.model_copy(update={"chips": chips, "island_chips": min(chips, island)})


def demo_fleet(scale: int = SCALE) -> FleetSpec:
    return FleetSpec(name=f"grid-mixed/{scale}", pools=tuple(scaled_pool(p, scale) for p in GRID_MIXED.pools))


def demo_day(hours: int = 24, seed: int = 0, rates: RateTable | None = None, fleet: FleetSpec | None = None) -> Day:
    fleet = fleet or demo_fleet()
    jobs = llm_market_jobs(fleet, LOAD, hours / 24.0, seed=seed, rates=rates or RateTable(fleet))
    return Day(fleet, jobs, hours, seed)


def provider_name(p: PoolSpec) -> str:
    return f"{p.id}-cloud"


def buyer_name(job: JobSpec) -> str:
    return BUYERS.get(job.job_class, "buyer")


def pool_body(p: PoolSpec) -> dict[str, Any]:
    """The pool as a provider registers it (DESIGN.md Pool): one offer step at its posted price."""
    return {"id": p.id, "provider": provider_name(p), "hardware": p.hardware, "chips": p.chips,
            "island_chips": p.island_chips or p.chips, "region": p.id, "cluster": p.cluster,
            "mttf_chip_hours": p.mttf_chip_hours, "checkpoint_s": p.checkpoint_s,
            "offer": [{"chips": p.chips, "price_per_chip_hour": p.price_per_chip_hour}]}


def work_flop(job: JobSpec, rates: RateTable) -> float:
    return float(job.tokens or 0.0) * rates.flops_per_token(job.model)


def arrival_interval(day: Day, job: JobSpec) -> int:
    return min(day.intervals - 1, int(job.submit_s // day.interval_s))


def _length(day: Day, job: JobSpec, run_s: float) -> int:
    return max(1, min(math.ceil(run_s / day.interval_s - 1e-9), day.intervals - arrival_interval(day, job)))


def reference_intervals(day: Day, job: JobSpec, rates: RateTable) -> int:
    """Intervals the job's work takes on the reference hardware (capped at the end of the day)."""
    rate = rates.reference_rate_flop_s(job.model, REFERENCE_HARDWARE, job.chips)
    return _length(day, job, work_flop(job, rates) / rate if rate > 0 else day.hours * 3600.0)


def flopgrid_bid(day: Day, job: JobSpec, rates: RateTable) -> dict[str, Any]:
    start = arrival_interval(day, job)
    n = reference_intervals(day, job, rates)
    return {"id": f"fg-{job.id}", "buyer": buyer_name(job), "model": job.model, "chips": [job.chips], "intervals": n,
            "window": [start, start + n], "max_price_per_eflop": job.value_usd_per_eflop}


def gpuhour_bids(day: Day, rates: RateTable) -> dict[str, dict[str, Any] | None]:
    """job id -> its GPU-hour bid, or None where its limit price is below every ask it fits
    (the `gpuhour` policy's own admission reason)."""
    from flopgrid.sched import GpuHour
    from flopgrid.sim.engine import Simulation

    policy = GpuHour(seed=day.seed)
    cluster = Simulation(day.fleet, day.jobs, policy, failures=False, rates=rates)  # the Cluster the rule reads
    policy.setup(cluster)
    infos = cluster.pools()
    out: dict[str, dict[str, Any] | None] = {}
    for job in cluster.jobs:
        opts = policy.options(cluster, job)
        if not opts:
            out[job.spec.id] = None
            continue
        best = max(opts, key=lambda o: policy.effective_score(o, policy.prices))
        hw = best.product
        sites = sorted({infos[o.pool].id for o in opts if o.product == hw})
        peak = infos[best.pool].peak_flops_per_chip
        run_s = work_flop(job.spec, rates) / (job.spec.chips * peak * policy.assumed_mfu)
        start, n = arrival_interval(day, job.spec), _length(day, job.spec, run_s)
        out[job.spec.id] = {"id": f"gh-{job.spec.id}", "buyer": buyer_name(job.spec), "model": job.spec.model,
                            "chips": [job.spec.chips], "intervals": n, "window": [start, start + n],
                            "max_price_per_chip_hour": round(best.value_per_chip_hour, 6), "hardware": [hw],
                            "region": sites}
    return out

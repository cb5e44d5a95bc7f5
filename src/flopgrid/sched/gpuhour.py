"""GPU-hour market: the baseline of today's compute exchanges (SF Compute, Vast.ai, Compute
Exchange), cleared on the same cadence and rules as `market` (`clearing.ClearingPolicy`)
but with their product: chip-hours of one hardware class, one uniform price per class.

The buyer's rule (a careful buyer with public information, not a straw man):
1. Class: among the hardware classes of the fleet on which its model fits its gang (the
   buyer knows its memory needs), the one with the most dense peak FLOP/s per dollar of
   public list price (the middle of the published range in `flopgrid.market.prices`; the
   pools' mean ask for hardware not listed there). Datasheet peak per list dollar is how
   buyers compare SKUs today; the buyer cannot see a pool's MFU.
2. Gang: exactly the chips its job asks for (GPU-hour markets sell fixed gangs).
3. Fabric filter: a multi-node gang (more chips than a node) only accepts pools with an
   RDMA-class fabric, >= `IB_MIN_BYTES_PER_S` per chip (EDR InfiniBand, 100 Gb/s; RoCE at
   that speed passes too), whose fabric island holds the gang; only when no class offers
   such a pool does it take any pool whose island holds the gang. Single-node jobs take
   any pool of the class. (Classes are picked among those that pass the filter.)
4. Limit price, USD per chip-hour = the job's value per useful EFLOP x the EFLOP a chip
   delivers per hour at `ASSUMED_MFU` of its dense peak. 40% is the DESIGN.md example and
   the middle of published large-run MFUs (GPT-3 21%, PaLM 46.2%, MegaScale 55.2%).
Blind to MFU differences between pools, to island size beyond the filter and to
reliability. Sellers: a pool sells only at or above its ask; the job goes to the cheapest
ask of its class that can start it; everyone pays the class's uniform price.
"""

from __future__ import annotations

from collections import defaultdict

from flopgrid.sched.base import ACCEPT, Admission
from flopgrid.sched.clearing import ClearingPolicy, Option
from flopgrid.sched.pricing import list_price_per_chip_hour

ASSUMED_MFU = 0.40
IB_MIN_BYTES_PER_S = 100e9 / 8  # EDR InfiniBand, 100 Gb/s per chip


class GpuHour(ClearingPolicy):
    name = "gpuhour"

    def __init__(self, seed: int = 0, batch_s: float = 30.0, lookahead: int = 512, day_ahead_s: float = 600.0,
                 assumed_mfu: float = ASSUMED_MFU, markup: tuple[float, float] | None = None) -> None:
        super().__init__(batch_s=batch_s, lookahead=lookahead, day_ahead_s=day_ahead_s, seed=seed,
                         **({} if markup is None else {"markup": markup}))
        self.assumed_mfu = assumed_mfu
        self._peak_per_list_usd: dict[str, float] = {}

    def floors(self, cluster) -> dict:
        by_class: dict[str, list[float]] = defaultdict(list)
        for info in cluster.pools():
            by_class[info.hardware].append(info.price_per_chip_hour)
        for hw, asks in by_class.items():
            peak = next(i.peak_flops_per_chip for i in cluster.pools() if i.hardware == hw)
            self._peak_per_list_usd[hw] = peak / list_price_per_chip_hour(hw, sum(asks) / len(asks))
        return {hw: min(asks) for hw, asks in by_class.items()}

    def buyer_pools(self, cluster, job) -> tuple[str, list[int]]:
        """The class a buyer picks (rule above) and the pools of it the buyer accepts."""
        g = job.spec.chips
        pools = cluster.pools()
        by_class: dict[str, list[int]] = defaultdict(list)
        fits = cluster.pools_for(job, g)
        for p in fits:
            info = pools[p]
            if g <= info.node_chips or info.scale_out_bytes_per_s >= IB_MIN_BYTES_PER_S:
                by_class[info.hardware].append(p)
        if not by_class:
            for p in fits:
                by_class[pools[p].hardware].append(p)
        if not by_class:
            return "", []
        hw = max(by_class, key=lambda h: (self._peak_per_list_usd[h], h))
        return hw, by_class[hw]

    def limit_per_chip_hour(self, cluster, job, hw: str) -> float:
        peak = next(i.peak_flops_per_chip for i in cluster.pools() if i.hardware == hw)
        return self.value_usd_per_eflop(cluster, job) * peak * self.assumed_mfu * 3600.0 / 1e18

    def options(self, cluster, job) -> list[Option]:
        hw, pools = self.buyer_pools(cluster, job)
        if not pools:
            return []
        limit = self.limit_per_chip_hour(cluster, job, hw)
        asks = cluster.pools()
        return [Option(p, job.spec.chips, hw, limit, -asks[p].price_per_chip_hour) for p in pools
                if asks[p].price_per_chip_hour <= limit]

    def sells(self, o: Option) -> bool:
        return -o.score <= self.prices[o.product]

    def merit(self, job) -> float:
        return self._values.get(job.index, 0.0)

    def admit(self, cluster, job) -> Admission:
        base = super().admit(cluster, job)
        if not base.accept:
            return base
        if not self._floors:
            self.setup(cluster)
        if not self.job_options(cluster, job):
            hw, pools = self.buyer_pools(cluster, job)
            if not pools:
                return Admission(False, f"no pool fits a gang of {job.spec.chips} chips of {job.spec.model}")
            return Admission(False, f"limit ${self.limit_per_chip_hour(cluster, job, hw):.3g} per chip-hour is "
                                    f"below every {hw} ask")
        return ACCEPT

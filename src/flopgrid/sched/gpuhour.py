"""GPU-hour market: the baseline of today's compute exchanges (SF Compute, Vast.ai, Compute
Exchange), cleared on the same cadence and rules as `market` (`clearing.ClearingPolicy`)
but with their product: chip-hours of one hardware class, one uniform price per class.

The buyer's rule (a careful buyer with public information, not a straw man):
1. Class: among the hardware classes of the fleet on which its model fits its gang (the
   buyer knows its memory needs), the one with the most dense peak FLOP/s per dollar of
   the class's current cleared price (published by the exchange, as SF Compute and Vast.ai
   publish theirs) that can take its gang now. An order that does not fill is re-posted at
   the next clearing on the class then best, so a buyer is not stuck on a crowded class.
   Datasheet peak per dollar is how buyers compare SKUs today; the buyer cannot see a
   pool's MFU.
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
ask of its class that can start it; everyone pays the class's uniform price, which is the
ask of the most expensive pool of the class the clearing needs (the marginal offer), or
more only when the class's free chips run out (`clearing.ClearingPolicy._price_pass`).
"""

from __future__ import annotations

from collections import defaultdict

from flopgrid.sched.clearing import ClearingPolicy, Option

ASSUMED_MFU = 0.40
IB_MIN_BYTES_PER_S = 100e9 / 8  # EDR InfiniBand, 100 Gb/s per chip


class GpuHour(ClearingPolicy):
    no_option_reason = "limit price (value per EFLOP at the assumed MFU) below every ask of the classes it fits"
    name = "gpuhour"

    def __init__(self, seed: int = 0, batch_s: float = 30.0, lookahead: int = 512, day_ahead_s: float = 600.0,
                 assumed_mfu: float = ASSUMED_MFU, markup: tuple[float, float] | None = None) -> None:
        super().__init__(batch_s=batch_s, lookahead=lookahead, day_ahead_s=day_ahead_s, seed=seed,
                         **({} if markup is None else {"markup": markup}))
        self.assumed_mfu = assumed_mfu
        self._peak: dict[str, float] = {}

    def floors(self, cluster) -> dict:
        by_class: dict[str, list[float]] = defaultdict(list)
        for info in cluster.pools():
            by_class[info.hardware].append(info.price_per_chip_hour)
        for hw in by_class:
            self._peak[hw] = next(i.peak_flops_per_chip for i in cluster.pools() if i.hardware == hw)
        return {hw: min(asks) for hw, asks in by_class.items()}

    def buyer_pools(self, cluster, job) -> dict[str, list[int]]:
        """The pools of each class the buyer accepts (rules 1 and 3)."""
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
        return by_class

    def limit_per_chip_hour(self, cluster, job, hw: str) -> float:
        return self.value_usd_per_eflop(cluster, job) * self._peak[hw] * self.assumed_mfu * 3600.0 / 1e18

    def options(self, cluster, job) -> list[Option]:
        asks = cluster.pools()
        out = []
        for hw, pools in self.buyer_pools(cluster, job).items():
            limit = self.limit_per_chip_hour(cluster, job, hw)
            out += [Option(p, job.spec.chips, hw, limit, asks[p].price_per_chip_hour) for p in pools
                    if asks[p].price_per_chip_hour <= limit]
        return out

    def effective_score(self, o: Option, prices) -> float:
        """Peak FLOP/s per dollar of the class's current price; inside a class the cheapest ask."""
        return self._peak[o.product] / prices[o.product] / (1.0 + 1e-6 * o.score)

    def sells(self, o: Option, prices) -> bool:
        return o.score <= prices[o.product]  # score holds the pool's ask


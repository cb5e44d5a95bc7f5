"""What the two market policies (`market`, `gpuhour`) share: event-driven real-time
clearing in batches, a uniform price per product, and day-ahead reservations for large gangs.

Cadence (the same for both, so neither wins by clearing more often): a clearing runs on the
first scheduling pass after something changed (arrival, completion, failure, repair), at
most once every `batch_s` seconds; events inside one batch clear together.

One clearing:
1. Bids: the first `lookahead` waiting jobs, each with its options (pool, gang, product,
   value per chip-hour, preference score), in merit order (highest bid per chip-hour, the
   unit of the scarce good, first).
2. Each bid in turn takes, among its feasible options whose score is within
   `gang_tolerance` of the best feasible one, the fastest (`Option.speed`): the gang can start
   now, the bid's value per chip-hour covers the product's current price, and a pool held
   by a reservation is used only by jobs that end before the reserved start or fit in the
   chips left over then (EASY backfill, Lifka 1995). The job starts at the product's price.
   Prices (computed first, `_price_pass`): the same allocation on free chip counts with
   every pool selling at its own ask (the supply curve: cheapest offers first, as a bid's
   preference orders them), then `pricing.next_uniform_price` per product from the highest
   ask that allocation dispatched in the product (the marginal offer: a product of several
   pools, such as a GPU-hour class, is priced at least at its most expensive seller that
   is needed, never at a bid that went unserved only because the price was below an idle
   seller's ask) and this clearing's accepted and unserved bids (an unserved bid counts for
   a product only if its gang fits the chips the product offered at the start of the
   clearing: it lost them to higher bids). Every job started in the clearing pays its
   product's price (no cleared buyer pays more than its bid, no seller less than its ask).
3. Day-ahead: a multi-node gang (more chips than one node) that could not start reserves,
   at most one per pool, the earliest time its gang frees up on the pool it prefers
   (running jobs' estimated ends, `base.earliest_start`); reservations are recomputed every
   `day_ahead_s` seconds or when their job starts, so small jobs cannot starve large ones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

from flopgrid.sched.base import ACCEPT, Admission, Policy, earliest_start, eflop_per_hour
from flopgrid.sched.cluster import Cluster, JobLike, total_free_chips
from flopgrid.sched.pricing import (
    DEFAULT_MARKUP,
    drawn_value_usd_per_eflop,
    next_uniform_price,
)


@dataclass(frozen=True, slots=True)
class Option:
    pool: int
    gang: int
    product: Hashable
    value_per_chip_hour: float  # what the buyer would pay at most, USD
    score: float  # the buyer's preference (higher is better)
    speed: float = 0.0  # how fast the job runs on it (e.g. useful EFLOP per hour)


class ClearingPolicy(Policy):
    """Base of `market` and `gpuhour`: subclasses say what a job bids (`options`, `merit`)
    and what each product's floor price is (`floors`)."""

    def __init__(self, batch_s: float = 30.0, lookahead: int = 512, day_ahead_s: float = 600.0,
                 gang_tolerance: float = 0.0, seed: int = 0, markup: tuple[float, float] = DEFAULT_MARKUP) -> None:
        self.seed = seed
        self.markup = markup
        self._values: dict[int, float] = {}
        self.batch_s = batch_s
        self.lookahead = lookahead
        self.day_ahead_s = day_ahead_s
        self.gang_tolerance = gang_tolerance
        self.prices: dict[Hashable, float] = {}
        self._floors: dict[Hashable, float] = {}
        self._options: dict[int, list[Option]] = {}
        self._last_clear_s = -math.inf
        self._timer_due = False
        self._resv: dict[int, tuple[int, float, int]] = {}  # job index -> (pool, shadow_s, extra chips)
        self._resv_at_s = -math.inf
        self.clearings = 0
        self.started = 0

    # -- subclass hooks ------------------------------------------------------
    def floors(self, cluster: Cluster) -> dict[Hashable, float]:
        raise NotImplementedError

    def options(self, cluster: Cluster, job: JobLike) -> list[Option]:
        raise NotImplementedError

    def merit(self, cluster: Cluster, job: JobLike) -> float:
        """Merit order key: the job's highest bid per chip-hour of any product it bids on."""
        return max((o.value_per_chip_hour for o in self.job_options(cluster, job)), default=0.0)

    def after_clearing(self, cluster: Cluster, blocked: list[JobLike]) -> None:
        """Called after each clearing with the bids that did not start."""

    def effective_score(self, o: Option, prices: dict[Hashable, float]) -> float:
        """The buyer's preference for an option at `prices` (default: its score)."""
        return o.score

    def scores(self, opts: list[Option], prices: dict[Hashable, float]) -> list[float]:
        """The buyer's preference for each of the options it chooses among (default:
        `effective_score` of each; a rule may compare an option with the others)."""
        return [self.effective_score(o, prices) for o in opts]

    def sells(self, o: Option, prices: dict[Hashable, float]) -> bool:
        """Whether the option's pool sells at its product's price (default: yes)."""
        return True

    def value_usd_per_eflop(self, cluster: Cluster, job: JobLike) -> float:
        """The job's own value (trace), else the documented draw (`pricing.drawn_value_usd_per_eflop`)."""
        v = self._values.get(job.index)
        if v is None:
            v = job.spec.value_usd_per_eflop
            if v is None:
                v = drawn_value_usd_per_eflop(self.cheapest_cost_usd_per_eflop(cluster, job), self.seed, job.spec.id,
                                              self.markup)
            self._values[job.index] = v
        return v

    def cheapest_cost_usd_per_eflop(self, cluster: Cluster, job: JobLike) -> float:
        """Cheapest posted cost per useful EFLOP any pool offers `job` at its requested gang (USD)."""
        g = job.spec.chips
        asks = cluster.pools()
        costs = []
        for p in cluster.pools_for(job, g):
            e = eflop_per_hour(cluster, job, p, g)
            if e > 0:
                costs.append(asks[p].price_per_chip_hour * g / e)
        return min(costs, default=math.inf)

    # -- loop ----------------------------------------------------------------
    #: why admission rejects a job no option of which clears at its limit (set per market)
    no_option_reason = "no option clears at the job's limit price"

    def admit(self, cluster: Cluster, job: JobLike) -> Admission:
        """Accept a job only if some option of it can clear at its limit price."""
        base = super().admit(cluster, job)
        if not base.accept:
            return base
        if not self._floors:
            self.setup(cluster)
        if not self.job_options(cluster, job):
            return Admission(False, self.no_option_reason)
        return ACCEPT

    def setup(self, cluster: Cluster) -> None:
        self._floors = self.floors(cluster)
        self.prices = dict(self._floors)

    def job_options(self, cluster: Cluster, job: JobLike) -> list[Option]:
        opts = self._options.get(job.index)
        if opts is None:
            opts = self._options[job.index] = self.options(cluster, job)
        return opts

    def on_stop(self, cluster: Cluster, job: JobLike) -> None:
        if job.state == "completed":
            self._options.pop(job.index, None)
            self._values.pop(job.index, None)

    def on_timer(self, cluster: Cluster, tag: Hashable) -> None:
        self._timer_due = False

    def schedule(self, cluster: Cluster) -> None:
        wait = self._last_clear_s + self.batch_s - cluster.now
        if wait > 1e-9:
            if not self._timer_due:
                self._timer_due = True
                cluster.call_later(self._last_clear_s + self.batch_s, "clear")
            return
        self._last_clear_s = cluster.now
        self.clearings += 1
        self.clear(cluster)

    def clear(self, cluster: Cluster) -> None:
        now = cluster.now
        bids = cluster.waiting(self.lookahead)
        if not bids:
            self.after_clearing(cluster, [])
            return
        bids.sort(key=lambda j: (-self.merit(cluster, j), j.spec.submit_s, j.index))
        if now - self._resv_at_s >= self.day_ahead_s:
            self._resv.clear()
            self._resv_at_s = now
        held = {r[0]: (i, r) for i, r in self._resv.items()}  # pool -> (job index, reservation)
        self.prices = self._price_pass(cluster, bids, held)
        extra = {p: r[2] for p, (_, r) in held.items()}
        blocked: list[JobLike] = []
        free = total_free_chips(cluster)
        for job in bids:
            opts = self.job_options(cluster, job)
            chosen = self._choose(cluster, job, opts, held, extra, self.prices) if free > 0 else None
            if chosen is not None and cluster.start(job, chosen.pool, chosen.gang, self.prices[chosen.product]):
                free -= chosen.gang
                self.started += 1
                if job.index in self._resv:
                    del self._resv[job.index]
                    held.pop(chosen.pool, None)
                elif chosen.pool in held and chosen.gang <= extra.get(chosen.pool, 0):
                    extra[chosen.pool] -= chosen.gang
                continue
            blocked.append(job)
            if free <= 0 and len(blocked) > 64:
                break
        self._reserve(cluster, blocked)
        self.after_clearing(cluster, blocked)

    def _price_pass(self, cluster: Cluster, bids: list[JobLike], held) -> dict[Hashable, float]:
        """Step 3 on this clearing's own bids (ex-post, as an ISO's real-time price): allocate
        in merit order on free chip counts at the floor prices, then price each product by
        `next_uniform_price` from the accepted and unserved bids."""
        pools = cluster.pools()
        free = [cluster.free_chips(p) for p in range(len(pools))]
        if not any(free):
            return dict(self._floors)
        offered = list(free)
        accepted: dict[Hashable, list[float]] = defaultdict(list)
        unserved: dict[Hashable, list[float]] = defaultdict(list)
        marginal_ask: dict[Hashable, float] = {}  # the highest ask dispatched per product
        extra = {p: r[2] for p, (_, r) in held.items()}
        for job in bids:
            opts = self.job_options(cluster, job)
            o = self._choose(cluster, job, opts, held, extra, self._floors, free, at_ask=True)
            if o is not None:
                accepted[o.product].append(o.value_per_chip_hour)
                ask = pools[o.pool].price_per_chip_hour
                marginal_ask[o.product] = max(marginal_ask.get(o.product, ask), ask)
                free[o.pool] -= o.gang
                continue
            best: dict[Hashable, float] = {}
            for x in opts:
                if x.gang <= offered[x.pool]:  # a bid that cannot use the chips offered does not price them
                    best[x.product] = max(best.get(x.product, 0.0), x.value_per_chip_hour)
            for prod, v in best.items():
                unserved[prod].append(v)
        return {prod: next_uniform_price(max(floor, marginal_ask.get(prod, floor)), accepted.get(prod, ()),
                                         unserved.get(prod, ()))
                for prod, floor in self._floors.items()}

    def _choose(self, cluster: Cluster, job: JobLike, opts: list[Option], held, extra, prices,
                free: list[int] | None = None, at_ask: bool = False) -> Option | None:
        """The bid's option (step 2) at `prices`; with `free` (chips per pool) feasibility is
        counted on chips instead of asked of the cluster; `at_ask`: every pool sells at its own
        ask (the supply curve of the price pass) instead of at its product's price."""
        feasible: list[Option] = []
        asks = cluster.pools()
        for o in opts:
            if at_ask:
                if o.value_per_chip_hour < asks[o.pool].price_per_chip_hour:
                    continue
            elif o.value_per_chip_hour < prices[o.product] or not self.sells(o, prices):
                continue
            if free is not None:
                if free[o.pool] < o.gang:
                    continue
            elif not cluster.can_start(o.pool, o.gang):
                continue
            h = held.get(o.pool)
            if h is not None and h[0] != job.index:
                shadow = h[1][1]
                if o.gang > extra.get(o.pool, 0) and cluster.now + cluster.estimate_runtime_s(job, o.pool, o.gang) > shadow:
                    continue
            feasible.append(o)
        if not feasible:
            return None
        scored = list(zip(self.scores(feasible, prices), feasible))
        top = max(s for s, _ in scored)
        if top > 0:
            scored = [(s, o) for s, o in scored if s >= top * (1.0 - self.gang_tolerance)]
        return max(scored, key=lambda so: (so[1].speed, so[0]))[1]

    def _reserve(self, cluster: Cluster, blocked: list[JobLike]) -> None:
        pools = cluster.pools()
        taken = {r[0] for r in self._resv.values()}
        running = None
        for job in blocked:
            if job.index in self._resv:
                continue
            opts = [o for o in self.job_options(cluster, job) if o.gang == job.spec.chips]
            if not opts or job.spec.chips <= min(pools[o.pool].node_chips for o in opts):
                continue
            cands = sorted({o.pool for o in opts} - taken)
            if not cands:
                continue
            if running is None:
                running = cluster.running()
            p, shadow, ext = earliest_start(cluster, job, job.spec.chips, cands, running)
            if p >= 0 and math.isfinite(shadow):
                self._resv[job.index] = (p, shadow, ext)
                taken.add(p)
            if len(taken) >= len(pools):
                return

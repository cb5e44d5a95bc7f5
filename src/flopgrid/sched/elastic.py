"""Elastic gang sizes shared by the `goodput` and `market` policies (after Pollux, Qiao et
al., OSDI'21: periodically re-optimised gang sizes with a restart penalty).

- `shrink_for`: a waiting job that cannot start even at its smallest gang takes chips back
  from jobs grown beyond their request (halving the most over-allocated first, never below
  the request) until it fits.
- `grow`: when chips sit idle and nobody waits, running jobs double their gang (up to
  `max_grow` x the request, inside one island) when the time saved, remaining / rate(g) -
  remaining / rate(2g), exceeds `min_gain` x the pool's restart cost and `accept` agrees;
  the largest saving per added chip goes first. Every resize checkpoints the job (no work
  lost) and pays the pool's restart cost (Pollux measured ~30 s per reallocation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flopgrid.sched.cluster import Cluster, JobLike

Value = Callable[[JobLike, int, int], float]  # (job, pool, gang) -> expected useful FLOP/s


def shrink_for(cluster: Cluster, blocked: list[JobLike], smallest_gang: Callable[[JobLike], int],
               start_best: Callable[[JobLike], None],
               price: Callable[[int], float | None] = lambda p: None) -> None:
    """Reclaim chips from grown jobs for `blocked` waiting jobs, in their order."""
    grown = [r for r in cluster.running() if r.gang > r.spec.chips]
    for job in blocked:
        if not grown:
            return
        g = smallest_gang(job)
        for p in cluster.pools_for(job, g):
            donors = sorted((r for r in grown if r.pool == p and r.state == "running"),
                            key=lambda r: (-r.gang / r.spec.chips, -r.gang, r.index))
            reclaimable = sum(r.gang - r.spec.chips for r in donors)
            if cluster.free_chips(p) + reclaimable < g:
                continue
            for r in donors:
                while r.gang > r.spec.chips and not cluster.can_start(p, g):
                    before = r.gang
                    cluster.resize(r, r.pool, max(r.spec.chips, r.gang // 2), price(r.pool))
                    if r.gang >= before:
                        break
                if cluster.can_start(p, g):
                    break
            start_best(job)
            grown = [r for r in grown if r.state == "running" and r.gang > r.spec.chips]
            break


def _saved_s(cluster: Cluster, value: Value, r: JobLike, pool: int, gang: int, min_gain: float) -> float:
    """Seconds `r` finishes sooner on (pool, gang) after paying that pool's restart cost;
    0 unless that beats `min_gain` x the restart cost."""
    rate1 = value(r, r.pool, r.gang)
    rate2 = value(r, pool, gang)
    if rate1 <= 0 or rate2 <= rate1:
        return 0.0
    rem = cluster.remaining_flop(r)
    restart = cluster.pools()[pool].restart_s
    saved = rem / rate1 - rem / rate2 - restart
    return saved if saved > min_gain * max(restart, 1.0) else 0.0


def grow(cluster: Cluster, value: Value, max_grow: int, min_gain: float,
         accept: Callable[[JobLike, int, int], bool] = lambda r, p, g: True,
         price: Callable[[int], float | None] = lambda p: None) -> None:
    """Double running jobs into idle chips (see the module docstring); `accept(job, pool,
    gang)` may veto a candidate."""
    pools = cluster.pools()
    options = []
    for r in cluster.running():
        g2 = r.gang * 2
        if g2 > r.spec.chips * max_grow or g2 > pools[r.pool].island_chips:
            continue
        if cluster.free_chips(r.pool) < r.gang:
            continue
        saved_s = _saved_s(cluster, value, r, r.pool, g2, min_gain)
        if saved_s <= 0 or not accept(r, r.pool, g2):
            continue
        options.append((-saved_s / r.gang, r.index, r))
    options.sort(key=lambda o: (o[0], o[1]))
    for _, _, r in options:
        g2 = r.gang * 2
        if cluster.free_chips(r.pool) >= r.gang and cluster.can_resize(r, r.pool, g2):
            cluster.resize(r, r.pool, g2, price(r.pool))


def complete_partial(cluster: Cluster, value: Value, min_gain: float, jobs: Iterable[JobLike] | None = None,
                     accept: Callable[[JobLike, int, int], bool] = lambda r, p, g: True,
                     price: Callable[[int], float | None] = lambda p: None) -> None:
    """Running jobs (of `jobs`, default all) below their requested gang (they started
    smaller because chips were short) restart at their request on a pool with enough idle
    chips when that finishes them sooner by `min_gain` x the restart cost: the rest of a
    partly served bid, cleared once chips free up. Largest saving first; `accept(job, pool,
    gang)` may veto."""
    options = []
    pools = range(len(cluster.pools()))
    for r in list(cluster.running() if jobs is None else jobs):
        g = r.spec.chips
        if r.gang >= g or r.state != "running":
            continue
        best = None
        for p in pools:
            if cluster.free_chips(p) < (g - r.gang if p == r.pool else g):
                continue
            saved_s = _saved_s(cluster, value, r, p, g, min_gain)
            if saved_s > (best[0] if best else 0.0) and accept(r, p, g):
                best = (saved_s, p)
        if best is not None:
            options.append((-best[0], r.index, r, best[1]))
    options.sort(key=lambda o: (o[0], o[1]))
    for _, _, r, p in options:
        g = r.spec.chips
        if cluster.free_chips(p) >= (g - r.gang if p == r.pool else g) and cluster.can_resize(r, p, g):
            cluster.resize(r, p, g, price(p))

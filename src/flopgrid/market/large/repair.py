"""Lagrangian heuristic for large markets: adopt the pool schedules of the pool bound.

`pool_bound_at_prices` solves, for the most congested pools, the pool's own packing problem
(its capacity rows exact, every bid priced at value - lambda_b): a schedule that packs the
pool's gangs well. Each schedule is tried on the current allocation: the pool's bids are
freed, the schedule's bids move there (leaving the pools they held), the bids thus freed are
placed again greedily at incremental offer cost (`capacity_greedy`), and the trial is kept
only when welfare (recomputed from the allocation) rises. A final greedy fill offers the
capacity left to every unserved bid. This is the classic repair of a Lagrangian solution
into a feasible one (Fisher 1981, section 7; Beasley 1993 on Lagrangian heuristics).
"""

from __future__ import annotations

import time

import numpy as np

from flopgrid.market.formulation.columns import Options
from flopgrid.market.large.greedy import capacity_greedy
from flopgrid.market.large.lagrangian import Supply
from flopgrid.market.large.neighbourhood import Allocation, demand_chips, welfare_usd


def fill(alloc: Allocation, opts: Options, supply: Supply, mu: np.ndarray, only: np.ndarray | None = None) -> Allocation:
    """`alloc` plus the unserved bids (or those of `only`, bool per bid) that still fit with a
    positive surplus, placed greedily at prices mu (in place; returned)."""
    f = supply.reserve_fraction
    base = (1.0 + f) * demand_chips(alloc, opts.bid_len, supply.available.shape)
    skip = alloc.pool >= 0 if only is None else (alloc.pool >= 0) | ~only
    add = capacity_greedy(opts, supply, mu, f, base_chips=base, skip=skip)
    alloc.pool[add.bid], alloc.chips[add.bid], alloc.start[add.bid], alloc.value_usd[add.bid] = \
        add.pool, add.chips, add.start, add.value_usd
    return alloc


def adopt_schedules(alloc: Allocation, schedules: dict[int, tuple[np.ndarray, ...]], opts: Options, supply: Supply,
                    mu: np.ndarray, deadline: float) -> tuple[Allocation, int]:
    """Try each pool schedule on `alloc` (module docstring); the improved allocation and the
    number of schedules adopted."""
    L = opts.bid_len
    w = welfare_usd(alloc, supply, L)
    adopted = 0
    for p, (b, g, s, v) in schedules.items():
        if time.perf_counter() > deadline:
            break
        if len(b) == 0:
            continue
        trial = Allocation(alloc.pool.copy(), alloc.chips.copy(), alloc.start.copy(), alloc.value_usd.copy())
        moved = np.zeros(len(alloc.pool), dtype=bool)
        moved[np.flatnonzero(trial.pool == p)] = True
        trial.pool[moved], trial.value_usd[moved] = -1, 0.0
        moved[b] = False
        trial.pool[b], trial.chips[b], trial.start[b], trial.value_usd[b] = p, g, s, v
        fill(trial, opts, supply, mu, only=moved)
        wt = welfare_usd(trial, supply, L)
        if wt > w + 1e-6 * max(1.0, abs(w)):
            alloc, w, adopted = trial, wt, adopted + 1
    if time.perf_counter() < deadline:
        fill(alloc, opts, supply, mu)
    return alloc, adopted

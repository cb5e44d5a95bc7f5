"""The large-market path of `flopgrid.market.clear` (method "decomposition"), as phases:

1. options   `flopgrid.market.formulation.columns.enumerate_options`: every feasible (bid,
             pool, gang) with its value and start range, vectorised;
2. LP bound  `bound.column_generation` (below `smooth_min_options` options) then, if it
             has not converged, `smooth.smoothed_bound` (the entropy-smoothed dual, annealed,
             with an exact D per stage; up to `smooth_max_options` options) or `bound.lbfgs`
             (L-BFGS on D from the cheapest-step prices, above, until it stalls): Lagrange
             prices mu on the capacity rows; every D(mu) is a valid upper bound on welfare
             (Fisher 1981) and the smallest one evaluated is kept (= the LP bound at best).
             Between `smooth_min_options` and `smooth_max_options` column generation is
             skipped and the smoothed dual runs alone; when it settles, the (option, start)
             pairs it weighs form the master LP of the dive (3a);
3. greedy    `greedy.capacity_greedy` at the bound's prices: a feasible allocation, bids
             in decreasing reduced value (and, up to 1M options, also by density: the better
             one is kept), each trying its 256 best options at every start;
3a. dive     `dive.lp_dive` on the master LP, where the bound reached the LP bound;
3b. pool bound at prices `pool_bound.pool_bound_at_prices` on markets above
             `pool_bound_max_pools` whose bound reached the LP bound: one exact sub-MIP per
             congested pool, most congested first, until its time share; each solved pool
             tightens D(mu) by D_p - z_p, and `repair.adopt_schedules` tries the pools'
             schedules on the allocation (a Lagrangian heuristic);
4. improve   `neighbourhood.improve`: exact HiGHS sub-MIPs over neighbourhoods of pools
             (large-neighbourhood search), each applied only when it raises welfare, from one
             pool and doubling after a sweep without gain, until the time limit less a
             pricing reserve;
5. pool bound `pool_bound.pool_lagrangian` on markets of <= `LargeConfig.pool_bound_max_pools`
             pools: the bid rows relaxed, one exact sub-MIP per pool - tighter than the LP
             bound where gangs are large relative to pools (the LP bound alone cannot
             certify 1% there);
6. the allocation as a model of its own columns; `flopgrid.market.pricing` prices it from
   its fixed-integer LP, as on every path.

`LargeConfig` holds every knob; `solve_large` runs the phases; the reported gap is
(bound - welfare) / bound with the smallest of the bounds.
"""

from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.phases import LargeOutcome, solve_large

__all__ = ["LargeConfig", "LargeOutcome", "solve_large"]

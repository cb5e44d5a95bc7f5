"""The large-market path of `flopgrid.market.clear` (method "decomposition"), as phases:

1. options   `flopgrid.market.formulation.columns.enumerate_options`: every feasible (bid, pool, gang)
             with its value and start range, vectorised;
2. bound     `bound.column_generation` then, if it has not converged, `bound.lbfgs`: Lagrange
             prices mu on the capacity rows; every D(mu) is a valid upper bound on welfare
             (Fisher 1981) and the smallest one evaluated is reported;
3. greedy    `flopgrid.market.large.greedy.capacity_greedy` at the bound's prices: a feasible
             allocation;
4. improve   `flopgrid.market.large.neighbourhood.improve`: exact HiGHS sub-MIPs over neighbourhoods
             of pools (large-neighbourhood search), each accepted only when it raises welfare;
5. the allocation as a model of its own columns, whose fixed-integer LP gives the prices
   (in `flopgrid.market.clearing`, as for every path).

`LargeConfig` holds every knob; `solve_large` runs the phases.
"""

from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.phases import LargeOutcome, solve_large

__all__ = ["LargeConfig", "LargeOutcome", "solve_large"]

"""`clear()`: the day-ahead clearing (DESIGN.md "The market", steps 1-3 and 5).

Orchestration only:
validate -> monitor (pivotal-supplier screen, mitigation, `monitor`) -> the model
(`formulation`) -> solve: the uncongested fast path (`solve.uncongested`), the exact MILP
(`solve.highs`) or the large-market phases (`large`) -> prices, charges and uplift from the
fixed-integer LP duals (`pricing`: where the price is computed) -> `ClearingResult`.

Failure paths: a time limit with an incumbent returns it with its gap (status time_limit);
a time limit before any incumbent returns the greedy allocation (status time_limit, gap
unknown; `solve.greedy`), or clears nothing if there is none (status no_solution);
a solver error clears nothing and publishes no prices (the previous ones are carried in
`prices` with `prices_published = False`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from flopgrid.market.formulation.model import (
    MarketModel,
    build_model,
    model_from_candidates,
    with_matrix,
)
from flopgrid.market.large import solve_large
from flopgrid.market.monitor import mitigate
from flopgrid.market.orders import Scenario
from flopgrid.market.pricing import price_allocation, zero_prices
from flopgrid.market.result import ClearingResult, Unserved, Uplift
from flopgrid.market.solve import highs
from flopgrid.market.solve.greedy import greedy_solution
from flopgrid.market.solve.uncongested import solve_uncongested
from flopgrid.market.validation import validate_scenario
from flopgrid.market.valuation import Valuer

Solver = Callable[[MarketModel, float | None, float], highs.SolveOutcome]
PRICE_TOL = 1e-9
AUTO_EXACT_MAX_PAIRS = 20_000  # bids x pools up to which `clear(method="auto")` builds the exact MILP


def build_model_empty(scenario: Scenario, valuer: Valuer) -> MarketModel:
    """A model without candidates whose `no_candidate_reason` says why, per bid."""
    from flopgrid.market.formulation.columns import Columns, enumerate_options

    return model_from_candidates(scenario, Columns.empty(), enumerate_options(scenario, valuer).reasons)


def _default_solver(model: MarketModel, time_limit_s: float | None, mip_gap: float) -> highs.SolveOutcome:
    return highs.solve_milp(model, time_limit_s, mip_gap)


def clear(
    scenario: Scenario,
    time_limit_s: float | None = None,
    mip_gap: float = 1e-4,
    *,
    previous: ClearingResult | None = None,
    valuer: Valuer | None = None,
    max_pools_per_bid: int | None = None,
    solver: Solver | None = None,
    method: str = "auto",
) -> ClearingResult:
    """Clear `scenario`: welfare-maximising allocation, prices, uplift.

    `previous`: the last published result; its prices are kept if this solve fails.
    `max_pools_per_bid`: optional candidate cap for very large markets (inexact; default
    None = exact). `solver`: replaces HiGHS (tests use it to fake a solver error).
    `method`: "exact" (the monolithic MILP), "decomposition" (the large-market path,
    `flopgrid.market.large`: Lagrangian bound by column generation tightened by exact pool
    sub-MIPs, greedy or LP-dive allocation improved by HiGHS sub-MIPs over pool
    neighbourhoods; `gap` is then measured against
    the upper bound, reported as `upper_bound_usd`) or
    "auto" (exact while bids x pools <= AUTO_EXACT_MAX_PAIRS or when a `solver` or
    `max_pools_per_bid` is given, decomposition above; an auto-exact market whose bids'
    individually best options fit together is cleared without the MILP,
    `flopgrid.market.solve.uncongested`, and reports `method="uncongested"`, gap 0).
    """
    t0 = time.perf_counter()
    validate_scenario(scenario)
    scenario, findings = mitigate(scenario)
    h = scenario.horizon.interval_hours
    valuer = valuer or Valuer(h)
    if method not in ("auto", "exact", "decomposition"):
        raise ValueError(f"method must be auto, exact or decomposition, got {method!r}")
    fast_ok = method == "auto" and solver is None and max_pools_per_bid is None
    if method == "auto":
        small = len(scenario.bids) * len(scenario.pools) <= AUTO_EXACT_MAX_PAIRS
        method = "exact" if small or solver is not None or max_pools_per_bid is not None else "decomposition"
    timings: dict[str, float] = {}
    upper_bound = None
    fast = None
    if method == "decomposition":
        large = solve_large(scenario, valuer, time_limit_s, max(mip_gap, 1e-4))
        if large is None:
            model = build_model_empty(scenario, valuer)
        else:
            model, timings, upper_bound = large.model, large.seconds, large.upper_bound_usd
    else:
        # the fast path first checks on the index maps alone; the matrix only when it is needed
        model = build_model(scenario, valuer, max_pools_per_bid, matrix=not fast_ok)
        fast = solve_uncongested(scenario, model) if fast_ok else None
        if fast is None or fast.duals is None:
            model = with_matrix(scenario, model)
    nnz = len(model.a_value) or (int(model.cand_len.sum()) * (2 if model.reserve_fraction > 0 else 1)
                                 + int(np.isin(model.cand_bid, list(model.bid_rows)).sum()) + len(model.y_cols)
                                 + 2 * len(model.r_cols))
    size = {"binaries": model.n_x, "columns": model.n_cols, "rows": model.n_rows, "nonzeros": nnz}
    base = dict(monitor=[dataclasses.asdict(f) for f in findings], model_size=size, method=method)

    def nothing(status: str, message: str = "", gap: float | None = None, keep_prices: bool = False) -> ClearingResult:
        reasons = model.no_candidate_reason
        unserved = [Unserved(b.id, b.buyer, reasons.get(i, "not cleared: " + (message or status)))
                    for i, b in enumerate(scenario.bids)]
        if keep_prices:
            prices = list(previous.prices) if previous is not None else []
            published = False
        else:
            prices, published = zero_prices(scenario), True
        return ClearingResult(status, 0.0, [], prices, Uplift(), unserved, time.perf_counter() - t0, gap,
                              prices_published=published, message=message, **base)

    if model.n_x == 0:
        return nothing("empty", "no feasible (bid, pool, gang, start) candidate", gap=0.0)
    if fast is not None:  # exact without the MILP (flopgrid.market.solve.uncongested)
        base["method"] = "uncongested"
        if fast.duals is not None:
            duals, lp_cols = fast.duals, fast.col_value
        else:
            fixed = highs.fixed_lp_duals(model, fast.col_value)
            if fixed is None:
                return nothing("solver_error", "fixed-integer LP for prices failed", keep_prices=True)
            duals, lp_cols = fixed
        res = price_allocation(scenario, model, valuer, fast.x, duals, lp_cols)
        return ClearingResult("optimal", res.welfare_usd, res.allocations, res.prices, res.uplift, res.unserved,
                              time.perf_counter() - t0, 0.0, providers=res.providers,
                              message="uncongested: every bid's best option fits the cheapest offer steps together "
                              "(no MILP needed)", **base)
    if method == "decomposition":
        outcome = large.outcome
    else:
        outcome = (solver or _default_solver)(model, time_limit_s, mip_gap)
    if outcome.status == "error":
        return nothing("solver_error", outcome.message or "solver error", keep_prices=True)
    if outcome.status == "no_solution" and solver is None and model.n_x:
        # the safe fallback: HiGHS hit the time limit before any incumbent; the greedy
        # allocation is feasible by construction (its gap is unknown)
        xg = greedy_solution(model)
        outcome = highs.SolveOutcome("time_limit", xg, float(model.col_cost @ xg), None, outcome.seconds,
                                     "time limit before an incumbent: greedy allocation")
    if outcome.status == "no_solution" or outcome.col_value is None:
        return nothing("no_solution", "time limit reached before any feasible allocation", keep_prices=True)
    x = outcome.col_value
    if model.welfare_usd(x) < 0:  # an incumbent worse than trading nothing: trade nothing
        return nothing(outcome.status, "incumbent welfare below zero; nothing cleared", gap=outcome.gap)
    tp = time.perf_counter()
    fixed = highs.fixed_lp_duals(model, x)
    if fixed is None:
        return nothing("solver_error", "fixed-integer LP for prices failed", keep_prices=True)
    duals, lp_cols = fixed
    res = price_allocation(scenario, model, valuer, np.round(x[: model.n_x]), duals, lp_cols)
    status, gap, message = outcome.status, outcome.gap, outcome.message
    if method == "decomposition":
        timings["pricing"] = time.perf_counter() - tp
        # the master's own status and gap say nothing about the full problem: measure the
        # welfare against the Lagrangian/LP upper bound of the full problem instead
        gap = max(0.0, (upper_bound - res.welfare_usd) / upper_bound) if upper_bound and np.isfinite(upper_bound) and upper_bound > 0 else None  # no bound: no gap claimed
        status = "optimal" if gap is not None and gap <= mip_gap else "feasible"
        message = (f"decomposition: welfare within {100 * gap:.3g}% of the upper bound "
                   f"${upper_bound:,.0f}" if gap is not None else "decomposition")
    return ClearingResult(status, res.welfare_usd, res.allocations, res.prices, res.uplift, res.unserved,
                          time.perf_counter() - t0, gap, providers=res.providers, message=message,
                          upper_bound_usd=upper_bound,
                          timings_s=timings, **base)

"""`clear()`: the day-ahead clearing (DESIGN.md "The market", steps 1-3 and 5).

validate -> monitor (pivotal-supplier screen, mitigation) -> build the MILP -> HiGHS ->
fixed-integer LP duals (O'Neill et al. 2005) = uniform locational prices per (pool, interval)
-> charges at those prices -> make-whole uplift -> `ClearingResult`.

Failure paths: a time limit with an incumbent returns it with its gap (status time_limit);
a time limit before any incumbent clears nothing (status no_solution, the safe fallback);
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
from flopgrid.market.result import (
    Allocation,
    ClearingResult,
    PriceRow,
    ProviderPosition,
    Unserved,
    Uplift,
    UpliftEntry,
)
from flopgrid.market.solve import highs
from flopgrid.market.solve.uncongested import solve_uncongested
from flopgrid.market.uplift import Party, make_whole
from flopgrid.market.validation import canonical_hardware, validate_scenario
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
    `flopgrid.market.large`: Lagrangian bound by column generation, greedy allocation
    improved by HiGHS sub-MIPs over pool neighbourhoods; `gap` is then measured against
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
            prices, published = _zero_prices(scenario), True
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
        res = _assemble(scenario, model, valuer, fast.x, duals, lp_cols, h)
        return ClearingResult("optimal", res[0], res[1], res[2], res[3], res[4], time.perf_counter() - t0, 0.0,
                              providers=res[5], message="uncongested: every bid's best option fits the "
                              "cheapest offer steps together (no MILP needed)", **base)
    if method == "decomposition":
        outcome = large.outcome
    else:
        outcome = (solver or _default_solver)(model, time_limit_s, mip_gap)
    if outcome.status == "error":
        return nothing("solver_error", outcome.message or "solver error", keep_prices=True)
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
    res = _assemble(scenario, model, valuer, np.round(x[: model.n_x]), duals, lp_cols, h)
    status, gap, message = outcome.status, outcome.gap, outcome.message
    if method == "decomposition":
        timings["pricing"] = time.perf_counter() - tp
        # the master's own status and gap say nothing about the full problem: measure the
        # welfare against the Lagrangian/LP upper bound of the full problem instead
        gap = max(0.0, (upper_bound - res[0]) / upper_bound) if upper_bound and np.isfinite(upper_bound) and upper_bound > 0 else None  # no bound: no gap claimed
        status = "optimal" if gap is not None and gap <= mip_gap else "feasible"
        message = (f"decomposition: welfare within {100 * gap:.3g}% of the Lagrangian upper bound "
                   f"${upper_bound:,.0f}" if gap is not None else "decomposition")
    return ClearingResult(status, res[0], res[1], res[2], res[3], res[4], time.perf_counter() - t0,
                          gap, providers=res[5], message=message, upper_bound_usd=upper_bound,
                          timings_s=timings, **base)


def _zero_prices(scenario: Scenario) -> list[PriceRow]:
    T = scenario.horizon.intervals
    rows = []
    for p in scenario.pools:
        first, last = p.available if p.available is not None else (0, T - 1)
        rows += [PriceRow(p.id, t, 0.0) for t in range(first, last + 1)]
    return rows


def _assemble(scenario: Scenario, model: MarketModel, valuer: Valuer, xs: np.ndarray, duals: np.ndarray,
              cols: np.ndarray, h: float):
    f = scenario.reserve.fraction
    pools, bids = scenario.pools, scenario.bids
    chosen = np.nonzero(xs > 0.5)[0]
    # demand and supply per (pool, interval) from the fixed LP
    cleared: dict[tuple[int, int], int] = {}
    for k in chosen:
        p, s, L, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_len[k]), int(model.cand_chips[k])
        for t in range(s, s + L):
            cleared[(p, t)] = cleared.get((p, t), 0) + g
    cap_price: dict[tuple[int, int], float] = {}
    res_price: dict[tuple[int, int], float] = {}
    for key, row in model.cap_rows.items():
        if cleared.get(key, 0) > 0:  # elsewhere nothing trades: the dual is degenerate, publish 0
            cap_price[key] = max(0.0, float(duals[row]) / h)
            if key in model.res_rows:
                res_price[key] = max(0.0, float(duals[model.res_rows[key]]) / h)
    reserve_chips = {k: float(cols[model.n_x + len(model.y_cols) + i]) for i, k in enumerate(model.r_cols)}
    supplied: dict[tuple[int, int], float] = {}
    cost: dict[int, float] = {}
    for i, (p, t, j) in enumerate(model.y_cols):
        q = float(cols[model.n_x + i])
        if q > 1e-9:
            supplied[(p, t)] = supplied.get((p, t), 0.0) + q
            cost[p] = cost.get(p, 0.0) + q * pools[p].offer[j].price_per_chip_hour * h

    prices = []
    T = scenario.horizon.intervals
    for pi, p in enumerate(pools):
        first, last = p.available if p.available is not None else (0, T - 1)
        for t in range(first, last + 1):
            prices.append(PriceRow(p.id, t, cap_price.get((pi, t), 0.0), res_price.get((pi, t), 0.0),
                                   cleared.get((pi, t), 0), reserve_chips.get((pi, t), 0.0) if cleared.get((pi, t)) else 0.0))

    allocs: list[Allocation] = []
    parties: list[Party] = []
    for k in chosen:
        b, p = bids[int(model.cand_bid[k])], pools[int(model.cand_pool[k])]
        pi, s, L, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_len[k]), int(model.cand_chips[k])
        charge = sum(h * g * (cap_price.get((pi, t), 0.0) + f * res_price.get((pi, t), 0.0)) for t in range(s, s + L))
        try:
            d = valuer.delivery(b, p, g)
            mfu, eflop = d.predicted_mfu, d.useful_eflop_per_interval * L
        except ImportError:  # the perf layer is absent: $/chip-hour bids still clear
            mfu, eflop = None, None
        value = float(model.cand_value_usd[k])
        allocs.append(Allocation(b.id, p.id, g, s, L, mfu, eflop, 0.0, None, charge, buyer=b.buyer,
                                 provider=p.provider, hardware=canonical_hardware(p.hardware), value_usd=value,
                                 energy_charge_usd=charge))
        parties.append(Party(f"buyer:{b.buyer}", b.id, value - charge))
    positions: list[ProviderPosition] = []
    for pi, p in enumerate(pools):
        ts = [t for (q, t) in supplied if q == pi]
        if not ts:
            continue
        chip_hours = sum(supplied[(pi, t)] for t in ts) * h
        revenue = sum(supplied[(pi, t)] * h * cap_price.get((pi, t), 0.0) for t in ts)
        positions.append(ProviderPosition(p.id, p.provider, chip_hours, revenue, cost.get(pi, 0.0)))
        parties.append(Party(f"provider:{p.provider}", p.id, revenue - cost.get(pi, 0.0)))

    credits, charges = make_whole(parties)
    party_of = {pt.order: pt.party for pt in parties}
    uplift = Uplift(total_usd=sum(credits.values()),
                    credits=[UpliftEntry(party_of[o], o, v) for o, v in credits.items()],
                    charges=[UpliftEntry(party_of[o], o, v) for o, v in charges.items() if v > 0])
    for a in allocs:
        a.uplift_credit_usd = credits.get(a.bid, 0.0)
        a.uplift_charge_usd = charges.get(a.bid, 0.0)
        a.payment_usd = a.energy_charge_usd - a.uplift_credit_usd + a.uplift_charge_usd
        a.price_per_chip_hour = a.payment_usd / (a.chips * a.intervals * h)
        a.price_per_eflop = a.payment_usd / a.useful_eflop if a.useful_eflop else None
    for pos in positions:
        pos.uplift_credit_usd = credits.get(pos.pool, 0.0)
        pos.uplift_charge_usd = charges.get(pos.pool, 0.0)

    welfare = float(sum(a.value_usd for a in allocs) - sum(cost.values()))
    served = {a.bid for a in allocs}
    unserved = [Unserved(b.id, b.buyer, model.no_candidate_reason.get(i, "outbid: clearing it would lower welfare"))
                for i, b in enumerate(bids) if b.id not in served]
    return welfare, allocs, prices, uplift, unserved, positions

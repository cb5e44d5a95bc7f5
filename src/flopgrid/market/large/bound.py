"""Upper bounds on welfare for the large-market path: Lagrange prices on the capacity rows.

For every mu >= 0, D(mu) (`flopgrid.market.large.lagrangian.dual_value`) is an upper bound on the
optimal welfare (weak duality; Fisher 1981). `column_generation` takes mu from the duals of
a restricted master LP that grows by each bid's best option at the current prices (with
Wentges 1997 smoothing); at convergence min D equals the LP-relaxation bound of the
monolithic MILP. `lbfgs` then minimises D directly (L-BFGS-B on the piecewise-linear D;
Lewis & Overton 2013) when column generation ran out of time first. Only the smallest
D evaluated is reported, so stopping early only weakens the bound, never invalidates it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.columns import Columns, Options
from flopgrid.market.formulation.model import MarketModel, model_from_candidates
from flopgrid.market.large.config import LargeConfig
from flopgrid.market.large.lagrangian import (
    Supply,
    bid_response,
    dual_value,
    priced_columns,
    top_per_bid,
    window_cost,
)
from flopgrid.market.orders import Scenario
from flopgrid.market.solve import highs

log = logging.getLogger(__name__)


@dataclass
class Bound:
    upper_bound_usd: float
    mu: np.ndarray  # (P, T) prices of the best bound (USD per chip per interval)
    master_lp_usd: float  # the last restricted master LP's value (a lower bound on min D)
    lam: np.ndarray | None = None  # per bid: the last master LP's bid-row duals (>= 0), for `pool_bound`
    rounds: int = 0
    lbfgs_evaluations: int = 0
    master_lp_s: float = 0.0
    converged: bool = False
    master: highs.IncrementalLp | None = None  # the last restricted master LP (for `dive`)
    master_columns: Columns | None = None  # its candidate columns, in its column order


def seed_columns(opts: Options, mu: np.ndarray, reserve_fraction: float, options_per_bid: int,
                 starts_per_option: int) -> Columns:
    """Per bid its best options at prices mu, each at its cheapest starts."""
    idx = np.arange(opts.n)
    cost, _ = window_cost(mu, opts, idx)
    score = opts.value_usd - (1.0 + reserve_fraction) * opts.chips * cost
    sel = idx[top_per_bid(score, opts.bid, options_per_bid)]
    P, T = mu.shape
    C = np.zeros((P, T + 1))
    np.cumsum(mu, axis=1, out=C[:, 1:])
    lo, hi = opts.start_lo[sel], opts.start_hi[sel]
    L = opts.bid_len[opts.bid[sel]]
    n_st = hi - lo + 1
    kmax = int(n_st.max()) if len(sel) else 0
    costs = np.full((len(sel), max(kmax, 1)), np.inf)
    for k in range(kmax):
        ok = k < n_st
        s = np.where(ok, lo + k, lo)
        costs[:, k] = np.where(ok, C[opts.pool[sel], s + L] - C[opts.pool[sel], s], np.inf)
    rank = np.argsort(costs, axis=1, kind="stable")[:, :starts_per_option]
    rows = np.repeat(np.arange(len(sel)), rank.shape[1])
    ks = rank.reshape(-1)
    ok = ks < n_st[rows]
    rows, ks = rows[ok], ks[ok]
    o = sel[rows]
    return Columns(opts.bid[o], opts.pool[o], opts.chips[o], lo[rows] + ks, opts.value_usd[o])


def _master_prices(model: MarketModel, row_dual: np.ndarray, default: np.ndarray) -> np.ndarray:
    """(P, T) capacity multipliers from the master LP's row duals; pairs without a row keep
    `default` (any mu >= 0 gives a valid bound)."""
    mu = default.copy()
    if model.cap_rows:
        keys = np.array(list(model.cap_rows), dtype=np.int64)
        mu[keys[:, 0], keys[:, 1]] = np.maximum(0.0, row_dual[np.array(list(model.cap_rows.values()))])
    return mu


def _bid_duals(model: MarketModel, row_dual: np.ndarray, n_bids: int) -> np.ndarray:
    """Per bid the multiplier of its "at most once" row (HiGHS reports <= 0 on a <= row of a
    minimisation; the welfare multiplier is its negation); 0 for bids without a row."""
    lam = np.zeros(n_bids)
    if model.bid_rows:
        b = np.fromiter(model.bid_rows.keys(), dtype=np.int64)
        rows = np.fromiter(model.bid_rows.values(), dtype=np.int64)
        lam[b] = np.maximum(0.0, -row_dual[rows])
    return lam


def restricted_master(scenario: Scenario, opts: Options, supply: Supply, cols: Columns) -> highs.IncrementalLp:
    """The restricted master LP over the columns `cols` (every capacity row, every bid row)."""
    model = model_from_candidates(scenario, cols, opts.reasons, rows_for=supply.available,
                                  bid_rows_for=np.unique(opts.bid))
    return highs.IncrementalLp(model, opts.bid_len)


def column_generation(scenario: Scenario, opts: Options, supply: Supply, seed: Columns,
                      cfg: LargeConfig, t0: float, time_limit_s: float | None) -> Bound:
    """Column generation on the restricted master LP (see the module docstring) from the
    columns `seed`."""
    all_idx = np.arange(opts.n)
    mu0 = supply.marginal_cost()
    keyset = set(seed.keys())
    lp = restricted_master(scenario, opts, supply, seed)
    model = lp.model
    out = Bound(np.inf, mu0, 0.0, master=lp)
    batches = [seed]
    center = None
    for rounds in range(1, cfg.max_rounds + 1):
        tl = time.perf_counter()
        sol = lp.solve()
        out.master_lp_s += time.perf_counter() - tl
        out.rounds = rounds
        if sol is None:
            break
        out.master_lp_usd = sol[0]
        out.lam = _bid_duals(model, sol[1], len(scenario.bids))
        mu_lp = _master_prices(model, sol[1], mu0)
        mu = mu_lp if center is None else cfg.smoothing * center + (1 - cfg.smoothing) * mu_lp
        mu = np.maximum(mu, mu0)  # dual_value evaluates D there (never above D(mu))
        val, br, _ = dual_value(mu, opts, all_idx, supply)
        if val < out.upper_bound_usd:
            out.upper_bound_usd, out.mu, center = val, mu, mu
        log.debug("round %d: cols %d lp %.0f D %.0f (%.2f s)", rounds, len(keyset), sol[0], val,
                  time.perf_counter() - tl)
        chosen = _chosen(opts, br)
        if cfg.columns_per_bid_round > 1:  # more columns per round, fewer rounds (those that price out vs lambda_b)
            keep, st, red = priced_columns((1.0 + supply.reserve_fraction) * mu, opts, cfg.columns_per_bid_round)
            k = red > out.lam[opts.bid[keep]] + 1e-9
            keep, st = keep[k], st[k]
            chosen = chosen.union(Columns(opts.bid[keep], opts.pool[keep], opts.chips[keep], st, opts.value_usd[keep]))
        new = _unseen(chosen, keyset)
        last = time.perf_counter() - tl
        out_of_time = time_limit_s is not None and time.perf_counter() - t0 + 1.5 * last > cfg.bound_share * time_limit_s
        if out.upper_bound_usd - out.master_lp_usd <= cfg.bound_tol * max(abs(out.upper_bound_usd), 1.0):
            out.converged = True
            break
        if out_of_time:
            break
        if len(new) == 0:
            if center is not None and cfg.smoothing > 0:  # mis-pricing: price at the LP duals once
                center = None
                continue
            out.converged = True  # no column prices out: the master LP is the LP bound
            break
        keyset.update(new.keys())
        lp.add_columns(new)
        batches.append(new)
    out.master_columns = Columns(*(np.concatenate([getattr(c, k) for c in batches])
                                   for k in ("bid", "pool", "chips", "start", "value_usd")))
    return out


def _chosen(opts: Options, br) -> Columns:
    """Each bid's best option at the prices of a `BidResponse`, at its best start."""
    return Columns(opts.bid[br.option], opts.pool[br.option], opts.chips[br.option], br.start, opts.value_usd[br.option])


def _unseen(cols: Columns, keyset: set) -> Columns:
    return cols.take(np.array([k not in keyset for k in cols.keys()], dtype=bool))


def master_pricing(bound: Bound, opts: Options, supply: Supply):
    """A pricing step on `bound.master` for `dive.lp_dive`: given the master's row duals and
    the bids still open, the columns (not yet in the master) that are those bids' best options
    at the master's capacity prices."""
    model = bound.master.model
    mu0 = supply.marginal_cost()
    keyset = set(bound.master_columns.keys())

    def price(row_dual: np.ndarray, open_bid: np.ndarray) -> Columns:
        mu = np.maximum(_master_prices(model, row_dual, mu0), mu0)
        idx = np.flatnonzero(open_bid[opts.bid])
        new = _unseen(_chosen(opts, bid_response(mu, opts, idx, supply.reserve_fraction)), keyset)
        keyset.update(new.keys())
        return new

    return price


class _OutOfTime(Exception):
    pass


def lbfgs(opts: Options, supply: Supply, bound: Bound, deadline: float, stall_evaluations: int = 0,
          stall_tol: float = 0.0) -> Bound:
    """min D(mu) over mu >= cheapest step cost by L-BFGS-B from the best prices so far, until
    `deadline`, or (with `stall_evaluations` > 0) until the best D has fallen by less than
    `stall_tol` (relative) over the last `stall_evaluations` evaluations; keeps the best D
    evaluated. Without scipy the bound is returned unchanged."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        return bound
    floor = supply.marginal_cost()
    shape = floor.shape
    idx = np.arange(opts.n)
    last = [0.0]
    best_at: list[float] = []  # the best D after each evaluation

    def fg(z: np.ndarray):
        if time.perf_counter() + 1.5 * last[0] > deadline:
            raise _OutOfTime
        if stall_evaluations and len(best_at) > stall_evaluations and \
                best_at[-stall_evaluations - 1] - best_at[-1] < stall_tol * abs(best_at[-1]):
            raise _OutOfTime  # stalled: the time goes to the allocation
        te = time.perf_counter()
        m = np.maximum(z.reshape(shape), floor)
        val, br, sold = dual_value(m, opts, idx, supply)
        bound.lbfgs_evaluations += 1
        last[0] = time.perf_counter() - te
        if val < bound.upper_bound_usd:
            bound.upper_bound_usd, bound.mu = val, m.copy()
        best_at.append(bound.upper_bound_usd)
        return val, (sold - br.demand_chips).reshape(-1)

    bounds = list(zip(floor.reshape(-1).tolist(), [None] * floor.size))
    try:
        minimize(fg, np.maximum(bound.mu, floor).reshape(-1), jac=True, method="L-BFGS-B", bounds=bounds,
                 options={"maxiter": 10_000, "maxfun": 10_000, "maxcor": 20, "ftol": 0.0, "gtol": 0.0})
    except _OutOfTime:
        pass
    log.debug("L-BFGS-B: %d evaluations, bound %.0f", bound.lbfgs_evaluations, bound.upper_bound_usd)
    return bound

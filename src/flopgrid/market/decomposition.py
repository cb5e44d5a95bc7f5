"""Clearing large markets: Lagrangian bound + restricted master MILP on HiGHS.

1. `columns.enumerate_options`: every feasible (bid, pool, gang) triple, vectorised.
2. `lagrangian.subgradient`: prices mu on the capacity/reserve rows minimising the dual
   D(mu) (Fisher 1981); min D over the full option set is the upper bound reported.
3. Restricted master: per bid only the `options_per_bid` options with the best reduced value
   at the final mu, each with its `starts_per_option` cheapest starts (column generation;
   the columns that price out best are the ones an optimal allocation can use), plus the
   Lagrangian choice itself. It is the monolithic model (`model_build.model_from_candidates`)
   over those columns, solved by HiGHS warm-started from the greedy allocation.
   Column generation stops at `bound_share` (half) of the time limit: its master LPs grow
   slow (26 s for the 8th round at 10,000 bids).
4. Primal heuristic over every option (`flopgrid.market.primal`): greedy by surplus per
   chip-hour over a time-indexed capacity profile; its columns join the master and it is
   used when it beats the LP-guided greedy.
5. With a time limit, Polyak subgradient steps on D (target: the best primal welfare) from
   the best multipliers until `polyak_until` of the limit; every D(mu), mu >= 0, is a valid
   bound, so this only tightens it. The heuristic then runs again at the best such prices.
6. The reported gap is (upper bound - welfare) / upper bound: honest, since the upper bound
   holds for the full problem, not just the master.

Prices then come from the fixed-integer LP of the master (O'Neill et al. 2005), exactly as in
the monolithic path: with the integers fixed the LP only sees the cleared columns.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.market import highs_backend
from flopgrid.market.columns import Options, enumerate_options
from flopgrid.market.heuristic import greedy_solution
from flopgrid.market.lagrangian import (
    Supply,
    dual_value,
    priced_columns,
    top_per_bid,
    window_cost,
)
from flopgrid.market.model_build import MarketModel, model_from_candidates
from flopgrid.market.orders import Scenario
from flopgrid.market.primal import capacity_greedy
from flopgrid.market.valuation import Valuer

log = logging.getLogger(__name__)


@dataclass
class LargeOutcome:
    model: MarketModel
    outcome: highs_backend.SolveOutcome
    upper_bound_usd: float
    seconds: dict[str, float] = field(default_factory=dict)  # valuation / build / bound / solve
    info: dict[str, int] = field(default_factory=dict)


def master_candidates(opts: Options, mu: np.ndarray, idx: np.ndarray, reserve_fraction: float,
                      options_per_bid: int, starts_per_option: int):
    """(bid, pool, chips, start, value) arrays: per bid its best options among `idx` at prices
    mu, each with its cheapest starts."""
    cost, _ = window_cost(mu, opts, idx)
    score = opts.value_usd[idx] - (1.0 + reserve_fraction) * opts.chips[idx] * cost
    sel = idx[top_per_bid(score, opts.bid[idx], options_per_bid)]
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
    return opts.bid[o], opts.pool[o], opts.chips[o], lo[rows] + ks, opts.value_usd[o]


def _duals_to_prices(model: MarketModel, row_dual: np.ndarray, default: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, T) capacity and reserve multipliers from the master LP's row duals; pairs the
    master has no row for keep `default` (any value >= 0 gives a valid bound)."""
    mu, mu_r = default.copy(), default.copy()
    if model.cap_rows:
        keys = np.array(list(model.cap_rows), dtype=np.int64)
        mu[keys[:, 0], keys[:, 1]] = np.maximum(0.0, row_dual[np.array(list(model.cap_rows.values()))])
        mu_r[keys[:, 0], keys[:, 1]] = mu[keys[:, 0], keys[:, 1]]
    if model.res_rows:
        keys = np.array(list(model.res_rows), dtype=np.int64)
        mu_r[keys[:, 0], keys[:, 1]] = np.maximum(0.0, row_dual[np.array(list(model.res_rows.values()))])
    return mu, mu_r


def _join(cb, cp, cg, cs, cv, hb, hp, hg, hs, hv):
    """The master's columns plus the heuristic's new ones, and the 0/1 vector marking the
    heuristic's allocation among them."""
    pos = {k: i for i, k in enumerate(zip(cb.tolist(), cp.tolist(), cg.tolist(), cs.tolist()))}
    heur = np.zeros(len(cb) + len(hb))
    extra = []
    for i, k in enumerate(zip(hb.tolist(), hp.tolist(), hg.tolist(), hs.tolist())):
        if k in pos:
            heur[pos[k]] = 1.0
        else:
            heur[len(cb) + len(extra)] = 1.0
            extra.append(i)
    ex = np.array(extra, dtype=np.int64)
    out = np.r_[cb, hb[ex]], np.r_[cp, hp[ex]], np.r_[cg, hg[ex]], np.r_[cs, hs[ex]], np.r_[cv, hv[ex]]
    return (*out, heur[: len(out[0])])


class _OutOfTime(Exception):
    pass


def _lbfgs_bound(opts: Options, idx: np.ndarray, supply: Supply, mu_start: np.ndarray, floor: np.ndarray,
                 deadline: float) -> tuple[float, np.ndarray | None, int, float]:
    """min D(mu) over mu >= floor by L-BFGS-B until `deadline`: (best D, its mu, evaluations,
    seconds of the last evaluation). Without scipy: (inf, None, 0, 0.0)."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        return np.inf, None, 0, 0.0
    shape = mu_start.shape
    best: list = [np.inf, None, 0, 0.0]

    def fg(z: np.ndarray):
        if time.perf_counter() + 1.5 * best[3] > deadline:
            raise _OutOfTime
        te = time.perf_counter()
        m = np.maximum(z.reshape(shape), floor)
        val, br, sold = dual_value(m, opts, idx, supply)
        best[2] += 1
        best[3] = time.perf_counter() - te
        if val < best[0]:
            best[0], best[1] = val, m.copy()
        return val, (sold - br.demand_chips).reshape(-1)

    bounds = list(zip(floor.reshape(-1).tolist(), [None] * floor.size))
    try:
        minimize(fg, np.maximum(mu_start, floor).reshape(-1), jac=True, method="L-BFGS-B", bounds=bounds,
                 options={"maxiter": 10_000, "maxfun": 10_000, "maxcor": 20, "ftol": 0.0, "gtol": 0.0})
    except _OutOfTime:
        pass
    log.debug(f"L-BFGS-B: {best[2]} evaluations, bound {best[0]:,.0f}")
    return best[0], best[1], best[2], best[3]


def solve_large(scenario: Scenario, valuer: Valuer, time_limit_s: float | None = None, mip_gap: float = 1e-3, *,
                max_rounds: int = 30, bound_tol: float = 1e-4, bound_share: float = 0.2, smoothing: float = 0.5,
                polyak_until: float = 0.78, seed_greedy: bool = True, use_lbfgs: bool = True, reprice_master: bool = False,
                columns_per_round: int = 1, options_per_bid: int = 2, starts_per_option: int = 2,
                threads: int | None = None) -> LargeOutcome | None:
    """Clear `scenario` by column generation + restricted master MILP; None when no bid has
    a feasible option.

    Rounds: solve the master LP on the current columns (HiGHS), take its capacity/reserve
    duals as Lagrange multipliers, evaluate D over every option (a valid upper bound) and add
    each bid's best option (with its best start) when the master lacks it. Stops when nothing
    is added (the LP bound of the full problem is reached), when the bound and the master LP
    agree within `bound_tol`, after `max_rounds`, or once `bound_share` of the time limit is
    spent (the bound is valid at every round, only weaker). Then HiGHS solves the master as
    a MILP, warm-started from greedy rounding of the master LP solution."""
    t0 = time.perf_counter()
    opts = enumerate_options(scenario, valuer)
    t_opts = time.perf_counter() - t0
    if opts.n == 0:
        return None
    f = scenario.reserve.fraction
    supply = Supply.of(scenario)

    t1 = time.perf_counter()
    all_idx = np.arange(opts.n)
    mu0 = supply.marginal_cost()
    cb, cp, cg, cs, cv = master_candidates(opts, mu0, all_idx, f, options_per_bid, starts_per_option)
    if seed_greedy:
        # the capacity-profile greedy's allocation as seed columns: the master LP starts at
        # least at a feasible allocation's welfare, so its first duals are prices of a
        # congested market rather than of an empty one
        gb, gp, gg, gs, gv = capacity_greedy(opts, supply, mu0, f)
        cb, cp, cg, cs, cv, _ = _join(cb, cp, cg, cs, cv, gb, gp, gg, gs, gv)
    keyset = set(zip(cb.tolist(), cp.tolist(), cg.tolist(), cs.tolist()))
    ub, lp_val, rounds, t_lp = np.inf, None, 0, 0.0
    fixed_rows = {"rows_for": supply.available, "bid_rows_for": np.unique(opts.bid)}
    model = model_from_candidates(scenario, cb, cp, cg, cs, cv, opts.reasons, **fixed_rows)
    lp = highs_backend.IncrementalLp(model, opts.bid_len)
    n0, n_other = model.n_x, model.n_cols - model.n_x  # LP columns: x0, y/r, then added x
    x_lp = None
    center = None  # (mu, mu_reserve) of the best bound so far
    last_lp_s = 0.0
    for rounds in range(1, max_rounds + 1):
        tl = time.perf_counter()
        sol = lp.solve()
        t_lp += time.perf_counter() - tl
        if sol is None:
            break
        lp_val = sol[0]
        x_lp = np.r_[sol[2][:n0], sol[2][n0 + n_other:]]
        mu_lp, mur_lp = _duals_to_prices(model, sol[1], mu0)
        if center is None:
            mu, mu_r = mu_lp, mur_lp
        else:  # Wentges (1997) smoothing: price at a point between the best and the LP duals
            mu, mu_r = smoothing * center[0] + (1 - smoothing) * mu_lp, smoothing * center[1] + (1 - smoothing) * mur_lp
        mu = np.maximum(mu, mu0)  # dual_value evaluates D there (never above D(mu))
        mu_r = mu
        val, br, _ = dual_value(mu, opts, all_idx, supply, mu_r)
        if val < ub:
            ub, center = val, (mu, mu_r)
        log.debug(f"round {rounds}: cols {len(cb)} lp {lp_val:,.0f} D {val:,.0f} lp {time.perf_counter() - tl:.2f} s")
        if columns_per_round > 1:
            opt, st = priced_columns(mu + f * np.clip(mu_r, 0.0, mu), opts, columns_per_round)
        else:
            opt, st = br.option, br.start
        new = [(b, p, g, s, v) for b, p, g, s, v in zip(opts.bid[opt].tolist(), opts.pool[opt].tolist(),
                                                       opts.chips[opt].tolist(), st.tolist(), opts.value_usd[opt].tolist())
               if (b, p, g, s) not in keyset]
        # stop when the next round (LP times grow: assume 1.5x the last) would overrun the share
        last = last_lp_s = time.perf_counter() - tl
        out_of_time = time_limit_s is not None and time.perf_counter() - t0 + 1.5 * last > bound_share * time_limit_s
        if ub - lp_val <= bound_tol * max(abs(ub), 1.0) or out_of_time:
            break
        if not new:
            if center is not None and smoothing > 0:  # mis-pricing: price at the LP duals once
                center = None
                continue
            break
        keyset.update(k[:4] for k in new)
        add = np.array(new, dtype=float)
        nb, np_, ng, ns = (add[:, i].astype(np.int64) for i in range(4))
        lp.add_columns(nb, np_, ng, ns, add[:, 4])
        cb, cp, cg, cs = np.r_[cb, nb], np.r_[cp, np_], np.r_[cg, ng], np.r_[cs, ns]
        cv = np.r_[cv, add[:, 4]]
    t_bound = time.perf_counter() - t1

    # primal heuristic over every option (not only the master's columns): greedy on a
    # time-indexed capacity profile at the best bound's prices; its columns join the master
    t2 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + 0.88 * time_limit_s
    mu_best = center[0] if center is not None else mu0
    hb, hp, hg, hs, hv = capacity_greedy(opts, supply, mu_best, f, deadline=deadline)
    n_master = len(cb)
    cb, cp, cg, cs, cv, heur = _join(cb, cp, cg, cs, cv, hb, hp, hg, hs, hv)
    model = model_from_candidates(scenario, cb, cp, cg, cs, cv, opts.reasons)
    t_heur = time.perf_counter() - t2

    t3 = time.perf_counter()
    x_guide = None
    if x_lp is not None and len(x_lp) == n_master:
        x_guide = np.r_[x_lp, np.zeros(model.n_x - n_master)]
    start = greedy_solution(model, x_guide)
    start_cap = greedy_solution(model, heur)
    log.debug(f"LP-guided greedy welfare {model.welfare_usd(start):,.0f}; capacity-profile greedy "
              f"{model.welfare_usd(start_cap):,.0f} ({len(hb)} bids, {t_heur:.2f} s)")
    if model.welfare_usd(start_cap) > model.welfare_usd(start):
        start = start_cap
    # tighten the bound with Polyak subgradient steps on D (target: the primal's welfare),
    # from the best multipliers so far, while the time budget lasts: every D(mu) with mu >= 0
    # is a valid upper bound, so the bound only gets better
    t4 = time.perf_counter()
    polyak_steps = 0
    mu_best_p = None
    if time_limit_s is not None:
        # Polyak's target must not exceed min D; the restricted master's LP value is a lower
        # bound on it too (and usually closer than a feasible allocation's welfare)
        target = max(model.welfare_usd(start), float(lp_val or 0.0))
        mu_p = (center[0] if center is not None else mu0).copy()
        lam, stall, last_eval = 1.0, 0, 0.0
        if use_lbfgs:
            # quasi-Newton on the piecewise-linear D (L-BFGS-B with the bound mu >= cheapest
            # step cost; Lewis & Overton 2013 on BFGS for nonsmooth convex functions): every
            # evaluation is a valid bound, the best one is kept; Polyak steps follow from it
            # if time is left
            val_l, mu_l, n_l, last_eval = _lbfgs_bound(opts, all_idx, supply, mu_p, mu0, t0 + polyak_until * time_limit_s)
            polyak_steps += n_l
            if mu_l is not None and val_l < ub:
                ub, mu_best_p, mu_p = val_l, mu_l, mu_l.copy()
        while (ub - target > mip_gap * abs(ub)
               and polyak_steps < 500 and time.perf_counter() + 1.5 * last_eval < t0 + polyak_until * time_limit_s):
            te = time.perf_counter()
            mu_p = np.maximum(mu_p, mu0)
            val, br, sold = dual_value(mu_p, opts, all_idx, supply)
            last_eval = time.perf_counter() - te
            polyak_steps += 1
            if val < ub:
                ub, stall, mu_best_p = val, 0, mu_p.copy()
            else:
                stall += 1
                if stall >= 2:
                    lam, stall = lam / 2.0, 0
            g = sold - br.demand_chips
            nrm = float((g * g).sum())
            if nrm <= 0 or ub - target <= mip_gap * abs(ub) or lam < 1e-3:
                break
            mu_p = np.maximum(mu0, mu_p - lam * (val - target) / nrm * g)
        log.debug(f"Polyak: {polyak_steps} steps, bound {ub:,.0f} ({time.perf_counter() - t4:.2f} s)")
        if mu_best_p is not None and deadline is not None and time.perf_counter() < deadline:
            # the primal again at the improved prices; kept when it is better
            h2 = capacity_greedy(opts, supply, mu_best_p, f, deadline=deadline)
            if reprice_master:
                # a fresh master: per bid its best columns at the improved prices (those an
                # optimal allocation of the LP relaxation uses), the current allocation's
                # columns (so HiGHS starts no worse) and the new greedy's
                keep = start[: model.n_x] > 0.5
                nb, np_, ng, ns, nv = master_candidates(opts, mu_best_p, all_idx, f, options_per_bid, starts_per_option)
                nb, np_, ng, ns, nv, old = _join(nb, np_, ng, ns, nv, model.cand_bid[keep], model.cand_pool[keep],
                                                 model.cand_chips[keep], model.cand_start[keep], model.cand_value_usd[keep])
                cb2, cp2, cg2, cs2, cv2, heur2 = _join(nb, np_, ng, ns, nv, *h2)
            else:
                old = None
                cb2, cp2, cg2, cs2, cv2, heur2 = _join(cb, cp, cg, cs, cv, *h2)
            model2 = model_from_candidates(scenario, cb2, cp2, cg2, cs2, cv2, opts.reasons)
            start2 = greedy_solution(model2, heur2)
            if old is not None:
                start_old = greedy_solution(model2, np.r_[old, np.zeros(model2.n_x - len(old))])
                if model2.welfare_usd(start_old) > model2.welfare_usd(start2):
                    start2 = start_old
            log.debug(f"capacity-profile greedy at the Polyak prices: {model2.welfare_usd(start2):,.0f}")
            if model2.welfare_usd(start2) > model.welfare_usd(start):
                model, start = model2, start2
    t_polyak = time.perf_counter() - t4
    # leave ~15% of the limit: HiGHS overruns its limit by seconds on large masters, then prices
    left = None if time_limit_s is None else max(1.0, 0.85 * time_limit_s - (time.perf_counter() - t0))
    if left is not None and left < 2.0 * last_lp_s:
        # HiGHS would spend longer than `left` on the root LP alone (it overran its limit by
        # 10+ s on 85,000-binary masters): keep the LP-guided greedy allocation
        outcome = highs_backend.SolveOutcome("time_limit", start, float(model.col_cost @ start), None, 0.0,
                                             "no time left for the master MILP: greedy allocation")
    else:
        outcome = highs_backend.solve_milp(model, left, mip_gap, threads=threads, start=start)
    t_solve = time.perf_counter() - t3
    return LargeOutcome(model, outcome, float(ub),
                        {"valuation": opts.valuation_s, "options": t_opts - opts.valuation_s,
                         "bound": t_bound - t_lp, "master_lp": t_lp, "heuristic": t_heur, "polyak": t_polyak,
                         "solve": t_solve - t_polyak},
                        {"options": opts.n, "rounds": rounds, "polyak_steps": polyak_steps, "perf_calls": opts.perf_calls,
                         "master_binaries": model.n_x, "master_lp_usd": int(lp_val or 0)})

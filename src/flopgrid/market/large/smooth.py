"""A converging Lagrangian bound for large markets: the entropy-smoothed dual.

D(mu) (`lagrangian.dual_value`) is convex but piecewise linear: each bid's term is a max over
its (option, start) pairs, so L-BFGS on D itself stalls at the kinks (Lewis & Overton 2013).
Its entropy smoothing (Nesterov 2005, "Smooth minimization of non-smooth functions", Math.
Program. 103; the soft-max / log-sum-exp of Bertsekas 1982, ch. 5)

    F_tau(mu) = sum_b tau log(1 + sum_(o,s) exp((v_o - a_o . rho_(o,s)) / tau))
              + sum_(p,t,j) chips_j tau_s log(1 + exp((mu_pt - c_j) / tau_s))

(rho = (1 + reserve fraction) mu summed over the option's window, a_o its gang) is smooth and
convex, above D by at most tau log(1 + pairs of the bid) per bid and chips_j tau_s log 2 per
step, and its gradient is C(mu) - sum pi_(o,s) a_o [window covers t], with pi the soft-max
weights: a fractional assignment of the bids. L-BFGS (`lbfgs_minimise`, unconstrained: mu below
the cheapest step cost is clipped up before D is evaluated, which only tightens D) minimises
it while tau is annealed geometrically; a temperature is repeated until the exact D at the
stage's prices is no larger than F over the active set (the set then holds every option
that prices in).

Two things keep it cheap at 10,000 bids x 1,000 pools (3.3M options, 7.7M with every start):

- F is taken over an *active set* of options (those within a few tau of their bid's best
  reduced value at the last checkpoint, every start of each), a few hundred thousand pairs;
  the window sums come from one cumulative sum per pool and the gradient from difference
  arrays per pool (`np.bincount` at window starts and ends, then a cumulative sum);
- at each checkpoint (end of an annealing stage) the EXACT D is evaluated at the stage's mu
  over every option. That value is the bound reported (any mu >= 0 gives a valid upper bound
  on welfare, weak duality), so validity never depends on the smoothing or on the active
  set; the checkpoint also adds each bid's options that have become competitive, exactly as
  a column-generation pricing step would.

The active-set restriction of F is the smoothed dual of a restricted master LP: this is
column generation whose master is solved by smoothing instead of simplex, whose duals are
central rather than extreme points (the stabilisation that primal-dual column generation
gets from interior points; Gondzio, Gonzalez-Brevis & Munari 2013).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.columns import Options
from flopgrid.market.large.lagrangian import Supply, segment_argmax, window_cost

log = logging.getLogger(__name__)


@dataclass
class Pairs:
    """The active set: (option, start) pairs sorted by bid."""

    option: np.ndarray
    bid: np.ndarray
    start: np.ndarray
    lo_key: np.ndarray  # flat index p * (T + 1) + start into a (P, T + 1) array
    hi_key: np.ndarray  # p * (T + 1) + start + L
    a: np.ndarray  # (1 + f) x chips
    value_usd: np.ndarray
    seg_start: np.ndarray  # first position of each bid present
    seg_bid: np.ndarray  # its bid

    @classmethod
    def of(cls, opts: Options, option: np.ndarray, reserve_fraction: float, T: int) -> Pairs:
        option = np.unique(option)  # sorted option index = sorted by bid
        n_st = opts.start_hi[option] - opts.start_lo[option] + 1
        rep = np.repeat(np.arange(len(option)), n_st)
        o = option[rep]
        start = opts.start_lo[o] + (np.arange(len(rep)) - np.repeat(np.cumsum(n_st) - n_st, n_st))
        bid = opts.bid[o]
        lo_key = opts.pool[o] * (T + 1) + start
        seg = np.flatnonzero(np.r_[True, bid[1:] != bid[:-1]]) if len(bid) else np.zeros(0, np.int64)
        return cls(o, bid, start, lo_key, lo_key + opts.bid_len[bid], (1.0 + reserve_fraction) * opts.chips[o],
                   opts.value_usd[o], seg, bid[seg])


@dataclass
class SmoothBound:
    upper_bound_usd: float  # the smallest EXACT D evaluated (a valid bound)
    mu: np.ndarray  # (P, T) where it was evaluated
    smooth_mu: np.ndarray  # the last stage's minimiser of F (the prices of `pi`)
    pairs: Pairs | None  # the active set at the end
    pi: np.ndarray | None  # soft-max weights over `pairs` at `smooth_mu` (per bid sum <= 1)
    evaluations: int = 0  # of F (active set)
    checkpoints: int = 0  # exact D evaluations over every option
    tau_usd: float = 0.0  # the last temperature
    converged: bool = False  # the last temperature reached with the active set settled


class _Stop(Exception):
    pass


def lbfgs_minimise(fg, z: np.ndarray, max_evaluations: int, memory: int = 10) -> np.ndarray:
    """Unconstrained L-BFGS (Nocedal 1980; the two-loop recursion, Nocedal & Wright 2006,
    alg. 7.4) with Armijo backtracking: O(memory x n) per step where scipy's L-BFGS-B costs
    ~50 ms a step at n = 24,000 (and `np.dot`, not `@`: 15x faster on 1-d arrays here).
    Returns the best point evaluated."""
    f, g = fg(z)
    best_f, best_z = f, z
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    evals = 1
    step0 = 1.0 / max(float(np.abs(g).max()), 1e-12)
    while evals < max_evaluations:
        q = g.copy()
        alpha = []
        for s_, y_ in zip(reversed(S), reversed(Y)):
            a = float(np.dot(s_, q)) / float(np.dot(y_, s_))
            alpha.append(a)
            q -= a * y_
        if S:
            q *= float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1])
        else:
            q *= step0
        for (s_, y_), a in zip(zip(S, Y), reversed(alpha)):
            q += (a - float(np.dot(y_, q)) / float(np.dot(y_, s_))) * s_
        d = -q
        slope = float(np.dot(g, d))
        if slope >= 0:  # not a descent direction: restart from the gradient
            S, Y, d = [], [], -step0 * g
            slope = float(np.dot(g, d))
            if slope >= 0:
                break
        t = 1.0
        while evals < max_evaluations:
            zn = z + t * d
            fn, gn = fg(zn)
            evals += 1
            if fn < best_f:
                best_f, best_z = fn, zn
            if fn <= f + 1e-4 * t * slope:
                break
            t *= 0.3
        else:
            break
        if fn > f + 1e-4 * t * slope:
            break
        sv, yv = zn - z, gn - g
        if float(np.dot(sv, yv)) > 1e-12 * float(np.dot(sv, sv)):
            S.append(sv)
            Y.append(yv)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
        z, f, g = zn, fn, gn
        if float(np.abs(g).max()) < 1e-9:
            break
    return best_z


def _smoothed(mu: np.ndarray, pairs: Pairs, supply: Supply, tau: float, tau_s: float, need_pi: bool = False):
    """F_tau at mu (full (P, T) array) and its gradient (P, T); with `need_pi` also the weights."""
    P, T = mu.shape
    C = np.zeros((P, T + 1))
    np.cumsum(mu, axis=1, out=C[:, 1:])
    flat = C.reshape(-1)
    r = pairs.value_usd - pairs.a * (flat[pairs.hi_key] - flat[pairs.lo_key])
    m = np.maximum(np.maximum.reduceat(r, pairs.seg_start), 0.0) if len(r) else np.zeros(0)
    counts = np.diff(np.r_[pairs.seg_start, len(r)])
    z = np.exp(((r - np.repeat(m, counts)) / tau).astype(np.float32))
    s = np.exp(-m / tau) + np.add.reduceat(z, pairs.seg_start).astype(float) if len(r) else np.zeros(0)
    f_bid = float(m.sum() + tau * np.log(s).sum())
    pi = z / np.repeat(s, counts).astype(np.float32)
    w = (pi * pairs.a).astype(float)
    n = P * (T + 1)
    dem = (np.bincount(pairs.lo_key, w, n) - np.bincount(pairs.hi_key, w, n)).reshape(P, T + 1)
    demand = np.cumsum(dem, axis=1)[:, :T]
    x = (mu[:, :, None] - supply.cost_usd_per_chip_interval[:, None, :]) / tau_s  # (P, T, S)
    avail = supply.available[:, :, None] * supply.chips[:, None, :]
    f_sup = float((avail * tau_s * np.logaddexp(0.0, x)).sum())
    sold = (avail * 0.5 * (1.0 + np.tanh(0.5 * x))).sum(axis=2)  # chips x sigmoid(x)
    grad = (sold - demand) * supply.available  # demand carries the 1 + f of the reserve
    grad[np.abs(grad) < 1e-100] = 0.0  # no subnormals (from the sigmoid's tails): they slow every later step ~100x
    return f_bid + f_sup, grad, (pi.astype(float) if need_pi else None)


def exact_dual(mu: np.ndarray, opts: Options, supply: Supply) -> tuple[float, np.ndarray, np.ndarray]:
    """D(mu) exactly over every option (= `lagrangian.dual_value`), with each option's reduced
    value at its best start and each bid's best reduced value (0 when none is positive)."""
    mu = np.maximum(mu, supply.marginal_cost())
    cost, _ = window_cost((1.0 + supply.reserve_fraction) * mu, opts, np.arange(opts.n))
    reduced = opts.value_usd - opts.chips * cost
    best = np.zeros(len(opts.bid_len))
    if opts.n:
        mx, first = segment_argmax(reduced, opts.bid)
        best[opts.bid[first]] = np.maximum(mx, 0.0)
    sv, _ = supply.respond(mu)
    return float(best.sum() + sv), reduced, best


def _active(opts: Options, reduced: np.ndarray, best: np.ndarray, within_usd: float, per_bid_cap: int) -> np.ndarray:
    """Options whose reduced value is within `within_usd` of their bid's best (and above
    -within_usd): the ones the soft-max gives weight to; at most about `per_bid_cap` per bid
    (the threshold tightens for bids with more)."""
    gap = best[opts.bid] - reduced
    keep = (gap <= within_usd) & (reduced > -within_usd)
    sel = np.flatnonzero(keep)
    window = np.full(len(best), within_usd)
    for _ in range(6):  # crowded bids: halve their window (their best option always stays)
        counts = np.bincount(opts.bid[sel], minlength=len(best))
        crowded = counts > per_bid_cap
        if not crowded.any():
            break
        window[crowded] *= 0.5
        sel = sel[gap[sel] <= window[opts.bid[sel]]]
    return sel


def smoothed_bound(opts: Options, supply: Supply, mu_start: np.ndarray, deadline: float, *,
                   tau_share: float = 0.1, tau_decay: float = 0.5, min_tau_share: float = 1e-4,
                   stage_evaluations: int = 40, within_taus: float = 6.0, per_bid_cap: int = 16,
                   settle_share: float = 1e-4, max_repeats: int = 8, known_bound_usd: float = np.inf) -> SmoothBound:
    """min F_tau by L-BFGS-B over annealed tau from `mu_start`, with an exact D checkpoint per
    stage (module docstring), until `deadline` or the last temperature. tau starts at
    `tau_share` x the median of the bids' best reduced values at `mu_start`."""
    floor = supply.marginal_cost()
    P, T = floor.shape
    av = supply.available
    mu = np.maximum(mu_start, floor)
    d, reduced, best = exact_dual(mu, opts, supply)
    out = SmoothBound(min(d, known_bound_usd), mu.copy(), mu.copy(), None, None, checkpoints=1)
    if d < known_bound_usd:
        out.upper_bound_usd, out.mu = d, mu.copy()
    pos = best[best > 0]
    if len(pos) == 0:
        return out
    tau0 = tau_share * float(np.median(pos))
    tau, tau_min = tau0, min_tau_share * tau0
    a_med = float(np.median((1.0 + supply.reserve_fraction) * opts.chips))
    active = _active(opts, reduced, best, within_taus * tau, per_bid_cap)
    repeats = 0
    last = [0.0, 0.0]  # the last F evaluation's and checkpoint's seconds (with a margin)
    while time.perf_counter() < deadline:
        pairs = Pairs.of(opts, active, supply.reserve_fraction, T)
        tau_s = tau / a_med

        seen = [np.inf, mu[av]]  # the best point this stage evaluated

        def fg(z: np.ndarray, pairs=pairs, tau=tau, tau_s=tau_s, seen=seen):
            if time.perf_counter() + last[0] + last[1] > deadline:
                raise _Stop
            te = time.perf_counter()
            m = floor.copy()
            m[av] = z
            val, g, _ = _smoothed(m, pairs, supply, tau, tau_s)
            out.evaluations += 1
            last[0] = 1.2 * (time.perf_counter() - te)
            if val < seen[0]:
                seen[0], seen[1] = val, z
            return val, g[av]

        stopped = False
        try:
            z = lbfgs_minimise(fg, mu[av], stage_evaluations)
        except _Stop:
            z, stopped = seen[1], True
        mu = floor.copy()
        mu[av] = np.maximum(z, floor[av])  # mu below the cheapest step only loosens D (dual_value)
        out.smooth_mu, out.pairs, out.tau_usd = mu.copy(), pairs, tau
        if stopped and time.perf_counter() + last[1] > deadline:
            break
        tc = time.perf_counter()
        d, reduced, best = exact_dual(mu, opts, supply)
        last[1] = 1.2 * (time.perf_counter() - tc)
        out.checkpoints += 1
        if d < out.upper_bound_usd:
            out.upper_bound_usd, out.mu = d, mu.copy()
        log.debug("smoothed dual: tau %.3g, pairs %d, F evals %d, D %.0f (best %.0f)", tau, len(pairs.bid),
                  out.evaluations, d, out.upper_bound_usd)
        if stopped:
            break
        # F over the active set is >= D over it; the exact D above F means options outside
        # the set now price in: the set grows and the same temperature runs again
        f_here, _, _ = _smoothed(mu, pairs, supply, tau, tau_s)
        fits = d <= f_here + settle_share * abs(d)
        repeats = 0 if fits else repeats + 1
        if fits and tau <= tau_min:
            out.converged = True
            break
        if repeats > max_repeats and tau <= tau_min:  # a guard when there is no deadline
            break
        if fits or repeats > max_repeats:
            tau, repeats = max(tau * tau_decay, tau_min), 0
        active = np.union1d(active, _active(opts, reduced, best, within_taus * tau, per_bid_cap))
    if out.pairs is not None:
        _, _, out.pi = _smoothed(out.smooth_mu, out.pairs, supply, max(out.tau_usd, 1e-12),
                                 max(out.tau_usd, 1e-12) / a_med, need_pi=True)
    return out

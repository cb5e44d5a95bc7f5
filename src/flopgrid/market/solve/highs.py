"""HiGHS (highspy) solves of a `MarketModel`: the MILP and the fixed-integer LP.

The fixed-integer LP follows O'Neill, Sotkiewicz, Hobbs, Rothkopf & Stewart (2005),
"Efficient market-clearing prices in markets with nonconvexities" (EJOR 164): fix every
binary at its MILP value, re-solve the LP, and read prices from the duals of the capacity
rows.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

import numpy as np

from flopgrid.market.formulation.columns import Columns
from flopgrid.market.formulation.model import MarketModel


@contextlib.contextmanager
def _quiet_stdout():
    """HiGHS prints a banner on fd 1 when constructed; keep stdout clean for --json."""
    try:
        fd = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


def new_highs():
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class SolveOutcome:
    """What a solver returned. `status`: optimal | time_limit | no_solution | error."""

    status: str
    col_value: np.ndarray | None
    objective: float | None  # min -welfare
    gap: float | None
    seconds: float
    message: str = ""
    dual_bound: float | None = None  # HiGHS's proven lower bound on the objective (min -welfare)


def _lp(model: MarketModel, integer: bool, col_lower=None, col_upper=None):
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = model.n_rows
    lp.col_cost_ = model.col_cost
    lp.col_lower_ = model.col_lower if col_lower is None else col_lower
    lp.col_upper_ = model.col_upper if col_upper is None else col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.a_start
    lp.a_matrix_.index_ = model.a_index
    lp.a_matrix_.value_ = model.a_value
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in model.integrality]
    return lp


def solve_milp(model: MarketModel, time_limit_s: float | None = None, mip_gap: float = 1e-4,
               threads: int | None = None, start: np.ndarray | None = None) -> SolveOutcome:
    """Solve the clearing MILP with HiGHS (it only solves: what to do without an incumbent is
    the caller's decision, `flopgrid.market.clearing`). `start`: a feasible vector passed to
    HiGHS as its first incumbent. HiGHS 1.16 was seen returning the user's start as
    `col_value` while reporting the objective of a better solution it found in presolve (a
    brute-force test caught it): the objective returned is always recomputed from `col_value`."""
    import highspy

    t0 = time.perf_counter()
    h = new_highs()
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    st = h.passModel(_lp(model, integer=True))
    if st == highspy.HighsStatus.kError:
        return SolveOutcome("error", None, None, None, time.perf_counter() - t0, "HiGHS rejected the model")
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_sol else None
    secs = time.perf_counter() - t0
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        status = "optimal"
    elif ms in (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt):
        status = "time_limit" if has_sol else "no_solution"
        if not has_sol and start is not None:  # HiGHS kept none: the caller's start stands
            return SolveOutcome("time_limit", start, float(model.col_cost @ start), None, time.perf_counter() - t0,
                                "time limit before an incumbent: the start vector")
    elif ms == M.kModelEmpty:
        status, x = "optimal", np.zeros(0)
    else:
        return SolveOutcome("error", None, None, None, secs, f"HiGHS: {h.modelStatusToString(ms)}")
    raw_gap = float(info.mip_gap)
    gap = max(0.0, raw_gap) if x is not None and np.isfinite(raw_gap) and model.n_x else None
    if status == "optimal" and gap is None:
        gap = 0.0
    obj = float(model.col_cost @ x) if x is not None else None  # of the vector returned, not HiGHS's report
    dual = float(info.mip_dual_bound) if ms != M.kModelEmpty else 0.0
    dual_bound = dual if np.isfinite(dual) and status in ("optimal", "time_limit") else None
    return SolveOutcome(status, x, obj, gap, secs, h.modelStatusToString(ms), dual_bound)


def fixed_lp_duals(model: MarketModel, col_value: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Row duals and primal column values of the LP with every binary fixed at `col_value`
    (O'Neill et al. 2005). None when HiGHS fails."""
    import highspy

    lo = model.col_lower.copy()
    up = model.col_upper.copy()
    xfix = np.round(col_value[: model.n_x])
    lo[: model.n_x] = xfix
    up[: model.n_x] = xfix
    h = new_highs()
    h.setOptionValue("presolve", "off")  # keep the duals of every capacity row
    if h.passModel(_lp(model, integer=False, col_lower=lo, col_upper=up)) == highspy.HighsStatus.kError:
        return None
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    return np.asarray(sol.row_dual, dtype=float), np.asarray(sol.col_value, dtype=float)


def solve_lp_relaxation(model: MarketModel, time_limit_s: float | None = None):
    """The LP relaxation of `model` (binaries in [0, 1]): (welfare_usd, col_value, row_dual),
    or None when HiGHS fails. Used by column generation (`flopgrid.market.large`)."""
    import highspy

    h = new_highs()
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if h.passModel(_lp(model, integer=False)) == highspy.HighsStatus.kError:
        return None
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=float)
    return model.welfare_usd(x), x, np.asarray(sol.row_dual, dtype=float)


class IncrementalLp:
    """The LP relaxation of a restricted master whose rows are all present from the start
    (`model_from_candidates(rows_for=..., bid_rows_for=...)`); `add_columns` appends
    candidate columns and `solve` re-optimises from the previous basis (HiGHS simplex warm
    start), which keeps column generation rounds cheap."""

    def __init__(self, model: MarketModel, bid_len: np.ndarray):
        self.model = model
        self.bid_len = bid_len
        self.h = new_highs()
        self.h.passModel(_lp(model, integer=False))

    def add_columns(self, cols: Columns) -> None:
        """Append candidate columns; their rows must exist."""
        m, f = self.model, self.model.reserve_fraction
        starts, index, value = [], [], []
        for b, p, g, s in cols.keys():
            starts.append(len(index))
            for t in range(s, s + int(self.bid_len[b])):
                index.append(m.cap_rows[(p, t)])
                value.append(-float(g))
                if f > 0:
                    index.append(m.res_rows[(p, t)])
                    value.append(-f * g)
            index.append(m.bid_rows[b])
            value.append(1.0)
        n = len(cols)
        self.h.addCols(n, -cols.value_usd, np.zeros(n), np.ones(n), len(index),
                       np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32), np.array(value))

    def _lp_index(self, cand: np.ndarray) -> np.ndarray:
        """LP column of each candidate (the model's own first, then those added, after its y and r columns)."""
        cand = np.asarray(cand, dtype=np.int64)
        return np.where(cand < self.model.n_x, cand, cand - self.model.n_x + self.model.n_cols)

    def candidate_values(self, col_value: np.ndarray) -> np.ndarray:
        """The x value of every candidate, in candidate order (the model's, then those added)."""
        return np.r_[col_value[: self.model.n_x], col_value[self.model.n_cols:]]

    def set_candidate_bounds(self, cand: np.ndarray, lower: float, upper: float) -> None:
        """Bound the x of candidates `cand` to [lower, upper] (1, 1 fixes them in; 0, 1 frees them)."""
        idx = self._lp_index(cand).astype(np.int32)
        n = len(idx)
        if n:
            self.h.changeColsBounds(n, idx, np.full(n, float(lower)), np.full(n, float(upper)))

    def solve(self) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(LP welfare USD, row duals, column values in the order added), or None when HiGHS does not reach optimality."""
        import highspy

        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        return (-float(self.h.getInfo().objective_function_value), np.asarray(sol.row_dual, dtype=float),
                np.asarray(sol.col_value, dtype=float))

"""Build the clearing MILP from the order book (DESIGN.md "The market", step 2).

Variables (minimise -welfare):
- x_k in {0, 1}: candidate k = (bid, pool, gang chips, start) is cleared; cost -value_k (USD);
- y_(p,t,j) in [0, chips_j]: chips sold from offer step j of pool p in interval t; cost
  price_j x interval_hours (USD); steps are sorted by price, so the LP takes the cheapest
  steps first;
- r_(p,t) >= 0: hot-spare chips held in reserve (only when reserve.fraction > 0).

Rows:
- capacity (p, t):  sum_j y - sum_k chips_k x_k [k covers t] - r >= 0   (dual = price)
- reserve  (p, t):  r - fraction x sum_k chips_k x_k [k covers t] >= 0   (dual = reserve price)
- bid b:            sum_k x_k <= 1                                      (each bid at most once)

Only (pool, interval) pairs some candidate covers get rows: elsewhere nothing can trade.
Candidates whose value cannot beat the pool's cheapest step (value <= (1 + fraction) x chips x
hours x cheapest price) are dropped: such a column can only lower welfare, so the optimum is
unchanged (an exact reduction). The result is a plain sparse model (CSC) that HiGHS (highspy)
and scipy.optimize.milp both accept.

Rows are built per family (capacity, reserve, bid), and the model maps each family's rows
back to names (`MarketModel.row_family`, `MarketModel.family_duals`), as PyPSA's linopy
models do, so a dual is read as "the capacity price of pool-0003 in interval 7", never as
row 1234.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flopgrid.market.formulation.columns import Columns, Options, enumerate_options
from flopgrid.market.orders import Scenario
from flopgrid.market.valuation import Valuer


@dataclass
class MarketModel:
    """The MILP in column-wise sparse form plus the maps back to orders."""

    n_x: int
    columns: Columns  # the candidate (binary) columns, in order
    cand_len: np.ndarray  # per candidate: intervals
    cap_rows: dict[tuple[int, int], int]  # (pool, interval) -> row
    res_rows: dict[tuple[int, int], int]
    y_cols: list[tuple[int, int, int]]  # (pool, interval, step) per y column, after the x columns
    r_cols: list[tuple[int, int]]
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    integrality: np.ndarray  # 1 for x columns, 0 otherwise
    interval_hours: float
    reserve_fraction: float
    no_candidate_reason: dict[int, str] = field(default_factory=dict)  # bid index -> why it has no column
    bid_rows: dict[int, int] = field(default_factory=dict)  # bid index -> its "at most once" row
    pool_ids: tuple[str, ...] = ()
    bid_ids: tuple[str, ...] = ()

    @property
    def cand_bid(self) -> np.ndarray:
        return self.columns.bid

    @property
    def cand_pool(self) -> np.ndarray:
        return self.columns.pool

    @property
    def cand_chips(self) -> np.ndarray:
        return self.columns.chips

    @property
    def cand_start(self) -> np.ndarray:
        return self.columns.start

    @property
    def cand_value_usd(self) -> np.ndarray:
        return self.columns.value_usd

    @property
    def n_cols(self) -> int:
        return len(self.col_cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    def welfare_usd(self, col_value: np.ndarray) -> float:
        return float(-self.col_cost @ col_value)

    ROW_FAMILIES = ("capacity", "reserve", "bid")

    def row_family(self, family: str) -> dict[tuple, int]:
        """Named rows of one family: capacity/reserve -> {(pool id, interval): row},
        bid -> {(bid id,): row}."""
        if family == "capacity":
            return {(self.pool_ids[p], t): r for (p, t), r in self.cap_rows.items()}
        if family == "reserve":
            return {(self.pool_ids[p], t): r for (p, t), r in self.res_rows.items()}
        if family == "bid":
            return {(self.bid_ids[b],): r for b, r in self.bid_rows.items()}
        raise ValueError(f"row family must be one of {', '.join(self.ROW_FAMILIES)}, got {family!r}")

    def family_duals(self, row_dual: np.ndarray, family: str) -> dict[tuple, float]:
        """`row_dual` (HiGHS's, of this model) read per named row of `family`, as welfare
        multipliers (>= 0): capacity/reserve in USD per chip per interval, bid in USD."""
        sign = -1.0 if family == "bid" else 1.0  # a <= row of a minimisation reports <= 0
        return {k: max(0.0, sign * float(row_dual[r])) for k, r in self.row_family(family).items()}


def build_model(scenario: Scenario, valuer: Valuer | None = None, max_pools_per_bid: int | None = None,
                matrix: bool = True) -> MarketModel:
    """The exact clearing MILP of `scenario` (see the module docstring): every start of every
    feasible option (`flopgrid.market.formulation.columns.enumerate_options`).

    `max_pools_per_bid` (default None = exact) keeps, per (bid, gang), only the pools with the
    largest margin over their cheapest offer: a heuristic for very large markets that may
    lose welfare."""
    valuer = valuer or Valuer(scenario.horizon.interval_hours)
    opts = enumerate_options(scenario, valuer)
    idx = None if max_pools_per_bid is None else best_pools_per_gang(scenario, opts, max_pools_per_bid)
    return model_from_candidates(scenario, opts.expand(idx), opts.reasons, matrix=matrix)


def best_pools_per_gang(scenario: Scenario, opts: Options, k: int) -> np.ndarray:
    """Option indices: per (bid, gang) the k pools with the largest margin per interval
    over (1 + reserve) x the pool's cheapest step cost."""
    h, f = scenario.horizon.interval_hours, scenario.reserve.fraction
    cheapest = np.array([min(s.price_per_chip_hour for s in p.offer) for p in scenario.pools])
    margin = opts.value_usd / opts.bid_len[opts.bid] - (1.0 + f) * opts.chips * h * cheapest[opts.pool]
    order = np.lexsort((-margin, opts.chips, opts.bid))
    key = opts.bid[order] * (int(opts.chips.max(initial=0)) + 1) + opts.chips[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    rank = np.arange(len(key)) - np.repeat(first, np.diff(np.r_[first, len(key)]))
    return np.sort(order[rank < k])


def with_matrix(scenario: Scenario, model: MarketModel) -> MarketModel:
    """`model` with its constraint matrix (a no-op when it has one)."""
    if len(model.a_value) or model.n_cols == 0:
        return model
    return model_from_candidates(scenario, model.columns, model.no_candidate_reason)


def model_from_candidates(scenario: Scenario, cols: Columns, reasons: dict[int, str], *,
                          rows_for: np.ndarray | None = None, bid_rows_for: np.ndarray | None = None,
                          matrix: bool = True) -> MarketModel:
    """The clearing MILP over the candidate columns `cols`: the exact model when they are all
    the feasible ones, a restricted model (`flopgrid.market.large`: the column-generation
    master, a neighbourhood's sub-MIP, the final allocation) when they are a subset.

    `rows_for` ((pools, intervals) bool) and `bid_rows_for` (bid indices) force rows that no
    candidate needs yet, so that column generation can add columns to a fixed row set."""
    h = scenario.horizon.interval_hours
    f = scenario.reserve.fraction
    n_x = len(cols)
    cb, cp, cg, cs, cv = cols.bid, cols.pool, cols.chips, cols.start, cols.value_usd
    bid_len = np.array([b.intervals for b in scenario.bids], dtype=np.int64)
    cl = bid_len[cb] if n_x else np.zeros(0, np.int64)

    # (pool, interval) pairs covered by some candidate -> capacity (and reserve) rows
    T = scenario.horizon.intervals
    P = len(scenario.pools)
    cover = np.zeros((max(P, 1), T + 1), dtype=np.int64)
    if n_x:
        np.add.at(cover, (cp, cs), 1)
        np.add.at(cover, (cp, cs + cl), -1)
    need = np.cumsum(cover, axis=1)[:, :T] > 0
    if rows_for is not None:
        need = need | rows_for
    pp, tt = np.nonzero(need)
    pt = list(zip(pp.tolist(), tt.tolist()))  # sorted by (pool, interval)
    cap_rows = {k: i for i, k in enumerate(pt)}
    res_rows = {k: len(pt) + i for i, k in enumerate(pt)} if f > 0 else {}
    n_pt_rows = len(pt) * (2 if f > 0 else 1)
    multi = [b for b, n in zip(*np.unique(cb, return_counts=True)) if n > 1] if n_x else []
    if bid_rows_for is not None:
        multi = sorted({int(b) for b in multi} | {int(b) for b in bid_rows_for})
    bid_rows = {int(b): n_pt_rows + i for i, b in enumerate(multi)}

    # y (offer steps) and r (reserve) columns
    y_cols: list[tuple[int, int, int]] = []
    y_cost: list[float] = []
    y_ub: list[float] = []
    for (p, t) in pt:
        for j, step in enumerate(scenario.pools[p].offer):
            y_cols.append((p, t, j))
            y_cost.append(step.price_per_chip_hour * h)
            y_ub.append(float(step.chips))
    n_y = len(y_cols)
    r_cols = list(pt) if f > 0 else []
    n_r = len(r_cols)
    n_cols = n_x + n_y + n_r
    if matrix:
        a_start, er, ev = _matrix(scenario, P, T, n_x, cb, cp, cg, cs, cl, pt, cap_rows, res_rows, bid_rows, y_cols,
                                  r_cols, f)
    else:  # index maps only (the uncongested fast path needs no constraint matrix)
        a_start, er, ev = np.zeros(n_cols + 1, np.int64), np.zeros(0, np.int64), np.zeros(0)

    col_cost = np.concatenate([-cv, np.array(y_cost), np.zeros(n_r)])
    col_lower = np.zeros(n_cols)
    col_upper = np.concatenate([np.ones(n_x), np.array(y_ub), np.full(n_r, np.inf)])
    row_lower = np.concatenate([np.zeros(n_pt_rows), np.full(len(bid_rows), -np.inf)])
    row_upper = np.concatenate([np.full(n_pt_rows, np.inf), np.ones(len(bid_rows))])
    integrality = np.concatenate([np.ones(n_x, np.int8), np.zeros(n_y + n_r, np.int8)])
    return MarketModel(
        n_x=n_x, columns=cols, cand_len=cl,
        cap_rows=cap_rows, res_rows=res_rows, y_cols=y_cols, r_cols=r_cols, col_cost=col_cost,
        col_lower=col_lower, col_upper=col_upper, row_lower=row_lower, row_upper=row_upper,
        a_start=a_start, a_index=er, a_value=ev, integrality=integrality, interval_hours=h,
        reserve_fraction=f, no_candidate_reason=reasons, bid_rows=bid_rows,
        pool_ids=tuple(p.id for p in scenario.pools), bid_ids=tuple(b.id for b in scenario.bids),
    )


def _matrix(scenario, P, T, n_x, cb, cp, cg, cs, cl, pt, cap_rows, res_rows, bid_rows, y_cols, r_cols, f):
    """The constraint matrix (CSC: column starts, row indices, values) of the clearing MILP."""
    # x columns, vectorised: one capacity (and reserve) entry per covered interval + bid row
    cap_idx = np.full((max(P, 1), max(T, 1)), -1, dtype=np.int64)
    for (p, t), r in cap_rows.items():
        cap_idx[p, t] = r
    lens = cl
    total = int(lens.sum())
    col = np.repeat(np.arange(n_x), lens)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]) if n_x else np.zeros(0, np.int64)
    t_of = cs[col] + (np.arange(total) - offs[col]) if n_x else np.zeros(0, np.int64)
    rows_c = cap_idx[cp[col], t_of] if n_x else np.zeros(0, np.int64)
    ent_col = [col]
    ent_row = [rows_c]
    ent_val = [-cg[col].astype(float)]
    if f > 0:
        ent_col.append(col)
        ent_row.append(rows_c + len(pt))
        ent_val.append(-f * cg[col].astype(float))
    if bid_rows:
        row_of_bid = np.full(max(int(cb.max()), max(bid_rows)) + 1, -1, dtype=np.int64)  # rows for bids without columns too
        for b, r in bid_rows.items():
            row_of_bid[b] = r
        has = row_of_bid[cb] >= 0
        ent_col.append(np.nonzero(has)[0])
        ent_row.append(row_of_bid[cb[has]])
        ent_val.append(np.ones(int(has.sum())))

    n_y = len(y_cols)
    y_idx = n_x + np.arange(n_y)
    ent_col.append(y_idx)
    ent_row.append(np.array([cap_rows[(p, t)] for p, t, _ in y_cols], dtype=np.int64))
    ent_val.append(np.ones(n_y))
    n_r = len(r_cols)
    if n_r:
        r_idx = n_x + n_y + np.arange(n_r)
        ent_col += [r_idx, r_idx]
        ent_row += [np.array([cap_rows[k] for k in r_cols], dtype=np.int64), np.array([res_rows[k] for k in r_cols], dtype=np.int64)]
        ent_val += [-np.ones(n_r), np.ones(n_r)]

    n_cols = n_x + n_y + n_r
    ec = np.concatenate(ent_col).astype(np.int64) if ent_col else np.zeros(0, np.int64)
    er = np.concatenate(ent_row).astype(np.int64)
    ev = np.concatenate(ent_val).astype(float)
    order = np.lexsort((er, ec))
    ec, er, ev = ec[order], er[order], ev[order]
    a_start = np.searchsorted(ec, np.arange(n_cols + 1)).astype(np.int64)
    return a_start, er, ev

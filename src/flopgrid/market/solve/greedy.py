"""Greedy feasible allocation: a warm start for HiGHS and the safe fallback when the time
limit hits before the solver has an incumbent.

Candidates are taken in decreasing value per chip-interval; one is accepted when its bid is
still open, every covered (pool, interval) has room for chips x (1 + reserve fraction), and
its value beats the incremental offer cost (cheapest steps first). The offer-step and
reserve columns are then filled to match, so the vector is feasible for the MILP.
"""

from __future__ import annotations

import numpy as np

from flopgrid.market.formulation.model import MarketModel


def _step_cost(prices: list[float], sizes: list[float], q: float) -> float:
    cost = 0.0
    for p, s in zip(prices, sizes):
        take = min(q, s)
        cost += take * p
        q -= take
        if q <= 0:
            break
    return cost if q <= 1e-9 else float("inf")


def greedy_solution(model: MarketModel, priority: np.ndarray | None = None) -> np.ndarray:
    """Greedy feasible vector. `priority` (per candidate, higher first; ties by value per
    chip-interval) replaces the default order: the large-market path passes the master LP's
    solution, i.e. LP-guided rounding."""
    f = model.reserve_fraction
    steps: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
    for i, (p, t, _j) in enumerate(model.y_cols):
        entry = steps.setdefault((p, t), ([], []))
        entry[0].append(float(model.col_cost[model.n_x + i]))
        entry[1].append(float(model.col_upper[model.n_x + i]))
    demand = {k: 0.0 for k in steps}
    x = np.zeros(model.n_cols)
    done: set[int] = set()
    size = model.cand_chips * model.cand_len
    density = model.cand_value_usd / np.maximum(size, 1)
    order = np.argsort(-density, kind="stable") if priority is None else np.lexsort((-density, -priority))
    for k in order.tolist():
        b = int(model.cand_bid[k])
        if b in done:
            continue
        p, s, L, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_len[k]), int(model.cand_chips[k])
        extra = 0.0
        for t in range(s, s + L):
            pr, sz = steps[(p, t)]
            d = demand[(p, t)]
            extra += _step_cost(pr, sz, (1 + f) * (d + g)) - _step_cost(pr, sz, (1 + f) * d)
            if extra == float("inf"):
                break
        if extra < model.cand_value_usd[k]:
            x[k] = 1.0
            done.add(b)
            for t in range(s, s + L):
                demand[(p, t)] += g
    return with_supply(model, x)


def with_supply(model: MarketModel, x: np.ndarray) -> np.ndarray:
    """`x` with its offer-step (y) and reserve (r) columns set to cover its binaries'
    demand, cheapest steps first: a feasible vector of the MILP when the binaries fit."""
    x = x.copy()
    f = model.reserve_fraction
    xb = np.round(x[: model.n_x]) > 0.5
    demand: dict[tuple[int, int], float] = {}
    for k in np.flatnonzero(xb).tolist():
        p, s, g = int(model.cand_pool[k]), int(model.cand_start[k]), int(model.cand_chips[k])
        for t in range(s, s + int(model.cand_len[k])):
            demand[(p, t)] = demand.get((p, t), 0.0) + g
    need = {k: (1 + f) * v for k, v in demand.items()}
    for i, (p, t, _j) in enumerate(model.y_cols):  # steps of a (pool, interval) are in price order
        c = model.n_x + i
        take = min(need.get((p, t), 0.0), float(model.col_upper[c]))
        x[c] = take
        if (p, t) in need:
            need[(p, t)] -= take
    if model.r_cols:
        base = model.n_x + len(model.y_cols)
        for i, key in enumerate(model.r_cols):
            x[base + i] = f * demand.get(key, 0.0)
    return x

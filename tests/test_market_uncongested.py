"""The uncongested fast path of `clear()` (flopgrid.market.solve.uncongested) against the exact
MILP: same welfare, a valid allocation recomputed from the raw orders, prices equal to the
fixed-integer LP duals HiGHS computes for the same allocation, and congested markets still
going to the MILP."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopgrid.market import clear, parse_scenario
from flopgrid.market.formulation.model import build_model
from flopgrid.market.solve.highs import fixed_lp_duals
from flopgrid.market.solve.uncongested import solve_uncongested
from flopgrid.market.valuation import Valuer

HARDWARE = ("h100-sxm", "a100-80gb")


@st.composite
def scenarios(draw):
    T = draw(st.integers(1, 5))
    pools = []
    for i in range(draw(st.integers(1, 4))):
        chips = draw(st.sampled_from([8, 16, 32, 64, 128, 256]))
        n = draw(st.integers(1, 3))
        cuts = sorted(draw(st.lists(st.integers(1, chips), min_size=n, max_size=n, unique=True)))
        if cuts[-1] != chips and draw(st.booleans()):
            cuts[-1] = chips
        sizes = [cuts[0]] + [b - a for a, b in pairwise(cuts)]
        prices = sorted(draw(st.lists(st.sampled_from([0.0, 0.9, 1.0, 1.7, 2.0, 3.1]), min_size=n, max_size=n)))
        pool = {"id": f"p{i}", "provider": f"prov{i % 2}", "hardware": draw(st.sampled_from(HARDWARE)),
                "chips": chips, "island_chips": draw(st.sampled_from([c for c in (4, 8, 16, 32, 64, 256) if c <= chips])),
                "region": "us", "offer": [{"chips": c, "price_per_chip_hour": p} for c, p in zip(sizes, prices)]}
        if draw(st.booleans()):
            first = draw(st.integers(0, T - 1))
            pool["available"] = [first, draw(st.integers(first, T - 1))]
        pools.append(pool)
    bids = []
    for i in range(draw(st.integers(1, 8))):
        L = draw(st.integers(1, T))
        es = draw(st.integers(0, T - L))
        bid = {"id": f"b{i}", "buyer": f"lab{i % 3}", "model": "llama3-8b",
               "chips": draw(st.lists(st.sampled_from([1, 2, 4, 8, 16, 32]), min_size=1, max_size=3, unique=True)),
               "intervals": L, "window": [es, draw(st.integers(es + L, T))]}
        if draw(st.integers(0, 4)) == 0:
            bid["max_price_per_eflop"] = draw(st.sampled_from([0.5, 1.5, 4.0]))
        else:
            bid["max_price_per_chip_hour"] = draw(st.sampled_from([0.5, 1.3, 2.2, 2.9, 4.5, 7.0]))
        if draw(st.booleans()):
            bid["hardware"] = [draw(st.sampled_from(HARDWARE))]
        bids.append(bid)
    return {"horizon": {"intervals": T, "interval_minutes": draw(st.sampled_from([60, 30]))}, "pools": pools,
            "bids": bids, "reserve": {"fraction": draw(st.sampled_from([0.0, 0.0, 0.25]))}}


def check_valid(sc: dict, r) -> None:
    """Allocation validity recomputed from the raw orders."""
    pools = {p["id"]: p for p in sc["pools"]}
    bids = {b["id"]: b for b in sc["bids"]}
    T, f = sc["horizon"]["intervals"], sc["reserve"]["fraction"]
    used: dict[tuple[str, int], int] = {}
    assert len({a.bid for a in r.allocations}) == len(r.allocations)
    for a in r.allocations:
        b, p = bids[a.bid], pools[a.pool]
        first, last = p.get("available", [0, T - 1])
        assert b["window"][0] <= a.start and a.start + a.intervals <= b["window"][1] and a.intervals == b["intervals"]
        assert first <= a.start and a.start + a.intervals - 1 <= last
        assert a.chips in b["chips"] and a.chips <= p["island_chips"] and p["hardware"] in b.get("hardware", HARDWARE)
        for t in range(a.start, a.start + a.intervals):
            used[(a.pool, t)] = used.get((a.pool, t), 0) + a.chips
    for (pid, _t), u in used.items():
        assert (1 + f) * u <= sum(s["chips"] for s in pools[pid]["offer"]) + 1e-9


def alloc_key(r):
    return sorted((a.bid, a.pool, a.chips, a.start) for a in r.allocations)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_fast_path_matches_the_exact_milp(sc):
    scenario = parse_scenario(sc)
    fast = clear(scenario, mip_gap=1e-9)
    exact = clear(scenario, mip_gap=1e-9, method="exact")
    assert exact.method == "exact"
    assert fast.welfare_usd == pytest.approx(exact.welfare_usd, rel=1e-9, abs=1e-7)
    check_valid(sc, fast)
    if fast.method != "uncongested":
        return
    assert fast.status == "optimal" and fast.gap == 0.0
    # prices: the directly written duals equal HiGHS's fixed-integer LP duals for the same allocation
    model = build_model(scenario, Valuer(scenario.horizon.interval_hours))
    un = solve_uncongested(scenario, model)
    assert un is not None
    lp = fixed_lp_duals(model, un.col_value)
    assert lp is not None
    duals, cols = lp
    assert model.welfare_usd(cols) == pytest.approx(model.welfare_usd(un.col_value), rel=1e-9, abs=1e-7)
    if un.duals is not None:
        rows = [r for k, r in model.cap_rows.items() if cols[: model.n_x] @ _covers(model, k) > 0]
        rows += [model.res_rows[k] for k in model.res_rows if cols[: model.n_x] @ _covers(model, k) > 0]
        assert np.allclose(un.duals[rows], duals[rows], rtol=1e-9, atol=1e-9)
    # same allocation as the MILP -> the very same published prices, charges and uplift
    if alloc_key(fast) == alloc_key(exact):
        assert [(p.pool, p.interval, p.cleared_chips) for p in fast.prices] == \
               [(p.pool, p.interval, p.cleared_chips) for p in exact.prices]
        for a, b in zip(fast.prices, exact.prices):
            assert a.price_per_chip_hour == pytest.approx(b.price_per_chip_hour, abs=1e-9)
            assert a.reserve_price_per_chip_hour == pytest.approx(b.reserve_price_per_chip_hour, abs=1e-9)
        assert fast.uplift.total_usd == pytest.approx(exact.uplift.total_usd, abs=1e-7)
        for a, b in zip(sorted(fast.allocations, key=lambda a: a.bid), sorted(exact.allocations, key=lambda a: a.bid)):
            assert a.payment_usd == pytest.approx(b.payment_usd, abs=1e-7)


def _covers(model, key):
    p, t = key
    return ((model.cand_pool == p) & (model.cand_start <= t) & (t < model.cand_start + model.cand_len)).astype(float)


def pool(pid, offer, **kw):
    chips = sum(c for c, _ in offer)
    return {"id": pid, "provider": f"prov-{pid}", "hardware": "h100-sxm", "chips": chips, "island_chips": chips,
            "region": "us", "offer": [{"chips": c, "price_per_chip_hour": p} for c, p in offer], **kw}


def bid(bid_id, chips, price, intervals=1, window=(0, 1)):
    return {"id": bid_id, "buyer": f"lab-{bid_id}", "model": "llama3-8b", "chips": list(chips), "intervals": intervals,
            "window": list(window), "max_price_per_chip_hour": price}


def scenario(pools, bids, T=1, fraction=0.0):
    return parse_scenario({"horizon": {"intervals": T, "interval_minutes": 60}, "pools": pools, "bids": bids,
                           "reserve": {"fraction": fraction}})


def test_uncongested_by_hand():
    """Pool p: 32 chips at $1 then 32 at $3; pool q: 64 chips at $2. A (16 chips at $2.50)
    is worth 16 x (2.5 - 1) = $24 on p, nothing on q; B (8 or 16 chips at $4) is worth
    16 x 3 = $48 on p and 16 x 2 = $32 on q, so both take p: 32 chips, inside the $1 step.
    Welfare $72, price on p = the $1 step (not the $3 one above), q unpriced."""
    sc = scenario([pool("p", [(32, 1.0), (32, 3.0)]), pool("q", [(64, 2.0)])],
                  [bid("A", [16], 2.5), bid("B", [8, 16], 4.0)])
    r = clear(sc)
    assert r.method == "uncongested" and r.status == "optimal" and r.gap == 0.0
    assert r.welfare_usd == pytest.approx(72.0)
    assert alloc_key(r) == [("A", "p", 16, 0), ("B", "p", 16, 0)]
    assert [(p.pool, p.price_per_chip_hour, p.cleared_chips) for p in r.prices] == [("p", 1.0, 32), ("q", 0.0, 0)]
    assert r.uplift.total_usd == 0.0
    assert r.model_size == clear(sc, method="exact").model_size  # sized without building the matrix
    assert [a.payment_usd for a in sorted(r.allocations, key=lambda a: a.bid)] == [16.0, 16.0]


def test_congested_markets_go_to_the_milp():
    """Same pools, B now wants 24 chips: A's and B's best options (both on p) need 40 > 32
    cheap chips, so the fast path declines. The MILP: both on p cost 32 x 1 + 8 x 3 = $56 for
    value 16 x 2.5 + 24 x 4 = $136, welfare $80; B on q instead gives 24 + 48 = $72. Both on p,
    priced at the marginal $3 step."""
    sc = scenario([pool("p", [(32, 1.0), (32, 3.0)]), pool("q", [(64, 2.0)])],
                  [bid("A", [16], 2.5), bid("B", [24], 4.0)])
    model = build_model(sc, Valuer(1.0))
    assert solve_uncongested(sc, model) is None
    r = clear(sc)
    assert r.method == "exact"
    assert r.welfare_usd == pytest.approx(80.0)
    assert alloc_key(r) == [("A", "p", 16, 0), ("B", "p", 24, 0)]
    assert r.prices[0].price_per_chip_hour == pytest.approx(3.0)


def test_tier_boundary_prices_come_from_the_lp():
    """Demand exactly filling the cheapest step (16 of 16 chips at $1, next step $3): the
    allocation is still optimal without the MILP, but the capacity dual is degenerate
    (anything in [$1, $3]), so the price comes from the fixed-integer LP as before."""
    sc = scenario([pool("p", [(16, 1.0), (16, 3.0)])], [bid("A", [16], 2.0)])
    model = build_model(sc, Valuer(1.0))
    un = solve_uncongested(sc, model)
    assert un is not None and un.duals is None
    r = clear(sc)
    e = clear(sc, method="exact")
    assert r.method == "uncongested" and r.welfare_usd == pytest.approx(16.0)
    assert r.prices[0].price_per_chip_hour == pytest.approx(e.prices[0].price_per_chip_hour)
    assert 1.0 <= r.prices[0].price_per_chip_hour <= 3.0

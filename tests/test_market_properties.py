"""Property tests of the clearing on random small markets with both bid forms (issue 4,
"Done when" 2): capacity, one allocation per bid inside its window with an allowed gang /
hardware / region, individual rationality after uplift, a balanced ledger, and prices that
are positive only where a capacity row binds (equal to the marginal offer step there).
Truth is recomputed here from the raw orders, not read back from the model."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flopgrid.catalog import get_accelerator
from flopgrid.market import clear, parse_scenario
from flopgrid.market.settlement import parse_delivery, settle
from market_truth import step_cost

HARDWARE = ("h100-sxm", "a100-80gb")
REGIONS = ("us", "eu")
TOL = 1e-6


@st.composite
def scenarios(draw):
    T = draw(st.integers(1, 4))
    pools = []
    for i in range(draw(st.integers(1, 3))):
        chips = draw(st.sampled_from([8, 16, 24, 32, 64]))
        n = draw(st.integers(1, 3))
        cuts = sorted(draw(st.lists(st.integers(1, chips), min_size=n, max_size=n, unique=True)))
        sizes = [cuts[0]] + [b - a for a, b in zip(cuts, cuts[1:])]
        prices = sorted(draw(st.lists(st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.5, 3.0]), min_size=n, max_size=n)))
        pool = {"id": f"p{i}", "provider": f"prov{i % 2}", "hardware": draw(st.sampled_from(HARDWARE)),
                "chips": chips, "island_chips": draw(st.sampled_from([c for c in (4, 8, 16, 32, 64) if c <= chips])),
                "region": draw(st.sampled_from(REGIONS)), "mttf_chip_hours": draw(st.sampled_from([5e3, 5e4])),
                "offer": [{"chips": c, "price_per_chip_hour": p} for c, p in zip(sizes, prices)]}
        if draw(st.booleans()):
            pool["cluster"] = {"scale_up_domain": 2, "scale_out_bytes_per_s": 25e9 / 8, "chips": 1024, "name": "eth"}
        pools.append(pool)
    bids = []
    for i in range(draw(st.integers(1, 5))):
        L = draw(st.integers(1, T))
        es = draw(st.integers(0, T - L))
        bid = {"id": f"b{i}", "buyer": f"lab{i % 3}", "model": "llama3-8b",
               "chips": draw(st.lists(st.sampled_from([4, 8, 16, 32]), min_size=1, max_size=2, unique=True)),
               "intervals": L, "window": [es, draw(st.integers(es + L, T))]}
        if draw(st.booleans()):
            bid["max_price_per_eflop"] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.5, 4.0]))
        else:
            bid["max_price_per_chip_hour"] = draw(st.sampled_from([1.0, 2.0, 2.8, 4.0]))
        if draw(st.booleans()):
            bid["hardware"] = [draw(st.sampled_from(HARDWARE))]
        if draw(st.booleans()):
            bid["region"] = [draw(st.sampled_from(REGIONS))]
        bids.append(bid)
    return {"horizon": {"intervals": T, "interval_minutes": 60}, "pools": pools, "bids": bids,
            "reserve": {"fraction": draw(st.sampled_from([0.0, 0.125, 0.25]))}}




def marginal_price_bounds(offer, chips):
    """[lo, hi] of the marginal offer price at `chips` chips (a step boundary leaves a range)."""
    cum = 0.0
    for j, s in enumerate(offer):
        lo_cum, cum = cum, cum + s["chips"]
        if chips < cum - 1e-7:
            if chips > lo_cum + 1e-7:
                return s["price_per_chip_hour"], s["price_per_chip_hour"]
            prev = offer[j - 1]["price_per_chip_hour"] if j else 0.0
            return prev, s["price_per_chip_hour"]
    return offer[-1]["price_per_chip_hour"], math.inf


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_clearing_properties(sc):
    result = clear(parse_scenario(sc), mip_gap=1e-9)
    f = sc["reserve"]["fraction"]
    pools = {p["id"]: p for p in sc["pools"]}
    bids = {b["id"]: b for b in sc["bids"]}
    used: dict[tuple[str, int], int] = {}
    seen: set[str] = set()
    total_value = 0.0
    for a in result.allocations:
        b, p = bids[a.bid], pools[a.pool]
        assert a.bid not in seen
        seen.add(a.bid)
        assert a.start >= b["window"][0] and a.start + a.intervals <= b["window"][1] and a.intervals == b["intervals"]
        assert a.chips in b["chips"] and a.chips <= p["island_chips"]
        assert p["hardware"] in b.get("hardware", HARDWARE) and p["region"] in b.get("region", REGIONS)
        for t in range(a.start, a.start + a.intervals):
            used[(a.pool, t)] = used.get((a.pool, t), 0) + a.chips
        # the bid's own value, recomputed from its price form
        if "max_price_per_chip_hour" in b:
            value = b["max_price_per_chip_hour"] * a.chips * a.intervals
        else:
            assert 0 < a.predicted_mfu < 1
            peak = get_accelerator(p["hardware"]).peak("bf16")
            assert a.useful_eflop <= a.predicted_mfu * a.chips * peak * 3600 * a.intervals / 1e18 + TOL
            value = b["max_price_per_eflop"] * a.useful_eflop
        assert a.value_usd == pytest.approx(value, rel=1e-9)
        total_value += value
        # individual rationality for the buyer after uplift
        assert a.payment_usd <= value + TOL
    for b in bids:
        assert (b in seen) != any(u.bid == b for u in result.unserved)

    # capacity, and prices only where the capacity row binds (marginal step there)
    cost_by_pool: dict[str, float] = {}
    for (pid, t), u in used.items():
        offer = pools[pid]["offer"]
        assert (1 + f) * u <= sum(s["chips"] for s in offer) + TOL
        cost_by_pool[pid] = cost_by_pool.get(pid, 0.0) + step_cost(offer, (1 + f) * u)
    for row in result.prices:
        u = used.get((row.pool, row.interval), 0)
        assert row.cleared_chips == u
        if u == 0:
            assert row.price_per_chip_hour == 0.0
        else:
            lo, hi = marginal_price_bounds(pools[row.pool]["offer"], (1 + f) * u)
            assert lo - TOL <= row.price_per_chip_hour <= hi + TOL
    assert result.welfare_usd == pytest.approx(total_value - sum(cost_by_pool.values()), abs=1e-6)

    # individual rationality for every cleared provider after uplift (cost recomputed here)
    for pos in result.providers:
        assert pos.offer_cost_usd == pytest.approx(cost_by_pool[pos.pool], abs=1e-6)
        assert pos.revenue_usd + pos.uplift_credit_usd - pos.uplift_charge_usd >= cost_by_pool[pos.pool] - TOL
    assert {pid for pid, c in cost_by_pool.items() if c > 0} <= {p.pool for p in result.providers}

    # uplift balances: credits are funded by charges
    credits = sum(e.amount_usd for e in result.uplift.credits)
    charges = sum(e.amount_usd for e in result.uplift.charges)
    assert credits == pytest.approx(charges, abs=1e-6)

    # the ledger balances: every transaction sums to zero, and the day-ahead money in = out
    delivery = parse_delivery({"allocations": [
        {"bid": a.bid, "pool": a.pool, "provider_outage_minutes": 30.0 * (i % 2),
         "released_after_intervals": 0 if i % 3 == 2 else None, "useful_eflop": 0.5 * (a.useful_eflop or 0)}
        for i, a in enumerate(result.allocations)]})
    s = settle(parse_scenario(sc), result, delivery)
    assert s.ledger.balanced
    for tx in s.ledger.transactions:
        assert abs(sum(e.amount_usd for e in tx.entries)) <= 1e-6 * max([1.0] + [abs(e.amount_usd) for e in tx.entries])
    assert abs(s.ledger.balances().get("iso:day_ahead", 0.0)) <= 1e-6 * max(1.0, sum(a.payment_usd for a in result.allocations))

"""The ledger books exact integer micro-dollars: unbalanced transactions are refused, rounding
is one documented rule, and uplift charges fund the credits to the micro-dollar."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.market import Entry, Ledger, LedgerError, usd_to_micro_usd
from flopgrid.market.ledger import apportion_micro_usd


def test_usd_to_micro_usd_rounds_half_away_from_zero():
    assert usd_to_micro_usd(1.0) == 1_000_000
    assert usd_to_micro_usd(0.0000005) == 1
    assert usd_to_micro_usd(-0.0000005) == -1
    assert usd_to_micro_usd(0.0000004) == 0
    assert usd_to_micro_usd(12.3456789) == 12_345_679
    assert usd_to_micro_usd(7) == 7_000_000
    with pytest.raises(LedgerError):
        usd_to_micro_usd(float("nan"))


def test_unbalanced_transaction_is_refused_and_nothing_is_booked():
    led = Ledger()
    led.post("ok", [Entry("a", 5), Entry("b", -5)])
    with pytest.raises(LedgerError, match="does not balance"):
        led.post("off by one micro-dollar", [Entry("a", 5), Entry("b", -4)])
    assert len(led.transactions) == 1
    assert led.balances_micro_usd() == {"a": 5, "b": -5}
    assert led.balanced


def test_entries_must_be_integers():
    with pytest.raises(LedgerError, match="integer micro-USD"):
        Entry("a", 0.5)  # type: ignore[arg-type]
    assert Entry.from_usd("a", 1.25).amount_micro_usd == 1_250_000
    assert Entry("a", 1_250_000).amount_usd == 1.25


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**12, 10**12),
       st.dictionaries(st.text(min_size=1, max_size=3), st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=8))
def test_apportion_sums_exactly_and_is_pro_rata(total, weights):
    if sum(weights.values()) <= 0:
        return
    out = apportion_micro_usd(total, weights)
    assert sum(out.values()) == total
    wsum = sum(w for w in weights.values() if w > 0)
    for k, v in out.items():
        assert abs(v - total * weights[k] / wsum) < 1.0 + 1e-6 * abs(total)


def test_day_ahead_uplift_is_funded_to_the_micro_dollar():
    """Hand example: A's $1 make-whole credit is funded by B, C and the provider in thirds
    ($0.333333... each, not representable in micro-dollars). The charges are apportioned so
    they sum to exactly 1,000,000 micro-USD, and the ISO's day-ahead account keeps exactly
    the merchandising surplus: energy charges $20 - provider revenue $20 = 0."""
    from flopgrid.market import parse_scenario, settle
    from flopgrid.market.settlement import parse_delivery

    sc = parse_scenario({"horizon": {"intervals": 1, "interval_minutes": 60},
                         "pools": [{"id": "p", "provider": "prov", "hardware": "h100-sxm", "chips": 16, "island_chips": 16,
                                    "offer": [{"chips": 16, "price_per_chip_hour": 1.0}]}],
                         "bids": [{"id": b, "buyer": f"lab-{b}", "model": "llama3-8b", "chips": [8], "intervals": 1,
                                   "window": [0, 1], "max_price_per_chip_hour": 2.0} for b in "ABC"]})
    third = 1.0 / 3.0
    alloc = {"pool": "p", "chips": 8, "start": 0, "intervals": 1, "buyer": None}
    da = {"allocations": [
        {**alloc, "bid": "A", "energy_charge_usd": 10.0, "uplift_credit_usd": 1.0, "uplift_charge_usd": 0.0,
         "payment_usd": 9.0},
        {**alloc, "bid": "B", "energy_charge_usd": 5.0, "uplift_credit_usd": 0.0, "uplift_charge_usd": third,
         "payment_usd": 5.0 + third},
        {**alloc, "bid": "C", "energy_charge_usd": 5.0, "uplift_credit_usd": 0.0, "uplift_charge_usd": third,
         "payment_usd": 5.0 + third}],
        "providers": [{"provider": "prov", "revenue_usd": 20.0, "uplift_credit_usd": 0.0, "uplift_charge_usd": third}]}
    s = settle(sc, da, parse_delivery({"allocations": []}))
    (tx,) = s.ledger.transactions
    assert tx.total_micro_usd == 0
    bal = s.ledger.balances_micro_usd()
    assert "iso:day_ahead" not in bal  # exactly zero: no entry booked
    assert bal["buyer:lab-A"] == -9_000_000
    charges = [-(bal["buyer:lab-B"] + 5_000_000), -(bal["buyer:lab-C"] + 5_000_000), 20_000_000 - bal["provider:prov"]]
    assert sorted(charges) == [333_333, 333_333, 333_334]
    assert s.to_dict()["transactions"][0]["entries"][0].keys() == {"account", "amount_usd"}

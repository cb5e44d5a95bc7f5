"""The `market` and `gpuhour` policies inside the simulator: hand-checkable placements,
the batched real-time cadence, the documented value rule and offer prices.

Two pools where first-fit (fifo) takes pool A, the first in the fleet: the market must send
the job to the pool that delivers more useful FLOPs per dollar of offer, and follow the
price when only the price differs.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flopgrid.sched import GpuHour, Market, offer_price_per_chip_hour, unit_draw
from flopgrid.sched.clearing import Option
from flopgrid.sched.pricing import drawn_value_usd_per_eflop, next_uniform_price
from flopgrid.sim import FleetSpec, PoolSpec, RateTable, Simulation, simulate
from flopgrid.sim.jobs import COMPLETED, JobSpec

SLOW = {"scale_up_domain": 2, "scale_out_bytes_per_s": 25e9 / 8}  # PCIe pairs, 25 Gb/s
FAST = {"scale_up_domain": 8, "scale_out_bytes_per_s": 100e9 / 8}  # NVLink nodes, 100 Gb/s
JOB = JobSpec(id="j", submit_s=0.0, chips=32, model="mpt-1b", duration_s=3600.0)


def _fleet(fab_a, fab_b, price_a, price_b):
    return FleetSpec(name="two", pools=(
        PoolSpec(id="a", hardware="v100-sxm", chips=64, cluster=fab_a, price_per_chip_hour=price_a),
        PoolSpec(id="b", hardware="v100-sxm", chips=64, cluster=fab_b, price_per_chip_hour=price_b),
    ))


def _first_segment(fleet, policy):
    pol = Market(max_grow=1) if policy == "market" else policy  # no growth: look at the cleared gang
    sim = Simulation(fleet, [JOB], pol, failures=False, rates=RateTable(fleet)) if policy == "market" else \
        simulate(fleet, [JOB], policy, failures=False, rates=RateTable(fleet))[1]
    if policy == "market":
        sim.run()
    assert sim.jobs[0].state == COMPLETED
    return sim.jobs[0].pool, sim.jobs[0].gang


def test_market_sends_the_job_where_it_delivers_more_useful_flops_per_dollar():
    fleet = _fleet(SLOW, FAST, 0.5, 0.5)
    r = RateTable(fleet)
    per_usd = [r.rate_flop_s("mpt-1b", p, 32) / 0.5 for p in (0, 1)]
    assert per_usd[1] > 1.1 * per_usd[0]  # same chips and price: the fast fabric reaches a higher MFU
    assert _first_segment(fleet, "fifo") == (0, 32)  # first fit: the slow pool
    assert _first_segment(fleet, "market") == (1, 32)


@pytest.mark.parametrize(("price_a", "price_b", "expected"), [(1.0, 0.5, 1), (0.5, 1.0, 0)])
def test_market_follows_the_price_on_identical_pools(price_a, price_b, expected):
    fleet = _fleet(FAST, FAST, price_a, price_b)
    r = RateTable(fleet)
    assert r.rate_flop_s("mpt-1b", 0, 32) == r.rate_flop_s("mpt-1b", 1, 32)  # only the price differs
    assert _first_segment(fleet, "market")[0] == expected


def test_clearings_are_batched_on_events():
    fleet = _fleet(FAST, FAST, 0.5, 0.5)
    late = JobSpec(id="k", submit_s=10.0, chips=8, model="gpt2-124m", duration_s=600.0)
    later = JobSpec(id="l", submit_s=100.0, chips=8, model="gpt2-124m", duration_s=600.0)
    pol = Market(batch_s=30.0)
    sim = Simulation(fleet, [JOB, late, later], pol, failures=False, rates=RateTable(fleet)).run()
    # a clearing at 0 s; the arrival at 10 s waits for the batch that closes at 30 s; the one at
    # 100 s clears at once (the last clearing was more than 30 s before): event-driven, batched
    assert sim.jobs[1].first_start_s == pytest.approx(30.0)
    assert sim.jobs[2].first_start_s == pytest.approx(100.0)


def test_value_rule_is_documented_and_deterministic():
    fleet = _fleet(FAST, FAST, 0.5, 0.5)
    pol = Market(markup=(1.25, 2.5))
    sim = Simulation(fleet, [JOB], pol, failures=False, rates=RateTable(fleet))
    pol.setup(sim)
    job = sim.jobs[0]
    eflop_per_chip_h = RateTable(fleet).rate_flop_s("mpt-1b", 0, 32) / 32 * 3600 / 1e18
    cost = 0.5 / eflop_per_chip_h  # cheapest cost per useful EFLOP by hand
    assert pol.cheapest_cost_usd_per_eflop(sim, job) == pytest.approx(cost)
    u = unit_draw(0, "j")
    assert 0 <= u < 1 and u == unit_draw(0, "j") != unit_draw(1, "j")
    assert pol.value_usd_per_eflop(sim, job) == pytest.approx(cost * (1.25 + 1.25 * u))
    assert drawn_value_usd_per_eflop(2.0, 0, "j") == pytest.approx(2.0 * (1.25 + 1.25 * u))
    valued = JobSpec(id="v", submit_s=0.0, chips=8, model="gpt2-124m", duration_s=60.0, value_usd_per_eflop=7.5)
    sim2 = Simulation(fleet, [valued], Market(), failures=False, rates=RateTable(fleet))
    assert sim2.policy.value_usd_per_eflop(sim2, sim2.jobs[0]) == 7.5  # the trace's own value wins


def test_uniform_price_rule():
    assert next_uniform_price(1.0, [3.0, 2.0], []) == 1.0  # supply covers demand: the ask
    assert next_uniform_price(1.0, [3.0, 2.0], [1.5]) == 1.5  # highest unserved bid
    assert next_uniform_price(1.0, [3.0, 2.0], [2.7]) == 2.0  # never above the lowest accepted bid
    assert next_uniform_price(1.0, [], [0.5]) == 1.0  # never below the ask


def test_market_rejects_a_job_worth_less_than_any_offer():
    fleet = _fleet(FAST, FAST, 0.5, 0.5)
    cheap = JobSpec(id="c", submit_s=0.0, chips=8, model="gpt2-124m", duration_s=60.0, value_usd_per_eflop=1e-3)
    m, sim = simulate(fleet, [cheap], "market", failures=False, rates=RateTable(fleet))
    assert m["rejected"] == 1 and "below the cheapest offer" in sim.jobs[0].reject_reason


def test_gpuhour_buyer_rule():
    # H100 ($1.90 posted) vs A100 ($1.00): 989.5 / 1.90 = 521 vs 312 / 1.00 = 312 TFLOP/s per dollar: H100.
    fleet = FleetSpec(name="classes", pools=(
        PoolSpec(id="a100", hardware="a100-80gb", chips=64, cluster=FAST, price_per_chip_hour=1.0),
        PoolSpec(id="h100-eth", hardware="h100-sxm", chips=64, cluster=SLOW, price_per_chip_hour=1.9),
        PoolSpec(id="h100-ib", hardware="h100-sxm", chips=64, cluster={"scale_up_domain": 8,
                                                                         "scale_out_bytes_per_s": 400e9 / 8},
                 price_per_chip_hour=3.1),
    ))
    small = JobSpec(id="s", submit_s=0.0, chips=8, model="gpt2-124m", duration_s=600.0, value_usd_per_eflop=4.0)
    big = JobSpec(id="b", submit_s=0.0, chips=32, model="mpt-1b", duration_s=600.0, value_usd_per_eflop=4.0)
    pol = GpuHour()
    sim = Simulation(fleet, [small, big], pol, failures=False, rates=RateTable(fleet))
    pol.setup(sim)
    # limit = $4.00/EFLOP x 989.5e12 x 40% x 3600 / 1e18 = $5.70 per H100-hour
    assert pol.limit_per_chip_hour(sim, sim.jobs[0], "h100-sxm") == pytest.approx(4.0 * 989.5e12 * 0.4 * 3600 / 1e18)
    # the single-node job takes any H100 pool; the 32-chip gang only the InfiniBand-class one
    assert sorted(pol.buyer_pools(sim, sim.jobs[0])["h100-sxm"]) == [1, 2]
    assert pol.buyer_pools(sim, sim.jobs[1])["h100-sxm"] == [2]
    sim.run()
    assert sim.jobs[0].pool == 1  # cheapest H100 ask for the single-node job, at the H100 class price
    assert sim.jobs[1].pool in (0, 2)
    assert all(j.state == COMPLETED for j in sim.jobs)


def test_gpuhour_class_price_is_the_marginal_ask_not_an_unserved_bid():
    # One H100 class of two pools: Ethernet at $1.90 and InfiniBand at $3.10. A 32-chip gang
    # (limit $5.70 per chip-hour, rule 4) accepts only the InfiniBand pool (rule 3), which is
    # idle: the uniform class price is the marginal seller's ask, $3.10, not the gang's limit.
    ib = {"scale_up_domain": 8, "scale_out_bytes_per_s": 400e9 / 8}
    fleet = FleetSpec(name="one-class", pools=(
        PoolSpec(id="h100-eth", hardware="h100-sxm", chips=64, cluster=SLOW, price_per_chip_hour=1.9),
        PoolSpec(id="h100-ib", hardware="h100-sxm", chips=64, cluster=ib, price_per_chip_hour=3.1),
    ))
    big = JobSpec(id="b", submit_s=0.0, chips=32, model="mpt-1b", duration_s=600.0, value_usd_per_eflop=4.0)
    m, sim = simulate(fleet, [big], "gpuhour", failures=False, rates=RateTable(fleet))
    job = sim.jobs[0]
    assert job.state == COMPLETED and job.pool == 1
    assert job.price_per_chip_hour == pytest.approx(3.1)
    held_h = sum(job.held_chip_s_by_pool.values()) / 3600
    assert m["buyer_usd"] == pytest.approx(held_h * 3.1, abs=1e-6)  # not held_h x $5.70


def test_market_completes_a_partly_served_gang_when_chips_free_up():
    # Pool a has 8 chips, pool b 16. Y takes b at 0 s; X (16 chips, 20 h) clears at 30 s on
    # the 8 chips of a (half its request: all that is free). When Y ends, X restarts at its
    # full 16 chips on b (the rest of its bid, re-cleared on the completion).
    fleet = FleetSpec(name="partial", pools=(
        PoolSpec(id="a", hardware="v100-sxm", chips=8, cluster=FAST, price_per_chip_hour=0.5),
        PoolSpec(id="b", hardware="v100-sxm", chips=16, cluster=FAST, price_per_chip_hour=0.5),
    ))
    y = JobSpec(id="y", submit_s=0.0, chips=16, model="gpt2-124m", duration_s=600.0, value_usd_per_eflop=50.0)
    x = JobSpec(id="x", submit_s=1.0, chips=16, model="gpt2-124m", duration_s=20 * 3600.0, value_usd_per_eflop=50.0)
    sim = Simulation(fleet, [y, x], Market(), failures=False, rates=RateTable(fleet)).run()
    jy, jx = sim.jobs
    assert jy.state == jx.state == COMPLETED and jy.pool == 1
    assert jx.first_start_s == pytest.approx(30.0) and set(jx.held_chip_s_by_pool) == {0, 1}
    assert (jx.pool, jx.gang) == (1, 16)
    assert jx.held_chip_s_by_pool[0] / 8 < 1.2 * (jy.end_s - 30.0)  # a only until Y's chips were free


@pytest.mark.parametrize("buyer", ["surplus", "cost"])
def test_market_buyer_pays_for_speed_only_as_its_rule_says(buyer):
    # Slow pool a at $0.25, fast pool b at $0.50 per chip-hour, one 32-chip job worth $50 per
    # useful EFLOP: by hand, the surplus buyer takes the pool with more value x EFLOP/h -
    # price x chips, the cost buyer the one with more useful EFLOP per dollar.
    fleet = _fleet(SLOW, FAST, 0.25, 0.5)
    r = RateTable(fleet)
    eflop_h = [r.rate_flop_s("mpt-1b", p, 32) * 3600 / 1e18 for p in (0, 1)]
    price = (0.25, 0.5)
    surplus = [50.0 * eflop_h[p] - price[p] * 32 for p in (0, 1)]
    per_usd = [eflop_h[p] / (price[p] * 32) for p in (0, 1)]
    assert surplus[1] > surplus[0] and per_usd[0] > per_usd[1]  # the two rules disagree here
    job = JobSpec(id="j", submit_s=0.0, chips=32, model="mpt-1b", duration_s=3600.0, value_usd_per_eflop=50.0)
    sim = Simulation(fleet, [job], Market(buyer=buyer, max_grow=1, min_fraction=1), failures=False, rates=r).run()
    assert sim.jobs[0].pool == (1 if buyer == "surplus" else 0)
    with pytest.raises(ValueError, match="buyer"):
        Market(buyer="cheapest")


def test_market_buyer_time_value_spans_the_two_rules():
    # The same two pools and job as above. By hand: e = useful EFLOP/h on each pool at 32
    # chips, s = 50 e - price x 32 the surplus per hour; the time-value buyer takes the most
    # e / (price x 32 + θ s*), s* = max s. Pool a (slow, cheap) wins at θ = 0, pool b at θ = 1;
    # they tie at θ* = 32 (e_a p_b - e_b p_a) / (s* (e_b - e_a)), so the switch is there.
    fleet = _fleet(SLOW, FAST, 0.25, 0.5)
    r = RateTable(fleet)
    e = [r.rate_flop_s("mpt-1b", p, 32) * 3600 / 1e18 for p in (0, 1)]
    price = (0.25, 0.5)
    s_best = max(50.0 * e[p] - price[p] * 32 for p in (0, 1))
    theta_star = 32 * (e[0] * price[1] - e[1] * price[0]) / (s_best * (e[1] - e[0]))
    assert 0.0 < theta_star < 1.0  # the rules disagree, and an interior time value separates them
    job = JobSpec(id="j", submit_s=0.0, chips=32, model="mpt-1b", duration_s=3600.0, value_usd_per_eflop=50.0)

    def pool(theta):
        sim = Simulation(fleet, [job], Market(time_value=theta, max_grow=1, min_fraction=1, gang_tolerance=0.0),
                         failures=False, rates=r).run()
        return sim.jobs[0].pool

    assert [pool(t) for t in (0.0, 0.98 * theta_star, 1.02 * theta_star, 1.0, 2.0)] == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="time_value"):
        Market(time_value=-0.5)


@given(st.floats(1.0, 100.0), st.lists(st.tuples(st.floats(0.01, 10.0), st.integers(1, 64), st.floats(0.1, 5.0)),
                                       min_size=1, max_size=6))
def test_time_value_one_chooses_as_surplus_per_hour(value, opts):
    # Dinkelbach: for one job (value v per useful EFLOP) with the delay cost at the best
    # surplus per hour, the most useful EFLOP per effective dollar e / (p g + s*) is the
    # option with the most surplus per hour v e - p g.
    options = [Option(i, g, i, value * eflop_h / g, 0.0, eflop_h) for i, (eflop_h, g, price) in enumerate(opts)
               if value * eflop_h / g >= price]  # the market bids only where its value covers the ask
    assume(options)
    prices = {i: price for i, (_, _, price) in enumerate(opts)}
    surplus = Market(time_value=1.0).scores(options, prices)
    ratio = Market(time_value=1.0 - 1e-12).scores(options, prices)
    best = max(surplus)
    assert surplus[max(range(len(options)), key=ratio.__getitem__)] >= best - 1e-6 * max(1.0, best)


def test_offer_price_defaults():
    assert offer_price_per_chip_hour("h100-sxm") == 1.9  # bottom of the published range
    assert offer_price_per_chip_hour("v100-sxm") == 0.5  # fallback table
    assert offer_price_per_chip_hour("h100-sxm", 3.0) == 3.0

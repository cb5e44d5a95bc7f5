"""Reliability model against published figures (reliability.md) and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.errors import UserInputError
from flopgrid.reliability import (
    LLAMA3,
    LLAMA3_MTTF_CHIP_HOURS,
    OPT175B,
    expected_goodput,
    interruptions_per_day,
    job_mtbf_s,
    lost_fraction,
    lost_work_s,
    sample_node_failures,
    young_daly_interval_s,
)


def test_llama3_mean_time_between_interruptions_is_about_3_1_hours():
    # Llama 3 §3.3.4: 419 unexpected interruptions in 54 days on 16,384 GPUs.
    assert job_mtbf_s(16384, LLAMA3_MTTF_CHIP_HOURS) / 3600 == pytest.approx(54 * 24 / 419, rel=1e-9)
    assert job_mtbf_s(16384, LLAMA3_MTTF_CHIP_HOURS) / 3600 == pytest.approx(3.1, abs=0.05)
    # 4.7e-4 unexpected interruptions per GPU-day (reliability.md "Derived").
    assert interruptions_per_day(1, LLAMA3_MTTF_CHIP_HOURS) == pytest.approx(4.7e-4, rel=0.02)
    assert interruptions_per_day(16384, LLAMA3_MTTF_CHIP_HOURS) * 54 == pytest.approx(419, rel=1e-9)


def test_llama3_effective_time_above_90_percent():
    # A checkpoint taking a few minutes (3 min) to become durable, written asynchronously.
    assert LLAMA3.checkpoint_write_s == 180.0
    g = expected_goodput(LLAMA3.chips, LLAMA3.mttf_chip_hours, LLAMA3.checkpoint_s, LLAMA3.restart_s,
                         checkpoint_write_s=LLAMA3.checkpoint_write_s)
    assert 0.90 < g < 0.95
    # The same 3-minute checkpoint taken synchronously: sqrt(2*180/M) + 180/M lost, about 80%.
    sync = expected_goodput(LLAMA3.chips, LLAMA3.mttf_chip_hours, 180.0, LLAMA3.restart_s)
    assert sync == pytest.approx(0.80, abs=0.01)


def test_async_write_exposure_by_hand():
    # M = 360,000 s, C = 20 s, W = 200 s, R = 100 s: T = sqrt(2*20*M) = 3,795 s;
    # loss = C/T + T/2M + (W - C + R)/M = sqrt(2C/M) + 280/M.
    g = expected_goodput(10, 1000.0, 20.0, 100.0, checkpoint_write_s=200.0)
    assert g == pytest.approx(1 - math.sqrt(40 / 360000) - 280 / 360000)
    with pytest.raises(UserInputError, match="write time"):
        expected_goodput(10, 1000.0, 20.0, 100.0, checkpoint_write_s=5.0)


def test_opt_like_parameters_give_roughly_60_percent():
    # metaseq logbook: ~56 days elapsed for ~33 days of compute (~59%); tolerance +-0.08.
    g = expected_goodput(OPT175B.chips, OPT175B.mttf_chip_hours, OPT175B.checkpoint_s, OPT175B.restart_s)
    assert g == pytest.approx(0.59, abs=0.08)
    assert job_mtbf_s(OPT175B.chips, OPT175B.mttf_chip_hours) / 3600 == pytest.approx(12.0)


def test_young_interval_hand_computed():
    # M = 1000 chip-h / 10 chips = 100 h = 360,000 s; C = 180 s -> sqrt(2*180*360000) = 11,384 s.
    assert young_daly_interval_s(10, 1000.0, 180.0) == pytest.approx(math.sqrt(2 * 180 * 360000))
    # goodput = 1 - sqrt(2C/M) - R/M = 1 - sqrt(0.001) - 360/360000
    assert expected_goodput(10, 1000.0, 180.0, 360.0) == pytest.approx(1 - math.sqrt(0.001) - 0.001)
    # restart defaults to the checkpoint cost
    assert expected_goodput(10, 1000.0, 180.0) == pytest.approx(1 - math.sqrt(0.001) - 0.0005)


def test_daly_higher_order_close_to_young_for_small_c():
    y = young_daly_interval_s(100, 50000.0, 60.0)
    d = young_daly_interval_s(100, 50000.0, 60.0, higher_order=True)
    assert d < y and d == pytest.approx(y, rel=0.05)


@settings(max_examples=60, deadline=None)
@given(chips=st.integers(1, 100000), mttf=st.floats(100, 1e6), c=st.floats(1, 3600))
def test_young_interval_minimises_first_order_loss(chips, mttf, c):
    m = job_mtbf_s(chips, mttf)
    t = young_daly_interval_s(chips, mttf, c)
    best = lost_fraction(t, m, c, 0.0)
    for factor in (0.5, 0.8, 1.25, 2.0):
        assert lost_fraction(t * factor, m, c, 0.0) >= best - 1e-12


@settings(max_examples=60, deadline=None)
@given(chips=st.integers(1, 50000), mttf=st.floats(100, 1e6), c=st.floats(0, 3600), r=st.floats(0, 7200))
def test_goodput_bounded_and_falls_with_scale(chips, mttf, c, r):
    g1 = expected_goodput(chips, mttf, c, r)
    g2 = expected_goodput(chips * 2, mttf, c, r)
    assert 0.0 <= g2 <= g1 <= 1.0


@pytest.mark.parametrize("args", [(0, 1000.0, 10.0), (8, -1.0, 10.0), (8, 1000.0, -5.0), (8, float("nan"), 1.0)])
def test_bad_input_raises_user_error(args):
    with pytest.raises(UserInputError):
        expected_goodput(*args)


def test_sampled_node_failures_match_rate():
    rng = np.random.default_rng(0)
    # 2048 nodes x 8 chips, Llama-3 MTTF: 16384 / 50677 h ~ 0.3233 failures/h; 30 days -> ~233
    times, nodes = sample_node_failures(rng, 2048, 8, LLAMA3_MTTF_CHIP_HOURS, 30 * 86400)
    expected = 30 * 24 * 16384 / LLAMA3_MTTF_CHIP_HOURS
    assert abs(times.size - expected) < 4 * math.sqrt(expected)
    assert np.all(np.diff(times) >= 0) and times.max() < 30 * 86400
    assert nodes.min() >= 0 and nodes.max() < 2048


def test_lost_work_is_work_since_last_checkpoint():
    assert lost_work_s(2500.0, 1000.0) == pytest.approx(500.0)
    assert lost_work_s(999.0, 1000.0) == pytest.approx(999.0)
    assert lost_work_s(5.0, 0.0) == 0.0

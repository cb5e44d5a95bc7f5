"""A V100 pool (no bf16) is valued in fp16: useful EFLOP = MFU x goodput x chips x fp16 peak x time."""

from __future__ import annotations

import pytest

from flopgrid.market import clear, parse_scenario


def test_v100_pool_valued_at_fp16_peak():
    scenario = parse_scenario({
        "horizon": {"start": "2025-01-01T00:00:00Z", "intervals": 2, "interval_minutes": 60},
        "pools": [{"id": "v100", "provider": "old", "hardware": "v100-sxm", "chips": 64, "island_chips": 64,
                   "offer": [{"chips": 64, "price_per_chip_hour": 0.5}]}],
        "bids": [{"id": "b", "buyer": "x", "model": "megatron-1.7b", "chips": [8], "intervals": 1,
                  "window": [0, 2], "max_price_per_eflop": 50.0}],
        "reserve": {"fraction": 0.0},
    })
    result = clear(scenario)
    (a,) = result.allocations
    assert 0 < a.predicted_mfu < 1
    # one hour on 8 V100 at the fp16 dense peak (125 TFLOP/s), times MFU and goodput (<= 1)
    ceiling = a.predicted_mfu * 8 * 125e12 * 3600 / 1e18
    assert a.useful_eflop == pytest.approx(ceiling, rel=0.05)
    assert a.useful_eflop <= ceiling

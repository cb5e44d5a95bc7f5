"""Realistic random scenarios (`flopgrid scenario generate`): catalog accelerators and
models, published price ranges (`flopgrid.market.prices`), typical gang sizes per model
size, reliability around the Llama 3 figure (~51,000 chip-hours MTTF per GPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from flopgrid.catalog import CLUSTERS
from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

PROVIDERS = ("coreweave", "lambda", "crusoe", "together", "nebius", "runpod", "vast", "aws", "gcp", "azure", "oracle", "fluidstack")
REGIONS = ("us-east", "us-west", "eu-west", "eu-north", "asia-east")
HARDWARE_WEIGHTS = {"h100-sxm": 0.33, "a100-80gb": 0.18, "h200": 0.12, "b200": 0.06, "mi300x": 0.07,
                    "l40s": 0.05, "h100-pcie": 0.06, "tpu-v5p": 0.05, "tpu-v5e": 0.04, "tpu-v6e": 0.04}
# model -> typical gang sizes (chips). Most jobs are small: in the Philly, Helios and Acme
# traces the large majority of GPU jobs use <= 8-64 GPUs; few use more than 256.
MODELS = {"llama3-8b": (8, 16, 32, 64), "mpt-7b": (8, 16, 32), "mixtral-8x7b": (16, 32, 64),
          "mpt-30b": (32, 64, 128), "llama3-70b": (64, 128, 256), "gpt3-175b": (256, 512),
          "llama3-405b": (512, 1024)}
MODEL_WEIGHTS = (0.3, 0.15, 0.15, 0.1, 0.2, 0.07, 0.03)
# slower-fabric variants: the same chips on 100 Gb/s Ethernet per GPU
SLOW_FABRIC = {"scale_up_domain": 8, "scale_out_bytes_per_s": 100e9 / 8, "chips": 16384, "name": "ethernet-100g"}
MTTF_CHIP_HOURS = (15_000.0, 30_000.0, 51_000.0, 80_000.0, 150_000.0)


def generate_scenario(pools: int, bids: int, intervals: int = 24, seed: int = 0, interval_minutes: float = 60.0,
                      reserve_fraction: float = 0.05) -> dict[str, Any]:
    """A scenario mapping (DESIGN.md form) with `pools` pools and `bids` bids."""
    rng = np.random.default_rng(seed)
    hws = list(HARDWARE_WEIGHTS)
    hw_p = np.array(list(HARDWARE_WEIGHTS.values()))
    hw_p = hw_p / hw_p.sum()
    named = {c.hardware: c.name for c in CLUSTERS.values()}
    out_pools = []
    for i in range(pools):
        hw = str(rng.choice(hws, p=hw_p))
        chips = int(rng.choice([128, 256, 512, 1024, 2048, 4096], p=[0.15, 0.25, 0.25, 0.2, 0.1, 0.05]))
        island = chips if rng.random() < 0.6 else max(64, chips // int(rng.choice([2, 4])))
        lo, hi = PRICE_RANGE_PER_CHIP_HOUR[hw]
        base = round(float(rng.uniform(lo, hi)), 2)
        n_steps = int(rng.integers(1, 4))
        sizes = np.diff(np.concatenate([[0], np.sort(rng.choice(np.arange(1, chips + 1), n_steps, replace=False))]))
        offer, price = [], base
        for s in sizes:
            offer.append({"chips": int(s), "price_per_chip_hour": round(price, 2)})
            price *= 1 + float(rng.uniform(0.05, 0.3))
        pool: dict[str, Any] = {"id": f"pool-{i:04d}", "provider": str(rng.choice(PROVIDERS)), "hardware": hw,
                                "chips": chips, "island_chips": island, "region": str(rng.choice(REGIONS)),
                                "mttf_chip_hours": float(rng.choice(MTTF_CHIP_HOURS)),
                                "checkpoint_s": float(rng.choice([20.0, 30.0, 60.0])), "offer": offer}
        if not hw.startswith("tpu") and rng.random() < 0.15:
            pool["cluster"] = dict(SLOW_FABRIC)
        elif hw in named:
            pool["cluster"] = named[hw]
        if rng.random() < 0.2:
            first = int(rng.integers(0, intervals))
            pool["available"] = [first, int(rng.integers(first, intervals))]
        out_pools.append(pool)
    out_bids = []
    names = list(MODELS)
    for i in range(bids):
        model = str(rng.choice(names, p=MODEL_WEIGHTS))
        gangs = sorted({int(g) for g in rng.choice(MODELS[model], size=int(rng.integers(1, 3)))})
        L = int(rng.integers(1, min(8, intervals) + 1))
        es = int(rng.integers(0, intervals - L + 1))
        le = min(intervals, es + L + int(rng.integers(0, 4)))
        bid: dict[str, Any] = {"id": f"bid-{i:05d}", "buyer": f"lab-{int(rng.integers(0, max(1, bids // 4))):04d}",
                               "model": model, "chips": gangs, "intervals": L, "window": [es, le]}
        if rng.random() < 0.5:
            bid["max_price_per_eflop"] = round(float(rng.uniform(0.8, 3.5)), 2)
            if rng.random() < 0.4:
                bid["hardware"] = sorted({str(h) for h in rng.choice(hws, size=int(rng.integers(1, 4)), p=hw_p)})
        else:
            hw = str(rng.choice(hws, p=hw_p))
            lo, hi = PRICE_RANGE_PER_CHIP_HOUR[hw]
            bid["max_price_per_chip_hour"] = round(float(rng.uniform(0.8 * lo, 1.3 * hi)), 2)
            bid["hardware"] = [hw]
        if rng.random() < 0.5:
            bid["region"] = [str(rng.choice(REGIONS))]
        out_bids.append(bid)
    return {"horizon": {"start": "2025-01-01T00:00:00Z", "intervals": intervals, "interval_minutes": interval_minutes},
            "pools": out_pools, "bids": out_bids, "reserve": {"fraction": reserve_fraction}}

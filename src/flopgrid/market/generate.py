"""Realistic random scenarios (`flopgrid scenario generate`).

What the generated market looks like, and why:
- Supply: catalog accelerators weighted roughly by their share of rented capacity; pool sizes
  lognormal (sigma 0.7, a long tail of large clusters) around a mean chosen so that the
  offered chip-intervals are about `supply_ratio` (default 1.2) x the expected requested
  ones - supply around demand, so that capacity rows bind and prices form above marginal
  cost in part of the market (the mean is floored at 256 chips: with few bids per pool
  supply then exceeds demand rather than pools shrinking below typical gangs); stepped offers from published price ranges
  (`flopgrid.market.prices`); reliability around the Llama 3 figure (~51,000 chip-hours
  MTTF per GPU); 15% of pools available only part of the horizon.
- A bounded set of fabrics (the catalog cluster of each accelerator; a 100 Gb/s Ethernet
  variant for 15% of H100-SXM and A100 pools) and of models (7 catalog models) with 2-4
  typical gang sizes each, so a market of any size needs at most a few hundred distinct
  perf-model evaluations (model x cluster x gang).
- Demand: 55% of bids price useful work (`max_price_per_eflop`), 45% chip-hours for a
  hardware class (`max_price_per_chip_hour`, the chosen accelerator and its peers). Buyers
  bid for what is offered: hardware is drawn from the pools' hardware, weighted by chips.
  20% of EFLOP bids are tied to a vendor stack (CUDA, ROCm or TPU/JAX), 20% of all bids to
  a pair of regions (data residency). Most bids therefore have many eligible pools; a
  fraction are restricted.
- Jobs: gang sizes per model from the Philly / Helios / Acme traces (most jobs <= 64 GPUs,
  few > 256); 1-8 intervals; a window with 0-3 intervals of slack.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flopgrid.catalog import CLUSTERS
from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

PROVIDERS = ("coreweave", "lambda", "crusoe", "together", "nebius", "runpod", "vast", "aws", "gcp", "azure", "oracle", "fluidstack")
REGIONS = ("us-east", "us-west", "eu-west", "eu-north", "asia-east")
REGION_PAIRS = (("us-east", "us-west"), ("eu-west", "eu-north"), ("asia-east", "us-west"))
HARDWARE_WEIGHTS = {"h100-sxm": 0.33, "a100-80gb": 0.18, "h200": 0.12, "b200": 0.06, "mi300x": 0.07,
                    "l40s": 0.05, "h100-pcie": 0.06, "tpu-v5p": 0.05, "tpu-v5e": 0.04, "tpu-v6e": 0.04}
VENDOR_STACKS = ({"h100-sxm", "a100-80gb", "h200", "b200", "l40s", "h100-pcie"}, {"mi300x"},
                 {"tpu-v5p", "tpu-v5e", "tpu-v6e"})
# hardware classes a $/chip-hour buyer accepts interchangeably
HW_PEERS = {"h100-sxm": ("h200",), "h200": ("h100-sxm",), "h100-pcie": ("h100-sxm",), "a100-80gb": ("l40s",),
            "b200": ("h200",), "mi300x": (), "l40s": ("a100-80gb",), "tpu-v5p": ("tpu-v6e",), "tpu-v5e": ("tpu-v6e",),
            "tpu-v6e": ("tpu-v5p",)}
# model -> typical gang sizes (chips). Most jobs are small: in the Philly, Helios and Acme
# traces the large majority of GPU jobs use <= 8-64 GPUs; few use more than 256.
MODELS = {"llama3-8b": (8, 16, 32, 64), "mpt-7b": (8, 16, 32), "mixtral-8x7b": (16, 32, 64),
          "mpt-30b": (32, 64, 128), "llama3-70b": (64, 128, 256), "gpt3-175b": (256, 512),
          "llama3-405b": (512, 1024)}
MODEL_WEIGHTS = (0.3, 0.15, 0.15, 0.1, 0.2, 0.07, 0.03)
# slower-fabric variants: the same chips on 100 Gb/s Ethernet per GPU
SLOW_FABRIC = {"scale_up_domain": 8, "scale_out_bytes_per_s": 100e9 / 8, "chips": 16384, "name": "ethernet-100g"}
SLOW_FABRIC_HW = ("h100-sxm", "a100-80gb")
MTTF_CHIP_HOURS = (15_000.0, 30_000.0, 51_000.0, 80_000.0, 150_000.0)


def expected_chip_intervals_per_bid(intervals: int) -> float:
    """E[gang] x E[length] of a generated bid (gangs: the mean of 1-2 draws from the model's sizes)."""
    e_gang = sum(w * float(np.mean(MODELS[m])) for m, w in zip(MODELS, MODEL_WEIGHTS))
    return e_gang * (1 + min(8, intervals)) / 2.0


def _round8(x: float) -> int:
    return max(64, int(round(x / 8.0)) * 8)


def generate_scenario(pools: int, bids: int, intervals: int = 24, seed: int = 0, interval_minutes: float = 60.0,
                      reserve_fraction: float = 0.05, supply_ratio: float = 1.2) -> dict[str, Any]:
    """A scenario mapping (DESIGN.md form) with `pools` pools and `bids` bids (see the module
    docstring for what it looks like)."""
    rng = np.random.default_rng(seed)
    hws = list(HARDWARE_WEIGHTS)
    hw_p = np.array(list(HARDWARE_WEIGHTS.values()))
    hw_p = hw_p / hw_p.sum()
    named = {c.hardware: c.name for c in CLUSTERS.values()}
    offered_share = 0.85  # offers cover on average about this share of a pool's chips
    mean_chips = supply_ratio * bids * expected_chip_intervals_per_bid(intervals) / (pools * intervals * offered_share)
    mean_chips = float(np.clip(mean_chips, 256, 4096))  # few providers list fewer; sparse demand leaves slack
    out_pools = []
    for i in range(pools):
        hw = str(rng.choice(hws, p=hw_p))
        chips = min(16384, _round8(mean_chips * float(rng.lognormal(-0.245, 0.7))))  # E[lognormal] = 1
        island = chips if rng.random() < 0.6 else _round8(chips / int(rng.choice([2, 4])))
        lo, hi = PRICE_RANGE_PER_CHIP_HOUR[hw]
        base = round(float(rng.uniform(lo, hi)), 2)
        n_steps = int(rng.integers(1, 4))
        total = chips if rng.random() < 0.6 else int(rng.integers(max(1, chips // 2), chips + 1))
        cuts = np.sort(rng.choice(np.arange(1, total), min(n_steps - 1, max(total - 1, 0)), replace=False))
        sizes = np.diff(np.concatenate([[0], cuts, [total]]))
        offer, price = [], base
        for s in sizes:
            offer.append({"chips": int(s), "price_per_chip_hour": round(price, 2)})
            price *= 1 + float(rng.uniform(0.05, 0.3))
        pool: dict[str, Any] = {"id": f"pool-{i:04d}", "provider": str(rng.choice(PROVIDERS)), "hardware": hw,
                                "chips": chips, "island_chips": island, "region": str(rng.choice(REGIONS)),
                                "mttf_chip_hours": float(rng.choice(MTTF_CHIP_HOURS)),
                                "checkpoint_s": float(rng.choice([20.0, 30.0, 60.0])), "offer": offer}
        if hw in SLOW_FABRIC_HW and rng.random() < 0.15:
            pool["cluster"] = dict(SLOW_FABRIC)
        elif hw in named:
            pool["cluster"] = named[hw]
        if rng.random() < 0.15:
            first = int(rng.integers(0, intervals))
            pool["available"] = [first, int(rng.integers(first, intervals))]
        out_pools.append(pool)
    # buyers bid for what is offered: hardware drawn by offered chips
    present = sorted({p["hardware"] for p in out_pools})
    w = np.array([sum(p["chips"] for p in out_pools if p["hardware"] == hw) for hw in present], dtype=float)
    w = w / w.sum()
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
        hw = str(rng.choice(present, p=w))
        if rng.random() < 0.55:
            bid["max_price_per_eflop"] = round(float(rng.uniform(0.8, 3.5)), 2)
            if rng.random() < 0.2:
                stack = next(s for s in VENDOR_STACKS if hw in s)
                bid["hardware"] = sorted(stack & set(present))
        else:
            lo, hi = PRICE_RANGE_PER_CHIP_HOUR[hw]
            bid["max_price_per_chip_hour"] = round(float(rng.uniform(0.8 * lo, 1.3 * hi)), 2)
            bid["hardware"] = sorted({hw, *(p for p in HW_PEERS.get(hw, ()) if p in present)})
        if rng.random() < 0.2:
            bid["region"] = list(REGION_PAIRS[int(rng.integers(0, len(REGION_PAIRS)))])
        out_bids.append(bid)
    return {"horizon": {"start": "2025-01-01T00:00:00Z", "intervals": intervals, "interval_minutes": interval_minutes},
            "pools": out_pools, "bids": out_bids, "reserve": {"fraction": reserve_fraction}}

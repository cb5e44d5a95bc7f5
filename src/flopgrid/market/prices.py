"""Published capacity price ranges, USD per chip-hour (approximate, 2024-2025 public list
prices: Lambda, CoreWeave, RunPod, SF Compute, AWS/Azure on-demand per GPU, Google Cloud TPU
pricing). Used to generate realistic scenarios and as the market monitor's default
reference price (the top of each range)."""

from __future__ import annotations

PRICE_RANGE_PER_CHIP_HOUR: dict[str, tuple[float, float]] = {
    "a100-40gb": (0.8, 1.8),
    "a100-80gb": (1.0, 2.5),
    "h100-pcie": (1.8, 3.0),
    "h100-sxm": (1.9, 4.3),
    "h200": (2.5, 5.0),
    "b200": (3.5, 6.5),
    "mi300x": (1.8, 4.0),
    "l40s": (0.7, 1.5),
    "tpu-v5e": (0.8, 1.2),
    "tpu-v5p": (2.9, 4.2),
    "tpu-v6e": (1.9, 2.7),
}

REFERENCE_PRICE_PER_CHIP_HOUR: dict[str, float] = {hw: hi for hw, (_lo, hi) in PRICE_RANGE_PER_CHIP_HOUR.items()}

"""Independent arithmetic the market tests check results against (no flopgrid code)."""

from __future__ import annotations


def step_cost(offer: list[dict], chips: float) -> float:
    """USD per hour of using `chips` chips of a stepped offer, cheapest steps first."""
    left, cost = chips, 0.0
    for s in offer:
        take = min(left, s["chips"])
        cost += take * s["price_per_chip_hour"]
        left -= take
    assert left <= 1e-7, "over capacity"
    return cost

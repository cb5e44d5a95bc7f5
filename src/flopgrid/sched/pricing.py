"""Prices and values the market policies share: posted offers, each job's value, the uniform
real-time price of one product, day-ahead reservations of large gangs.

- Offer (ask) of a pool, USD per chip-hour: the pool's own `price_per_chip_hour`, else the
  bottom of the published range for its hardware (`flopgrid.market.prices`), else
  `FALLBACK_PRICE_PER_CHIP_HOUR` (V100, which the published table does not carry).
- A job's value, USD per useful EFLOP: the trace's `value_usd_per_eflop`, else the
  documented draw `drawn_value_usd_per_eflop`.
- Uniform real-time price (ex-ante, as a real-time market publishes the price of the next
  interval from the last one's clearing): the floor (the ask) while supply covers demand;
  after a clearing that left bids unserved, the highest unserved bid, never above the
  lowest accepted bid (so every buyer that cleared at it still gains), never below the
  floor. A buyer whose bid is below the current price waits.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

FALLBACK_PRICE_PER_CHIP_HOUR: dict[str, float] = {"v100-sxm": 0.50, "v100-pcie": 0.45}
"""USD per chip-hour for hardware missing from flopgrid.market.prices (our assumption: about
the 2024 marketplace price of a V100; P100/P40 stand-ins of philly-like run on V100)."""
DEFAULT_PRICE_PER_CHIP_HOUR = 1.0
DEFAULT_MARKUP = (1.25, 2.5)


def offer_price_per_chip_hour(hardware: str, posted: float | None = None) -> float:
    """Offer price of a pool in USD per chip-hour (see the module docstring)."""
    if posted is not None:
        return float(posted)
    if hardware in PRICE_RANGE_PER_CHIP_HOUR:
        return PRICE_RANGE_PER_CHIP_HOUR[hardware][0]
    return FALLBACK_PRICE_PER_CHIP_HOUR.get(hardware, DEFAULT_PRICE_PER_CHIP_HOUR)


def unit_draw(seed: int, key: str) -> float:
    """A deterministic draw in [0, 1) from (seed, key) (BLAKE2b; independent of run order)."""
    d = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(d, "little") / 2.0**64


def drawn_value_usd_per_eflop(cheapest_cost_usd_per_eflop: float, seed: int, job_id: str,
                              markup: tuple[float, float] = DEFAULT_MARKUP) -> float:
    """Value rule for a job its trace gives no value: the cheapest posted cost per useful
    EFLOP the fleet offers it (at its requested gang) x a markup drawn uniformly in `markup`
    from (seed, job id). Every job is then worth running somewhere, and buyers differ."""
    lo, hi = markup
    return cheapest_cost_usd_per_eflop * (lo + (hi - lo) * unit_draw(seed, job_id))


def next_uniform_price(floor: float, accepted: Iterable[float], unserved: Iterable[float]) -> float:
    """The price of the next interval of one product from this clearing's bids (USD per
    chip-hour): see the module docstring."""
    unserved = list(unserved)
    if not unserved:
        return floor
    lowest_accepted = min(accepted, default=math.inf)
    return max(floor, min(max(unserved), lowest_accepted))

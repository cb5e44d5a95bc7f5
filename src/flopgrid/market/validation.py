"""Order validation (DESIGN.md "The market", step 5: guards).

Cross-field checks that pydantic's per-field constraints cannot express. Every error is a
`UserInputError` naming the order and the field, e.g.
``scenario.json: pool 'p1' field 'offer': steps must be sorted by price``.
"""

from __future__ import annotations

from flopgrid.catalog import get_accelerator, load_model
from flopgrid.errors import UserInputError
from flopgrid.market.orders import Bid, Pool, Scenario

MAX_CHIPS = 1_000_000
MAX_PRICE_PER_CHIP_HOUR = 1_000.0  # USD; ~100x the highest published on-demand price
MAX_PRICE_PER_EFLOP = 100_000.0  # USD; ~1,000x a typical $1-$3 per useful EFLOP


def canonical_hardware(name: str) -> str:
    """Catalog name of an accelerator (aliases resolved); raises with did-you-mean."""
    return get_accelerator(name).name


def _err(origin: str, kind: str, oid: str, field: str, msg: str) -> UserInputError:
    return UserInputError(f"{origin}: {kind} {oid!r} field {field!r}: {msg}")


def _validate_pool(p: Pool, horizon_intervals: int, origin: str) -> None:
    e = lambda field, msg: _err(origin, "pool", p.id, field, msg)  # noqa: E731
    try:
        canonical_hardware(p.hardware)
    except UserInputError as exc:
        raise e("hardware", str(exc)) from None
    if p.chips > MAX_CHIPS:
        raise e("chips", f"{p.chips} exceeds the limit of {MAX_CHIPS:,}")
    if p.island_chips > p.chips:
        raise e("island_chips", f"{p.island_chips} exceeds the pool's chips ({p.chips})")
    prices = [s.price_per_chip_hour for s in p.offer]
    if any(b < a for a, b in zip(prices, prices[1:])):
        raise e("offer", f"steps must be sorted by price_per_chip_hour (non-decreasing), got {prices}")
    if p.offered_chips > p.chips:
        raise e("offer", f"steps add up to {p.offered_chips} chips, more than the pool's {p.chips}")
    if max(prices) > MAX_PRICE_PER_CHIP_HOUR:
        raise e("offer", f"price {max(prices)} exceeds the limit of {MAX_PRICE_PER_CHIP_HOUR} USD per chip-hour")
    if p.available is not None:
        first, last = p.available
        if not (0 <= first <= last < horizon_intervals):
            raise e("available", f"[{first}, {last}] must satisfy 0 <= first <= last < {horizon_intervals} (horizon)")
    if isinstance(p.cluster, str) or isinstance(p.cluster, dict):
        from flopgrid.market.valuation import pool_cluster

        try:
            pool_cluster(p)
        except UserInputError as exc:
            raise e("cluster", str(exc)) from None


def _validate_bid(b: Bid, horizon_intervals: int, origin: str) -> None:
    e = lambda field, msg: _err(origin, "bid", b.id, field, msg)  # noqa: E731
    forms = [b.max_price_per_eflop is not None, b.max_price_per_chip_hour is not None]
    if sum(forms) != 1:
        raise e("max_price_per_eflop", "give exactly one of max_price_per_eflop or max_price_per_chip_hour")
    if b.max_price_per_eflop is not None and b.max_price_per_eflop > MAX_PRICE_PER_EFLOP:
        raise e("max_price_per_eflop", f"{b.max_price_per_eflop} exceeds the limit of {MAX_PRICE_PER_EFLOP}")
    if b.max_price_per_chip_hour is not None and b.max_price_per_chip_hour > MAX_PRICE_PER_CHIP_HOUR:
        raise e("max_price_per_chip_hour", f"{b.max_price_per_chip_hour} exceeds the limit of {MAX_PRICE_PER_CHIP_HOUR}")
    if max(b.chips) > MAX_CHIPS:
        raise e("chips", f"{max(b.chips)} exceeds the limit of {MAX_CHIPS:,}")
    es, le = b.window
    if es < 0 or le > horizon_intervals:
        raise e("window", f"[{es}, {le}] must lie inside the horizon [0, {horizon_intervals}]")
    if es + b.intervals > le:
        raise e("window", f"[{es}, {le}] is shorter than the bid's {b.intervals} intervals")
    for hw in b.hardware or []:
        try:
            canonical_hardware(hw)
        except UserInputError as exc:
            raise e("hardware", str(exc)) from None
    try:
        load_model(b.model)
    except UserInputError as exc:
        raise e("model", str(exc)) from None


def validate_scenario(s: Scenario, origin: str = "scenario") -> Scenario:
    """Check a parsed scenario's cross-field rules; returns it unchanged."""
    for kind, orders in (("pool", s.pools), ("bid", s.bids)):
        seen: set[str] = set()
        for o in orders:
            if o.id in seen:
                raise _err(origin, kind, o.id, "id", "duplicate id")
            seen.add(o.id)
    for p in s.pools:
        _validate_pool(p, s.horizon.intervals, origin)
    for b in s.bids:
        _validate_bid(b, s.horizon.intervals, origin)
    return s

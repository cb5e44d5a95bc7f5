"""The market layer: who gets which capacity, at what price, and who owes what after
delivery (DESIGN.md "The market").

    from flopgrid.market import clear, load_scenario
    result = clear(load_scenario("scenario.json"), time_limit_s=60)
    result.to_dict()  # the `flopgrid clear --json` contract

Imports catalog, flops, perf and reliability only (never sim or cli).
"""

from flopgrid.market.clearing import clear
from flopgrid.market.orders import Bid, Horizon, Monitor, OfferStep, Pool, Reserve, Scenario, load_scenario, parse_scenario
from flopgrid.market.result import (
    CONTRACT_KEYS,
    Allocation,
    ClearingResult,
    PriceRow,
    ProviderPosition,
    Unserved,
    Uplift,
)
from flopgrid.market.valuation import Valuer

__all__ = [
    "CONTRACT_KEYS", "Allocation", "Bid", "ClearingResult", "Horizon", "Monitor", "OfferStep", "Pool", "PriceRow",
    "ProviderPosition", "Reserve", "Scenario", "Unserved", "Uplift", "Valuer", "clear", "load_scenario",
    "parse_scenario",
]

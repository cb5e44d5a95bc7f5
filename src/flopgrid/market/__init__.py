"""The market layer: who gets which capacity, at what price, and who owes what after
delivery (DESIGN.md "The market").

    from flopgrid.market import clear, load_scenario
    result = clear(load_scenario("scenario.json"), time_limit_s=60)
    result.to_dict()  # the `flopgrid clear --json` contract

Where things are:
- the order book: `orders` (types), `validation`, `monitor` (pivotal suppliers), `valuation`
  (what a bid is worth on a pool: perf + reliability), `generate` (realistic scenarios),
  `prices` (published reference price ranges, not the clearing price);
- the problem: `formulation.columns` (the one candidate enumerator, `Columns`) and
  `formulation.model` (`MarketModel`: the MILP per row family, rows and duals by name);
- solving: `solve.highs` (HiGHS; it only solves), `solve.uncongested` (the exact fast path),
  `solve.greedy` (feasible vectors); the large-market path as phases in `large`
  (`LargeConfig`: bound, greedy, neighbourhood search, pool bound);
- `clearing.clear`: orchestration only;
- **the price**: `pricing` (fixed-integer LP duals -> uniform prices per pool and interval,
  charges) and `uplift` (make-whole);
- after delivery: `settlement` (two-settlement), `realtime` (real-time re-clearing),
  `ledger` (exact integer micro-dollars).

Imports catalog, flops, perf and reliability only (never sim or cli; tests/test_layers.py).
"""

from flopgrid.market.clearing import clear
from flopgrid.market.generate import generate_scenario
from flopgrid.market.ledger import Entry, Ledger, LedgerError, Transaction, usd_to_micro_usd
from flopgrid.market.orders import (
    Bid,
    Horizon,
    Monitor,
    OfferStep,
    Pool,
    Reserve,
    Scenario,
    load_scenario,
    parse_scenario,
)
from flopgrid.market.result import (
    CONTRACT_KEYS,
    Allocation,
    ClearingResult,
    PriceRow,
    ProviderPosition,
    Unserved,
    Uplift,
)
from flopgrid.market.settlement import Settlement, check_day_ahead, settle
from flopgrid.market.valuation import Delivery, Valuer

__all__ = [
    "CONTRACT_KEYS", "Allocation", "Bid", "ClearingResult", "Delivery", "Entry", "Horizon", "Ledger", "LedgerError",
    "Monitor", "OfferStep", "Pool", "PriceRow", "ProviderPosition", "Reserve", "Scenario", "Settlement",
    "Transaction", "Unserved", "Uplift", "Valuer", "check_day_ahead", "clear", "generate_scenario", "load_scenario",
    "parse_scenario", "settle", "usd_to_micro_usd",
]

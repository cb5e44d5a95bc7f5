"""Market: periodic day-ahead clearing with flopgrid.market (issue 4).

Every `epoch_s` the waiting jobs become bids (max price per useful EFLOP, gang sizes
from a quarter of the request up to it) and the pools become offers; `flopgrid.market.clear`
decides which job runs where; cleared jobs start at their cleared pool and gang size.
"""

from __future__ import annotations

from flopgrid.errors import UserInputError
from flopgrid.sim.policies.base import Policy


def market_available() -> bool:
    try:
        from flopgrid.market import clear  # noqa: F401
    except ImportError:
        return False
    return True


class Market(Policy):
    name = "market"

    def __init__(self) -> None:
        if not market_available():
            raise UserInputError("policy 'market' needs flopgrid.market (issue 4), which is not installed yet; "
                                 "use fifo, backfill, las or goodput")
        raise UserInputError("policy 'market' is not implemented in the simulator yet; use fifo, backfill, las or goodput")

    def schedule(self, sim) -> None:  # pragma: no cover
        raise NotImplementedError

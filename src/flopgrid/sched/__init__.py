"""Scheduling policies and admission, acting only on the `Cluster` protocol (DESIGN.md `sched`).

Policies: fifo, backfill (EASY), las (Tiresias 2D-LAS), goodput (Pollux-style elastic),
market (useful-FLOP market), gpuhour (GPU-hour market baseline). The fleet simulator
(`flopgrid.sim`) and the Ray dispatcher implement `Cluster`; see `cluster.py` for the loop.

Imports market (prices) and reliability only; never sim, store, api, dispatch or cli.
"""

from __future__ import annotations

from flopgrid.errors import UserInputError, did_you_mean
from flopgrid.sched.backfill import Backfill
from flopgrid.sched.base import ACCEPT, Admission, Policy, first_fit, gang_options
from flopgrid.sched.cluster import Cluster, JobLike, PoolInfo
from flopgrid.sched.fifo import Fifo
from flopgrid.sched.goodput import Goodput
from flopgrid.sched.gpuhour import GpuHour
from flopgrid.sched.las import Las
from flopgrid.sched.market import Market
from flopgrid.sched.pricing import offer_price_per_chip_hour, unit_draw

POLICIES: dict[str, type[Policy]] = {"fifo": Fifo, "backfill": Backfill, "las": Las, "goodput": Goodput,
                                     "market": Market, "gpuhour": GpuHour}
SEEDED = ("market", "gpuhour")


def make_policy(name: str, seed: int = 0) -> Policy:
    """A fresh policy by name (`seed` feeds the value draw of the market policies)."""
    cls = POLICIES.get(name)
    if cls is None:
        raise UserInputError(f"unknown policy {name!r}{did_you_mean(name, POLICIES)}: use one of {', '.join(POLICIES)}")
    return cls(seed=seed) if name in SEEDED else cls()


__all__ = ["ACCEPT", "POLICIES", "Admission", "Backfill", "Cluster", "Fifo", "Goodput", "GpuHour", "JobLike", "Las",
           "Market", "Policy", "PoolInfo", "first_fit", "gang_options", "make_policy", "offer_price_per_chip_hour",
           "unit_draw"]

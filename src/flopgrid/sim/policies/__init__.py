"""Scheduling policies: fifo, backfill (EASY), las (Tiresias 2D-LAS), goodput, market."""

from __future__ import annotations

from flopgrid.errors import UserInputError, did_you_mean
from flopgrid.sim.policies.backfill import Backfill
from flopgrid.sim.policies.base import Policy
from flopgrid.sim.policies.fifo import Fifo
from flopgrid.sim.policies.goodput import Goodput
from flopgrid.sim.policies.las import Las
from flopgrid.sim.policies.market import Market

POLICIES: dict[str, type[Policy]] = {"fifo": Fifo, "backfill": Backfill, "las": Las, "goodput": Goodput, "market": Market}


def make_policy(name: str) -> Policy:
    cls = POLICIES.get(name)
    if cls is None:
        raise UserInputError(f"unknown policy {name!r}{did_you_mean(name, POLICIES)}: use one of {', '.join(POLICIES)}")
    return cls()


__all__ = ["POLICIES", "Backfill", "Fifo", "Goodput", "Las", "Market", "Policy", "make_policy"]

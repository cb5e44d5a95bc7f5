"""Library entry point: run one or several policies over one trace on one fleet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flopgrid.sched import Policy, make_policy
from flopgrid.sim.engine import Simulation
from flopgrid.sim.fleet import FleetSpec
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.metrics import summarize
from flopgrid.sim.throughput import RateTable


def simulate(
    fleet: FleetSpec,
    jobs: list[JobSpec],
    policy: str | Policy,
    *,
    failures: bool = True,
    seed: int = 0,
    horizon_s: float | None = None,
    rates: RateTable | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], Simulation]:
    """Run `policy` (a name, or a fresh Policy object) and return (metrics, finished Simulation)."""
    pol = make_policy(policy, seed=seed) if isinstance(policy, str) else policy
    sim = Simulation(fleet, jobs, pol, failures=failures, seed=seed, horizon_s=horizon_s,
                     rates=rates, progress=progress)
    sim.run()
    return summarize(sim), sim

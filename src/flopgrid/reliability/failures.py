"""Sampling failures: exponential per-chip lifetimes with node-level correlation.

Chips fail independently with exponential lifetimes of mean `mttf_chip_hours`; a chip
failure takes its whole node down (Llama 3 §3.3.4: most interruptions are a faulty GPU or
host, handled by draining the node). A pool of `nodes` nodes of `chips_per_node` chips
therefore sees node failures as a Poisson process of rate nodes * chips_per_node / MTTF,
each on a uniformly chosen node. Deterministic for a given numpy Generator.
"""

from __future__ import annotations

import numpy as np

from flopgrid.reliability.checkpointing import SECONDS_PER_HOUR


def node_failure_rate_per_s(nodes: int, chips_per_node: int, mttf_chip_hours: float) -> float:
    """Rate (1/s) of node-down events in a pool."""
    return nodes * chips_per_node / (mttf_chip_hours * SECONDS_PER_HOUR)


def sample_node_failures(
    rng: np.random.Generator, nodes: int, chips_per_node: int, mttf_chip_hours: float, horizon_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s, sorted, < horizon_s) and node indices of node failures in one pool."""
    rate = node_failure_rate_per_s(nodes, chips_per_node, mttf_chip_hours)
    if rate <= 0 or horizon_s <= 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    expected = rate * horizon_s
    n = int(expected + 10 * np.sqrt(expected) + 10)
    times = np.cumsum(rng.exponential(1.0 / rate, size=n))
    while times[-1] < horizon_s:  # rare: extend
        more = times[-1] + np.cumsum(rng.exponential(1.0 / rate, size=n))
        times = np.concatenate([times, more])
    times = times[times < horizon_s]
    which = rng.integers(0, nodes, size=times.size)
    return times, which


def lost_work_s(run_s: float, interval_s: float) -> float:
    """Compute seconds lost when a job fails `run_s` seconds after its last (re)start,
    checkpointing every `interval_s` seconds of compute: the work since the last checkpoint."""
    if interval_s <= 0:
        return 0.0
    return run_s % interval_s

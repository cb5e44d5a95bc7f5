"""The `Cluster` protocol: everything a scheduling policy may see of, and do to, a cluster.

A policy (fifo … market, gpuhour) acts only through these names, so the same policy object
runs inside the fleet simulator (`flopgrid.sim.Simulation` implements the protocol) and,
later, on a real engine (the Ray dispatcher implements it too). Nothing here knows whether
time is simulated: `now` is seconds on the cluster's clock, `call_later` asks the cluster to
call the policy back (`Policy.on_timer`) at a time on that clock.

The scheduling loop (after Blox, EuroSys'24: accept -> schedule -> place -> execute):
1. accept: on every arrival the cluster calls `Policy.admit(cluster, job)`; a rejected
   job never waits (its reason is kept);
2. schedule + place: after every instant at which something changed (arrival, finish,
   failure, repair, timer) the cluster calls `Policy.schedule(cluster)`, which decides which
   waiting job runs where at which gang size (and which running job shrinks, grows or is
   preempted);
3. execute: the policy's decisions are the protocol's actions (`start`, `preempt`,
   `resize`), each carrying out one decision on the cluster at once (a simulator moves
   its books, a real engine launches or stops processes) and reporting whether it could.

Money: `start` and `resize` carry the price per chip-hour the policy set for the run
segment (a clearing price, or None for the pool's posted price); the cluster charges every
chip-hour a job holds at that price.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """What a policy knows of a pool that does not change during a run."""

    id: str
    hardware: str
    chips: int
    node_chips: int
    island_chips: int
    price_per_chip_hour: float  # the provider's posted offer (ask), USD
    restart_s: float
    scale_out_bytes_per_s: float  # per chip, the fabric between nodes
    peak_flops_per_chip: float  # dense, at the pool's compute dtype


class JobSpecLike(Protocol):
    id: str
    submit_s: float
    chips: int
    model: str
    value_usd_per_eflop: float | None
    job_class: str


class JobLike(Protocol):
    """The job fields a policy reads (never writes)."""

    index: int
    spec: JobSpecLike
    state: str  # "waiting" | "running" | "completed" | "rejected"
    pool: int  # current (or last) pool index, -1 before the first start
    gang: int  # current (or last) gang size
    wait_since_s: float  # when the job (re)entered the queue
    last_run_s: float  # length of its last run segment
    last_lost_s: float  # compute-seconds of its last run segment lost to an interruption (since its last checkpoint)
    attained_chip_s: float  # chip-seconds of all ended run segments


@runtime_checkable
class Cluster(Protocol):
    """A cluster a policy schedules on (simulated or real). Pools are indices into `pools()`."""

    now: float

    def pools(self) -> Sequence[PoolInfo]: ...
    def free_chips(self, pool: int) -> int: ...
    def up_chips(self, pool: int) -> int: ...
    def waiting(self, limit: int | None = None) -> list[JobLike]:
        """Waiting jobs, requeued (interrupted, preempted) first, then arrivals, each in order; at most `limit`."""
    def running(self) -> list[JobLike]: ...
    def pools_for(self, job: JobLike, gang: int) -> list[int]: ...
    def can_start(self, pool: int, gang: int) -> bool: ...
    def can_resize(self, job: JobLike, pool: int, gang: int) -> bool: ...
    def start(self, job: JobLike, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool: ...
    def preempt(self, job: JobLike) -> None: ...
    def resize(self, job: JobLike, pool: int, gang: int, price_per_chip_hour: float | None = None) -> bool: ...
    def rate_flop_s(self, job: JobLike, pool: int, gang: int) -> float:
        """Useful FLOP/s of `job` on `pool` at `gang` chips (0: it does not fit)."""
    def expected_goodput(self, pool: int, gang: int) -> float:
        """Fraction of held time that turns into kept work (1 where failures are not modelled)."""
    def estimate_runtime_s(self, job: JobLike, pool: int, gang: int) -> float: ...
    def estimated_end_s(self, job: JobLike) -> float: ...
    def remaining_flop(self, job: JobLike) -> float: ...
    def call_later(self, at_s: float, tag: Hashable) -> None: ...


def total_free_chips(cluster: Cluster) -> int:
    return sum(cluster.free_chips(p) for p in range(len(cluster.pools())))

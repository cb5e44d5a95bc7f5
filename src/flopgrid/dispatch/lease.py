"""Leases: the dispatcher's record of one cleared allocation running as a gang (pure, no Ray).

A lease holds the allocation id, its placement group, a TTL, a state and the history of its
attempts. States:

    waiting -> placing -> running -> completed
                  |          |
                  |          +-> recovering -> placing ...   (a lost gang, retried with backoff)
                  |          +-> failed                      (retries spent, or the buyer's code failed
                  |                                            `max_retries` times; `reason` says why)
                  +-> unplaceable                            (the whole gang cannot be placed; `reason`)
    waiting -> rejected                                      (admission: no node group can ever hold it)
    running -> expired                                       (the TTL of the allocation ran out)

Every failure is attributed to one party (the settlement rule of DESIGN.md "The market",
step 4): the `provider` for a dead node, a dead actor or worker process, or lost heartbeats;
the `buyer` for an exception raised by the job's own code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TERMINAL = ("completed", "failed", "unplaceable", "rejected", "expired")
PROVIDER_CAUSES = ("node_death", "actor_death", "heartbeat_loss", "collective_failure")
BUYER_CAUSES = ("job_exception",)


@dataclass
class Failure:
    """One lost gang: what happened, who is charged, what it cost."""

    attempt: int
    cause: str  # one of PROVIDER_CAUSES or BUYER_CAUSES
    detail: str
    at_unix_s: float
    rank: int | None = None
    lost_steps: int = 0  # steps done after the last checkpoint (re-done after the restart)
    last_checkpoint_step: int = -1
    downtime_s: float = 0.0  # from the failure until the next gang ran (0 if none ran)
    lost_work_s: float = 0.0  # from the last checkpoint until the failure

    @property
    def party(self) -> str:
        return "buyer" if self.cause in BUYER_CAUSES else "provider"

    @property
    def outage_s(self) -> float:
        """Time the gang delivered nothing because of this failure: the work since the last
        checkpoint, which is lost, plus the time until the next gang ran."""
        return self.lost_work_s + self.downtime_s

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "party": self.party, "outage_s": self.outage_s}


@dataclass
class Lease:
    allocation_id: int
    bid: str
    pool: str
    chips: int
    ttl_s: float
    state: str = "waiting"
    reason: str = ""
    placement_group: str = ""  # id (hex) of the current group, "" when none is held
    placement_group_name: str = ""
    strategy: str = ""
    attempts: int = 0
    created_unix_s: float = 0.0
    started_unix_s: float | None = None
    ended_unix_s: float | None = None
    failures: list[Failure] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # every status change
    last_step: int = -1
    steps: int = 0
    reading: dict[str, Any] = field(default_factory=dict)  # the last reading sent

    @property
    def expires_unix_s(self) -> float | None:
        return None if self.started_unix_s is None else self.started_unix_s + self.ttl_s

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def provider_outage_s(self) -> float:
        return sum(f.outage_s for f in self.failures if f.party == "provider")

    def buyer_failures(self) -> int:
        return sum(1 for f in self.failures if f.party == "buyer")

    def set_state(self, state: str, at_unix_s: float, reason: str = "") -> None:
        self.state = state
        if reason or state in ("running", "completed"):
            self.reason = reason
        self.history.append({"state": state, "at_unix_s": at_unix_s, "reason": reason, "attempt": self.attempts})

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failures"] = [f.as_dict() for f in self.failures]
        d["provider_outage_s"] = self.provider_outage_s()
        return d


def backoff_s(retry: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff before retry number `retry` (1, 2, ...): base * 2^(retry-1), capped."""
    return min(cap_s, base_s * 2.0 ** max(0, retry - 1))


@dataclass(frozen=True)
class RankOutcome:
    """How one rank of a lost or finished gang ended, as the gang monitor saw it."""

    rank: int
    kind: str  # "ok" | "job_exception" | "peer_lost" | "actor_death" | "node_death" | "heartbeat_loss" | "stopped"
    detail: str = ""


def attribute(outcomes: list[RankOutcome]) -> tuple[str, RankOutcome] | None:
    """The cause of a lost gang from its ranks' outcomes, or None if every rank finished.

    The infrastructure wins: a dead node, then a dead actor, then a rank without heartbeats
    explain every other rank's error (a peer's collective fails when its partner dies). Only
    when every failing rank raised from the job's own code is the buyer charged; ranks that
    only saw their peers vanish, with nobody dead, are a collective failure (provider)."""
    for kind in ("node_death", "actor_death", "heartbeat_loss"):
        hit = next((o for o in outcomes if o.kind == kind), None)
        if hit is not None:
            return kind, hit
    hit = next((o for o in outcomes if o.kind == "job_exception"), None)
    if hit is not None:
        return "job_exception", hit
    hit = next((o for o in outcomes if o.kind in ("peer_lost", "stopped")), None)
    if hit is not None:
        return "collective_failure", hit
    return None

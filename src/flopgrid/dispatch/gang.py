"""One attempt of a gang: its rank actors inside a placed group, their health, their end.

The monitor polls; a gang is lost as soon as one rank is: its actor or node died
(`ray.get` raises), its heartbeat is older than `heartbeat_timeout_s`, or its training
function returned an error. The other ranks then get `grace_s` to report (a partner of a
dead rank fails in its next collective: `peer_lost`), and whatever is still running is
stopped: no partial recovery, the whole gang is torn down with its group.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.placement_group import PlacementGroup
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from flopgrid.dispatch.job import JobSpec
from flopgrid.dispatch.lease import RankOutcome
from flopgrid.dispatch.placement import release
from flopgrid.dispatch.worker import RankWorker, read_heartbeat

log = logging.getLogger(__name__)

_RemoteWorker = None
# what Ray's ActorDiedError says when the actor went down with its node (raylet)
_NODE_DEATH_MARKERS = ("node died", "its node", "node has died", "raylet died", "node was removed", "node is dead")


def _remote_worker():
    global _RemoteWorker
    if _RemoteWorker is None:
        _RemoteWorker = ray.remote(max_restarts=0, max_task_retries=0, max_concurrency=2)(RankWorker)
    return _RemoteWorker


@dataclass(frozen=True)
class GangTiming:
    heartbeat_s: float = 1.0
    heartbeat_timeout_s: float = 10.0
    startup_timeout_s: float = 120.0  # actor processes up and reachable
    pg_timeout_s: float = 60.0  # torch.distributed rendezvous and collectives
    grace_s: float = 5.0  # for the other ranks to report once one is lost
    node_check_s: float = 10.0  # an unreachable actor: how long to wait for Ray to say whether its node died


def _node_alive(node_id: str | None) -> bool:
    if not node_id:
        return True
    return any(n["NodeID"] == node_id and n.get("Alive") for n in ray.nodes())


class GangRun:
    def __init__(self, allocation_id: int, attempt: int, pg: PlacementGroup, gang: int, spec: JobSpec,
                 run_dir: Path, resource: str, cpus_per_rank: float, timing: GangTiming) -> None:
        self.allocation_id, self.attempt, self.pg, self.gang = allocation_id, attempt, pg, gang
        self.spec, self.run_dir, self.resource, self.cpus = spec, Path(run_dir), resource, cpus_per_rank
        self.timing = timing
        self.actors: list[Any] = []
        self.refs: list[Any] = []
        self.outcomes: dict[int, RankOutcome] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.started_unix_s = 0.0
        self.lost_unix_s: float | None = None
        self.nodes: dict[int, str] = {}
        self._unreachable: set[int] = set()

    # -- start ------------------------------------------------------------------------------
    def launch(self) -> None:
        """Start the gang; a rank that dies or never comes up marks the gang lost (provider)."""
        try:
            self._launch()
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as exc:
            self.started_unix_s = self.started_unix_s or time.time()
            self.lost_unix_s = time.time()
            for r in range(self.gang):
                dead = not _node_alive(self.nodes.get(r))
                self.outcomes[r] = RankOutcome(r, "node_death" if dead else "actor_death",
                                               f"gang did not start: {type(exc).__name__}: {str(exc)[:200]}")

    def _launch(self) -> None:
        """Start one actor per rank in its bundle, rendezvous, start the training function."""
        worker = _remote_worker()
        for rank in range(self.gang):
            strategy = PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=rank,
                                                        placement_group_capture_child_tasks=True)
            self.actors.append(worker.options(num_cpus=self.cpus, resources={self.resource: 1.0} if self.resource != "GPU" else {},
                                              num_gpus=1 if self.resource == "GPU" else 0,
                                              scheduling_strategy=strategy,
                                              name=f"flopgrid-{self.allocation_id}-{self.attempt}-rank{rank}")
                               .remote(rank, self.gang, str(self.run_dir), self.attempt, self.timing.heartbeat_s))
        pings = ray.get([a.ping.remote() for a in self.actors], timeout=self.timing.startup_timeout_s)
        self.nodes = {p["rank"]: p["node_id"] for p in pings}
        addr, port = ray.get(self.actors[0].rendezvous.remote(), timeout=self.timing.startup_timeout_s)
        self.refs = [a.run.remote(addr, port, self.spec, self.timing.pg_timeout_s) for a in self.actors]
        self.started_unix_s = time.time()

    # -- health -----------------------------------------------------------------------------
    def _collect(self, rank: int, ref: Any) -> RankOutcome:
        try:
            out = ray.get(ref, timeout=5)
        except ray.exceptions.GetTimeoutError:
            return RankOutcome(rank, "stopped", "did not report in time")
        except ray.exceptions.RayActorError as exc:
            text = str(exc)
            if isinstance(exc, ray.exceptions.ActorUnavailableError):
                self._unreachable.add(rank)  # its node may be dying: `_confirm_nodes` asks Ray
            low = text.lower()
            node_dead = not _node_alive(self.nodes.get(rank)) or any(m in low for m in _NODE_DEATH_MARKERS)
            kind = "node_death" if node_dead else "actor_death"
            return RankOutcome(rank, kind, text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__)
        except ray.exceptions.RayError as exc:  # an object lost with its node, a system error
            return RankOutcome(rank, "node_death" if not _node_alive(self.nodes.get(rank)) else "actor_death",
                               f"{type(exc).__name__}: {str(exc)[:300]}")
        self.results[rank] = out
        return RankOutcome(rank, out["kind"], out.get("detail", ""))

    def _stale_ranks(self, now: float) -> list[int]:
        stale = []
        for rank in range(self.gang):
            if rank in self.outcomes:
                continue
            hb = read_heartbeat(self.run_dir, rank)
            t = float(hb["t"]) if hb and hb.get("attempt") == self.attempt else self.started_unix_s
            if now - t > self.timing.heartbeat_timeout_s:
                stale.append(rank)
        return stale

    def poll(self) -> bool:
        """Advance the monitor; True once the gang has ended (finished or lost)."""
        if len(self.outcomes) == self.gang:
            return True
        pending = [(r, ref) for r, ref in enumerate(self.refs) if r not in self.outcomes]
        ready, _ = ray.wait([ref for _, ref in pending], num_returns=len(pending), timeout=0)
        ready_set = set(ready)
        for r, ref in pending:
            if ref in ready_set:
                self.outcomes[r] = self._collect(r, ref)
        now = time.time()
        for r in self._stale_ranks(now):
            hb = read_heartbeat(self.run_dir, r)
            age = now - float(hb["t"]) if hb else now - self.started_unix_s
            self.outcomes[r] = RankOutcome(r, "heartbeat_loss", f"no heartbeat from rank {r} for {age:.1f} s")
        if any(o.kind != "ok" for o in self.outcomes.values()):
            self.lost_unix_s = now
            self._drain_after_loss()
            return True
        return len(self.outcomes) == self.gang

    def _drain_after_loss(self) -> None:
        """Give the other ranks `grace_s` to report, then stop the rest."""
        deadline = time.time() + self.timing.grace_s
        while len(self.outcomes) < self.gang and time.time() < deadline:
            pending = [(r, ref) for r, ref in enumerate(self.refs) if r not in self.outcomes]
            ready, _ = ray.wait([ref for _, ref in pending], num_returns=1, timeout=0.2)
            for r, ref in pending:
                if ref in ready:
                    self.outcomes[r] = self._collect(r, ref)
        self._confirm_nodes()
        # a rank that died in the meantime shows as dead, not as stopped
        for r in range(self.gang):
            if r not in self.outcomes:
                dead = not _node_alive(self.nodes.get(r))
                self.outcomes[r] = RankOutcome(r, "node_death" if dead else "stopped",
                                               "its node died" if dead else "stopped with its gang")

    def _confirm_nodes(self) -> None:
        """An actor that became unreachable (socket closed) usually went down with its node, which
        Ray marks dead only after its health checks fail: wait up to `node_check_s` to know."""
        suspects = {r for r in self._unreachable if self.outcomes.get(r) and self.outcomes[r].kind == "actor_death"}
        deadline = time.time() + self.timing.node_check_s
        while suspects:
            for r in list(suspects):
                if not _node_alive(self.nodes.get(r)):
                    o = self.outcomes[r]
                    self.outcomes[r] = RankOutcome(r, "node_death", f"node {self.nodes[r][:12]} died: {o.detail}")
                    suspects.discard(r)
            if not suspects or time.time() > deadline:
                return
            time.sleep(0.25)

    @property
    def ok(self) -> bool:
        return len(self.outcomes) == self.gang and all(o.kind == "ok" for o in self.outcomes.values())

    def traceback(self) -> str:
        return next((r.get("traceback", "") for r in self.results.values() if r.get("kind") == "job_exception"), "")

    # -- end --------------------------------------------------------------------------------
    def teardown(self) -> None:
        """Kill every rank actor and remove the group (its reservation goes back)."""
        for a in self.actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
        release(self.pg)

"""Placement groups that reserve a whole gang at once, waits that end, and a reconciler.

- One bundle per rank: `{CHIP: 1, "CPU": cpus_per_rank}`, where CHIP is `GPU` on a cluster
  with GPUs and else the custom resource `chip` the local cluster declares on a CPU-only
  machine (`flopgrid.dispatch.local`).
- STRICT_PACK when some alive node has the whole gang free (one node, one fabric island),
  PACK otherwise (fewest nodes).
- A gang larger than the free chips of the alive nodes is refused before a group is made;
  a group that is not placed within `timeout_s` is removed and refused, with the free chips
  per node in the reason: waits always carry a timeout (an infeasible group never becomes
  ready: ray#27287), and nothing of a gang starts until the whole group is placed.
- `reconcile` removes every flopgrid group that no live lease holds (groups leak when the
  job that made them is killed: ray#19131; a group left partial after its node died is
  removed and re-made whole, not repaired: ray#65147).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import ray
from ray.util.placement_group import PlacementGroup, placement_group, placement_group_table, remove_placement_group

log = logging.getLogger(__name__)

PG_PREFIX = "flopgrid-alloc-"
LIVE_PG_STATES = ("PENDING", "CREATED", "RESCHEDULING")


class Unplaceable(Exception):
    """The whole gang cannot be placed now; `reason` says why."""


@dataclass(frozen=True)
class NodeChips:
    node_id: str
    total: int
    free: int


def chip_resource() -> str:
    """`GPU` where the cluster has GPUs, else the custom `chip` resource."""
    return "GPU" if ray.cluster_resources().get("GPU", 0) > 0 else "chip"


def node_chips(resource: str) -> list[NodeChips]:
    """Total and free chips of every alive node that has any."""
    from ray._private import state

    free = state.available_resources_per_node()
    out = []
    for n in ray.nodes():
        total = int(n.get("Resources", {}).get(resource, 0))
        if n.get("Alive") and total > 0:
            out.append(NodeChips(n["NodeID"], total, int(free.get(n["NodeID"], {}).get(resource, 0))))
    return out


def strategy_for(gang: int, nodes: list[NodeChips]) -> str:
    return "STRICT_PACK" if any(n.free >= gang for n in nodes) else "PACK"


def describe(nodes: list[NodeChips], resource: str) -> str:
    per_node = ", ".join(f"{n.node_id[:8]}: {n.free}/{n.total}" for n in nodes) or "no alive node has any"
    return f"free {resource} per node {per_node}"


def group_name(allocation_id: int, attempt: int) -> str:
    return f"{PG_PREFIX}{allocation_id}-{attempt}"


def reserve(allocation_id: int, attempt: int, gang: int, cpus_per_rank: float, timeout_s: float,
            resource: str | None = None) -> tuple[PlacementGroup, str]:
    """A placed group of `gang` bundles and its strategy, or Unplaceable (no group left behind)."""
    resource = resource or chip_resource()
    nodes = node_chips(resource)
    free = sum(n.free for n in nodes)
    if gang > free:
        raise Unplaceable(f"gang of {gang} {resource} not started: only {free} free on the alive nodes "
                          f"({describe(nodes, resource)}); a gang starts whole or not at all")
    strategy = strategy_for(gang, nodes)
    bundles = [{resource: 1.0, "CPU": float(cpus_per_rank)} for _ in range(gang)]
    pg = placement_group(bundles, strategy=strategy, name=group_name(allocation_id, attempt))
    try:
        ready = pg.wait(timeout_seconds=timeout_s)
    except Exception as exc:  # noqa: BLE001 - the GCS refused or lost the group
        remove_placement_group(pg)
        raise Unplaceable(f"placement group for a gang of {gang} {resource} failed: {exc}") from None
    if not ready:
        remove_placement_group(pg)
        raise Unplaceable(f"gang of {gang} {resource} ({strategy}) not placed within {timeout_s:g} s "
                          f"({describe(node_chips(resource), resource)}); group removed, nothing started")
    return pg, strategy


def release(pg: PlacementGroup | None) -> None:
    """Remove a group (and so kill any actor still in it); idempotent."""
    if pg is None:
        return
    try:
        remove_placement_group(pg)
    except Exception as exc:  # noqa: BLE001 - already gone
        log.debug("remove_placement_group: %s", exc)


def flopgrid_groups(live_only: bool = True) -> dict[str, dict]:
    """flopgrid's groups by id (hex), from the GCS table."""
    out = {}
    for pg_id, info in placement_group_table().items():
        if str(info.get("name", "")).startswith(PG_PREFIX) and (not live_only or info.get("state") in LIVE_PG_STATES):
            out[pg_id] = info
    return out


def reconcile(held: set[str]) -> list[str]:
    """Remove every live flopgrid group whose id is not in `held`; the names removed."""
    from ray.util.placement_group import PlacementGroup as PG

    removed = []
    for pg_id, info in flopgrid_groups().items():
        if pg_id in held:
            continue
        try:
            remove_placement_group(PG(ray.PlacementGroupID(bytes.fromhex(pg_id))))
            removed.append(info.get("name", pg_id))
            log.warning("reconciler removed orphaned placement group %s (%s)", info.get("name"), pg_id)
        except Exception as exc:  # noqa: BLE001
            log.debug("reconcile %s: %s", pg_id, exc)
    return removed

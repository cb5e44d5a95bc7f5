"""Dispatch onto Ray (DESIGN.md `dispatch`; the `ray` extra): cleared allocations run as
whole gangs in placement groups, one rank actor per chip training with the live meter,
recovered from node, actor and heartbeat failures from their checkpoints, and metered into
readings for settlement.

- `lease`: leases, failures and who is charged for them (pure);
- `job`: the training function contract (`module:function`, `RankContext`);
- `placement`: whole-gang placement groups, bounded waits, the orphan reconciler;
- `worker`, `gang`: the rank actors and one attempt of a gang;
- `cluster`: `RayCluster`, the `flopgrid.sched.Cluster` protocol on Ray;
- `dispatcher`: the loop (policy, retries with backoff, readings, persisted status);
- `service`: dispatching a market's allocations from the grid service;
- `local`: connecting to, or starting, a Ray cluster.

Importing this package does not import Ray.
"""

from flopgrid.dispatch.job import DEFAULT_ENTRY, JobSpec, RankContext, load_entry
from flopgrid.dispatch.lease import Failure, Lease, RankOutcome, attribute, backoff_s

__all__ = ["DEFAULT_ENTRY", "Failure", "JobSpec", "Lease", "RankContext", "RankOutcome", "attribute", "backoff_s",
           "load_entry"]

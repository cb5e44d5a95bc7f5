"""`flopgrid demo --engine ray`: a scaled-down slice of the cleared day as real training.

The first `RAY_SLICE` allocations of the flopgrid market run through the dispatcher
(`flopgrid.dispatch.Dispatcher`) on a local Ray cluster started here: each as a gang of
`RANKS` rank actors training the bundled small GPT (DDP on gloo) with the live meter for
`STEPS` steps, a checkpoint every `CHECKPOINT_EVERY`; their readings are the meter's (tiny
useful FLOPs: a CPU model, not the allocation's H100s) and go to the service as the
dispatcher. With `inject_failure` the worker process of rank 1 of the first gang is killed
(SIGKILL) between two checkpoints: the dispatcher tears the gang down, places it again and
resumes it from its checkpoint; the outage is the provider's in settlement.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flopgrid.errors import FlopgridError, UserInputError

log = logging.getLogger("flopgrid.demo.ray")
RAY_SLICE = 2
RANKS = 2
STEPS, CHECKPOINT_EVERY = 12, 4  # checkpoints after steps 3, 7, 11
KILL_AT_STEP = 5  # between the checkpoints after steps 3 and 7
STEP_SLEEP_S = 0.2


def _kill_rank_when_due(alloc_dir: Path, done: threading.Event, killed: dict[str, Any]) -> None:
    from flopgrid.dispatch.worker import read_heartbeat

    deadline = time.time() + 300
    while time.time() < deadline and not done.is_set():
        hb = read_heartbeat(alloc_dir, 1)
        if hb and hb.get("attempt") == 0 and hb.get("step", -1) >= KILL_AT_STEP:
            try:
                os.kill(int(hb["pid"]), signal.SIGKILL)
                killed.update(pid=hb["pid"], step=hb["step"])
                log.info("injected failure: SIGKILL of rank 1 (pid %s) at step %s", hb["pid"], hb["step"])
            except ProcessLookupError:
                pass
            return
        time.sleep(0.05)


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Ray prints its workers' deaths ("(raylet) A worker died ...") on the driver's stdout, and
    its processes inherit it: while the cluster is up, file descriptor 1 is stderr, so stdout
    stays the command's own (the --json contract)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_slice(allocations: list[dict[str, Any]], interval_s: float, root: Path, inject_failure: bool,
              sink: Any = None) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], dict[str, Any]]:
    """(readings, outcome per allocation, the dispatch result) of the slice."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UserInputError("--engine ray needs Ray: pip install 'flopgrid[ray]'") from None
    from flopgrid.dispatch.dispatcher import AllocationOrder

    orders = [AllocationOrder(id=int(a["id"]), bid=a["bid"], pool=a["pool"], chips=RANKS,
                              ttl_s=float(a["intervals"]) * interval_s) for a in allocations]
    killed: dict[str, Any] = {}
    with _stdout_to_stderr():
        result, where = _dispatch(orders, root, inject_failure, sink, killed)
    if inject_failure and not killed:
        raise FlopgridError("--inject-failure: the gang ended before its worker could be killed")
    readings, outcome = {}, {}
    for lease in result.leases:
        if lease.reading:
            readings[lease.allocation_id] = {k: lease.reading[k] for k in
                                             ("useful_eflop", "provider_outage_minutes", "badput_s", "productive_s")}
        outcome[lease.allocation_id] = {"completed": lease.state == "completed", "restarts": len(lease.failures),
                                        "failures": len(lease.failures)}
    return readings, outcome, {**result.as_dict(), "cluster": where, "killed": killed}


def _dispatch(orders: list[Any], root: Path, inject_failure: bool, sink: Any, killed: dict[str, Any]) -> tuple[Any, str]:
    """Start a local Ray cluster, run the orders through the dispatcher, shut Ray down."""
    import dataclasses

    import ray

    from flopgrid.dispatch import JobSpec
    from flopgrid.dispatch.dispatcher import Dispatcher, RetryPolicy
    from flopgrid.dispatch.gang import GangTiming
    from flopgrid.dispatch.local import connect
    from flopgrid.meter.peak_source import cpu_peak

    spec = JobSpec(steps=STEPS, checkpoint_every=CHECKPOINT_EVERY, params={"step_sleep_s": STEP_SLEEP_S})
    done = threading.Event()
    where = connect("local", chips=RANKS * len(orders))
    try:
        if ray.cluster_resources().get("GPU", 0) <= 0:  # the meter's CPU peak, measured once here (cached)
            spec = dataclasses.replace(spec, hardware="cpu", peak_flops_per_chip=cpu_peak("fp32").peak_flops_per_chip)
        if inject_failure and orders:
            threading.Thread(target=_kill_rank_when_due, args=(root / f"alloc-{orders[0].id}", done, killed),
                             daemon=True).start()
        d = Dispatcher(orders, spec, root, sink=sink,
                       timing=GangTiming(heartbeat_s=0.25, heartbeat_timeout_s=10.0, grace_s=4.0),
                       retry=RetryPolicy(max_retries=2, backoff_base_s=0.2, backoff_cap_s=1.0),
                       placement_timeout_s=30.0, place_deadline_s=180.0, poll_s=0.1)
        return d.run(timeout_s=400), where
    finally:
        done.set()
        ray.shutdown()

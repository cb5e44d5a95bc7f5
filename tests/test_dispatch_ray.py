"""Dispatch on a real local Ray cluster (ray.cluster_utils: a head and three raylets of two
`chip` each on this machine), against a real `flopgrid serve`, with real tiny PyTorch
training (the bundled GPT, DDP on gloo, two ranks per gang).

- two allocations of a cleared market run to completion through `flopgrid dispatch`, their
  readings reach settlement, the ledger balances;
- faults on real processes: `ray.kill` of a rank actor, SIGKILL of a rank's worker process,
  removal of a whole raylet mid-run: each gang resumes from its checkpoint and finishes, the
  re-done steps are wasted progress (at most one checkpoint interval), the outage is charged
  to the provider in settlement, and Ray holds no placement group or reservation afterwards;
- an exception in the job's code is charged to the buyer; retries stop at the bound with the
  error in the allocation's status;
- a gang larger than the free chips is not started in part and says why.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'flopgrid[ray]' to run the dispatch tests")
pytest.importorskip("torch", reason="the dispatch tests train a tiny PyTorch model (flopgrid[meter])")

from ray.cluster_utils import Cluster  # noqa: E402
from service_support import ServerProcess, create_key, gate_in, run_cli  # noqa: E402

from flopgrid.client import Client  # noqa: E402
from flopgrid.dispatch.dispatcher import Dispatcher, RetryPolicy  # noqa: E402
from flopgrid.dispatch.gang import GangTiming  # noqa: E402
from flopgrid.dispatch.job import JobSpec  # noqa: E402
from flopgrid.dispatch.placement import Unplaceable, flopgrid_groups, reserve  # noqa: E402
from flopgrid.dispatch.readings import ClientSink, meter_figures  # noqa: E402
from flopgrid.dispatch.service import market_orders  # noqa: E402
from flopgrid.dispatch.worker import read_heartbeat  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray-dispatch")]

NODES, CHIPS_PER_NODE = 3, 2
STEPS, EVERY = 16, 4  # a checkpoint after steps 3, 7, 11, 15
KILL_AT_STEP = 5  # mid-interval: steps 4..5 (at least) are lost and re-done
TIMING = GangTiming(heartbeat_s=0.25, heartbeat_timeout_s=15.0, startup_timeout_s=120.0, pg_timeout_s=30.0, grace_s=4.0,
                    node_check_s=6.0)
PEAK = 1e10  # a fixed CPU peak for the meter (MFU is not what these tests check)
SPEC = JobSpec(steps=STEPS, checkpoint_every=EVERY, params={"step_sleep_s": 0.15}, hardware="cpu",
               peak_flops_per_chip=PEAK)
RETRY = RetryPolicy(max_retries=2, backoff_base_s=0.2, backoff_cap_s=1.0)


# -- fixtures: one Ray cluster, one server, two markets ---------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False,
        # a dead raylet is noticed in ~1.5 s instead of the default ~30 s
        "_system_config": {"health_check_period_ms": 500, "health_check_timeout_ms": 500,
                           "health_check_failure_threshold": 3}})
    try:
        for _ in range(NODES):
            cluster.add_node(num_cpus=CHIPS_PER_NODE, resources={"chip": CHIPS_PER_NODE})
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _bid(bid_id: str, buyer: str, chips: int) -> dict:
    return {"id": bid_id, "buyer": buyer, "model": "gpt2-124m", "chips": [chips], "intervals": 1, "window": [0, 2],
            "max_price_per_chip_hour": 6.0}


def _cleared_market(srv: ServerProcess, op: str, keys: dict, bids: list[dict]) -> str:
    with Client(srv.url, op) as c:
        m = c.create_market({"intervals": 2, "interval_minutes": 60}, gate_in(3600))
    for b in bids:
        with Client(srv.url, keys[b["buyer"]]) as c:
            c.submit_bid(b, market=m["id"])
    with Client(srv.url, op) as c:
        c.close_market(m["id"])
        c.clear_market(m["id"])
        assert c.wait_cleared(m["id"], timeout_s=120)["status"] == "cleared"
    return m["id"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    db = f"sqlite:///{tmp / 'grid.db'}"
    op = create_key(db, "operator", "op")
    dispatcher = create_key(db, "dispatcher", "ray-dispatcher")
    srv = ServerProcess(db, tmp / "server.log").start()
    try:
        keys = {}
        with Client(srv.url, op) as c:
            for name, role in (("gpu-co", "provider"), ("alice", "buyer"), ("bob", "buyer")):
                keys[name] = c.create_participant(name, role)["key"]
        with Client(srv.url, keys["gpu-co"]) as c:
            c.register_pool({"id": "pool-a", "provider": "gpu-co", "hardware": "h100-sxm", "chips": 32,
                             "island_chips": 32, "region": "us-east",
                             "offer": [{"chips": 32, "price_per_chip_hour": 2.0}]})
        demo = _cleared_market(srv, op, keys, [_bid("train-a", "alice", 2), _bid("train-b", "bob", 2)])
        faults = _cleared_market(srv, op, keys, [_bid("kill-actor", "alice", 2), _bid("kill-proc", "alice", 2),
                                                 _bid("lose-node", "bob", 2), _bid("hung-host", "bob", 2),
                                                 _bid("buggy", "bob", 2), _bid("too-big", "alice", 8)])
        with Client(srv.url, op) as c:
            still_open = c.create_market({"intervals": 2, "interval_minutes": 60}, gate_in(3600))["id"]
        yield {"srv": srv, "op": op, "dispatcher": dispatcher, "demo": demo, "faults": faults, "open": still_open,
               "tmp": tmp, "db": db}
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def fault_orders(grid):
    with Client(grid["srv"].url, grid["dispatcher"]) as c:
        return {o.bid: o for o in market_orders(c, grid["faults"])}


def _no_reservations_left(timeout_s: float = 20.0) -> tuple[dict, float, float]:
    """Wait until Ray reports no live flopgrid group and every chip free; what it reports last."""
    deadline = time.time() + timeout_s
    while True:
        groups = flopgrid_groups()
        free, total = ray.available_resources().get("chip", 0.0), ray.cluster_resources().get("chip", 0.0)
        if (not groups and free == total) or time.time() > deadline:
            return groups, free, total
        time.sleep(0.25)


def _heartbeat_of(alloc_dir, rank, timeout_s=20.0):
    """A rank's heartbeat, waiting for it: rank 0 may reach the fault step before rank 1 beats."""
    deadline = time.time() + timeout_s
    while (hb := read_heartbeat(alloc_dir, rank)) is None and time.time() < deadline:
        time.sleep(0.05)
    assert hb is not None, f"rank {rank} wrote no heartbeat in {timeout_s} s"
    return hb


def _dispatch(grid, orders, run_dir, spec=SPEC, fault=None, retry=RETRY):
    """Run `orders` through a Dispatcher posting readings as the dispatcher; `fault(run_dir)` runs
    in a thread once rank 0 of the first attempt reached KILL_AT_STEP."""
    injected = {}

    def inject() -> None:
        alloc_dir = run_dir / f"alloc-{orders[0].id}"
        deadline = time.time() + 180
        while time.time() < deadline:
            hb = read_heartbeat(alloc_dir, 0)
            if hb and hb["attempt"] == 0 and hb["step"] >= KILL_AT_STEP:
                try:
                    injected.update(fault(alloc_dir) or {}, at_step=hb["step"])
                except Exception as exc:  # shown by the test's assertion, not lost with the thread
                    injected["error"] = repr(exc)
                return
            time.sleep(0.05)
        injected["error"] = f"rank 0 of attempt 0 never reached step {KILL_AT_STEP}"

    t = threading.Thread(target=inject, daemon=True) if fault else None
    if t:
        t.start()
    with Client(grid["srv"].url, grid["dispatcher"]) as c:
        result = Dispatcher(orders, spec, run_dir, sink=ClientSink(c), timing=TIMING, retry=retry,
                            placement_timeout_s=10.0, place_deadline_s=60.0, poll_s=0.1).run(timeout_s=240)
    if t:
        t.join(5)
    return result, injected


def _assert_resumed_from_checkpoint(lease, run_dir, cause):
    assert lease.state == "completed", (lease.state, lease.reason, [f.as_dict() for f in lease.failures])
    assert lease.attempts == 2 and len(lease.failures) == 1, [f.as_dict() for f in lease.failures]
    f = lease.failures[0]
    assert (f.cause, f.party) == (cause, "provider"), f.as_dict()
    m = meter_figures(run_dir / f"alloc-{lease.allocation_id}")
    assert m["steps"] == STEPS and m["sessions"] == 2
    # re-done steps are wasted progress, and no more than one checkpoint interval was lost
    assert 1 <= m["wasted_steps"] <= EVERY and m["wasted_steps"] == f.lost_steps
    assert f.last_checkpoint_step in (3, 7, 11)
    assert lease.reading["badput_s"]["wasted_progress"] > 0
    assert lease.reading["provider_outage_minutes"] > 0 and f.downtime_s > 0
    groups, free, total = _no_reservations_left()
    assert not groups and free == total, (groups, free, total)


# -- the demo market through the CLI ------------------------------------------------------------
def test_two_allocations_run_to_completion_through_the_cli_and_settle(grid, ray_cluster, tmp_path):
    run_dir = tmp_path / "demo"
    r = run_cli("dispatch", "--server", grid["srv"].url, "--key", grid["dispatcher"], "--market", grid["demo"],
                "--address", ray_cluster.address, "--steps", "6", "--checkpoint-every", "3", "--heartbeat", "0.25",
                "--heartbeat-timeout", "10", "--run-dir", str(run_dir), "--json", timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["completed"] == 2 and out["restarts"] == 0, [lease["failures"] for lease in out["leases"]]
    for lease in out["leases"]:
        assert lease["state"] == "completed" and lease["attempts"] == 1 and lease["strategy"] == "STRICT_PACK"
        m = meter_figures(run_dir / f"alloc-{lease['allocation_id']}")
        assert m["steps"] == 6 and m["wasted_steps"] == 0
        # useful FLOPs = tokens of the steps x model FLOPs per token (the meter's own figures)
        assert lease["reading"]["useful_eflop"] == pytest.approx(m["useful_flops"] / 1e18) and m["useful_flops"] > 0
        assert [h["state"] for h in lease["history"]] == ["running", "completed"]
    assert json.loads((run_dir / "state.json").read_text())["leases"][0]["state"] == "completed"
    with Client(grid["srv"].url, grid["op"]) as c:
        readings_settle = c.settle_market(grid["demo"])
        assert readings_settle["status"] == "settled"
        ledger = c.ledger(grid["demo"])
        statements = c.statements(grid["demo"])
    assert ledger and all(t["total_micro_usd"] == 0 for t in ledger)
    assert statements and all(s["balanced"] for s in statements)
    groups, free, total = _no_reservations_left()
    assert not groups and free == total


# -- faults ---------------------------------------------------------------------------------------
def test_ray_kill_of_one_training_actor_resumes_from_checkpoint(grid, ray_cluster, fault_orders, tmp_path):
    def kill_actor(alloc_dir):
        actor = ray.get_actor(f"flopgrid-{fault_orders['kill-actor'].id}-0-rank1")
        ray.kill(actor, no_restart=True)

    result, injected = _dispatch(grid, [fault_orders["kill-actor"]], tmp_path, fault=kill_actor)
    assert injected, "the fault was never injected"
    _assert_resumed_from_checkpoint(result.leases[0], tmp_path, "actor_death")


def test_sigkill_of_one_worker_process_resumes_from_checkpoint(grid, ray_cluster, fault_orders, tmp_path):
    def sigkill(alloc_dir):
        pid = _heartbeat_of(alloc_dir, 1)["pid"]
        os.kill(pid, signal.SIGKILL)
        return {"pid": pid}

    result, injected = _dispatch(grid, [fault_orders["kill-proc"]], tmp_path, fault=sigkill)
    assert injected.get("pid"), injected
    _assert_resumed_from_checkpoint(result.leases[0], tmp_path, "actor_death")


def test_removing_a_node_mid_run_resumes_on_another_node(grid, ray_cluster, fault_orders, tmp_path):
    removed = {}

    def remove_node(alloc_dir):
        node_id = read_heartbeat(alloc_dir, 0)["node_id"]
        node = next(n for n in ray_cluster.list_all_nodes() if n.node_id == node_id)
        ray_cluster.remove_node(node, allow_graceful=False)
        removed["node_id"] = node_id

    try:
        # slower steps: the ranks of a removed raylet's node run on until their process notices,
        # and must not reach the next checkpoint meanwhile
        # (a real node death stops them at once; a removed raylet's workers can take a few seconds
        # to notice, so steps are 1 s: two steps to go before the checkpoint after step 7)
        spec = JobSpec(steps=STEPS, checkpoint_every=EVERY, params={"step_sleep_s": 1.0}, hardware="cpu",
                       peak_flops_per_chip=PEAK)
        result, injected = _dispatch(grid, [fault_orders["lose-node"]], tmp_path, spec=spec, fault=remove_node)
    finally:
        ray_cluster.add_node(num_cpus=CHIPS_PER_NODE, resources={"chip": CHIPS_PER_NODE})  # back to three nodes
        ray_cluster.wait_for_nodes()
    assert removed.get("node_id")
    lease = result.leases[0]
    _assert_resumed_from_checkpoint(lease, tmp_path, "node_death")
    second = read_heartbeat(tmp_path / f"alloc-{lease.allocation_id}", 0)
    assert second["attempt"] == 1 and second["node_id"] != removed["node_id"]


def test_a_frozen_rank_is_lost_by_its_heartbeats_and_charged_to_the_provider(grid, ray_cluster, fault_orders,
                                                                             tmp_path):
    """SIGSTOP: the process is alive (Ray sees no death) but beats no more, like a hung host."""
    def freeze(alloc_dir):
        pid = _heartbeat_of(alloc_dir, 1)["pid"]
        os.kill(pid, signal.SIGSTOP)
        return {"pid": pid}

    result, injected = _dispatch(grid, [fault_orders["hung-host"]], tmp_path, fault=freeze)
    assert injected.get("pid"), injected
    lease = result.leases[0]
    _assert_resumed_from_checkpoint(lease, tmp_path, "heartbeat_loss")
    assert "no heartbeat from rank 1" in lease.failures[0].detail
    assert lease.failures[0].lost_work_s >= TIMING.heartbeat_timeout_s  # the frozen time is the provider's


def test_the_reconciler_removes_orphaned_groups_only(ray_cluster, tmp_path):
    """A group a killed dispatcher left behind (ray#19131) is removed; another owner's is not."""
    from ray.util.placement_group import placement_group, placement_group_table, remove_placement_group

    orphan = placement_group([{"chip": 1.0, "CPU": 1.0}], name="flopgrid-alloc-555-0")
    foreign = placement_group([{"chip": 1.0, "CPU": 1.0}], name="someone-else")
    assert orphan.wait(timeout_seconds=20) and foreign.wait(timeout_seconds=20)
    try:
        result = Dispatcher([], SPEC, tmp_path).run(timeout_s=30)
        assert result.orphans_removed == ["flopgrid-alloc-555-0"]
        assert placement_group_table(orphan)["state"] == "REMOVED"
        assert placement_group_table(foreign)["state"] == "CREATED"
    finally:
        remove_placement_group(foreign)
    groups, free, total = _no_reservations_left()
    assert not groups and free == total


def test_a_lease_past_its_ttl_is_stopped_and_gives_its_chips_back(ray_cluster, tmp_path):
    from flopgrid.dispatch.dispatcher import AllocationOrder

    spec = JobSpec(steps=200, checkpoint_every=EVERY, params={"step_sleep_s": 0.2}, hardware="cpu",
                   peak_flops_per_chip=PEAK)
    result = Dispatcher([AllocationOrder(9001, "ttl", "pool-a", 2, ttl_s=15.0)], spec, tmp_path, timing=TIMING,
                        poll_s=0.1).run(timeout_s=120)
    lease = result.leases[0]
    assert lease.state == "expired" and "TTL of 15 s" in lease.reason and lease.attempts == 1
    assert 0 < meter_figures(tmp_path / "alloc-9001")["steps"] < 200
    groups, free, total = _no_reservations_left()
    assert not groups and free == total


def test_dispatch_refuses_a_market_that_is_not_cleared(grid):
    from conftest import assert_bad_input

    r = run_cli("dispatch", "--server", grid["srv"].url, "--key", grid["dispatcher"], "--market", grid["open"])
    assert_bad_input(r, grid["open"], "is open", "cleared")


def test_an_exception_in_the_job_is_the_buyers_and_retries_stop_at_the_bound(grid, ray_cluster, fault_orders,
                                                                               tmp_path):
    spec = JobSpec(steps=STEPS, checkpoint_every=EVERY, params={"fail_at_step": 2}, hardware="cpu",
                   peak_flops_per_chip=PEAK)
    result, _ = _dispatch(grid, [fault_orders["buggy"]], tmp_path, spec=spec,
                          retry=RetryPolicy(max_retries=1, backoff_base_s=0.2, backoff_cap_s=0.5))
    lease = result.leases[0]
    assert lease.state == "failed" and lease.attempts == 2
    assert [(f.cause, f.party) for f in lease.failures] == [("job_exception", "buyer")] * 2
    assert "InjectedJobError" in lease.reason and "buyer" in lease.reason and "gave up after 1 retries" in lease.reason
    assert "Traceback" in lease.failures[0].detail
    assert lease.provider_outage_s() == 0 and lease.reading["provider_outage_minutes"] == 0
    groups, free, total = _no_reservations_left()
    assert not groups and free == total


def test_a_gang_larger_than_the_free_chips_is_not_started_and_says_why(grid, ray_cluster, fault_orders, tmp_path):
    result, _ = _dispatch(grid, [fault_orders["too-big"]], tmp_path)
    lease = result.leases[0]
    assert lease.state == "unplaceable" and lease.attempts == 0 and not lease.placement_group
    assert "8 chips" in lease.reason and "nothing was started" in lease.reason and "free chip per node" in lease.reason
    assert not any(str(i.get("name", "")).endswith(f"-{lease.allocation_id}-0")
                   for i in ray.util.placement_group_table().values())
    # a gang larger than any node is packed over the fewest nodes (PACK), whole
    packed, strategy = reserve(997, 0, CHIPS_PER_NODE + 1, 1.0, 10.0, "chip")
    try:
        nodes = set(ray.util.placement_group_table(packed)["bundles_to_node_id"].values())
        assert strategy == "PACK" and len(nodes) == 2
    finally:
        ray.util.remove_placement_group(packed)
    assert _no_reservations_left()[0] == {}
    # while chips are held, a gang one larger than what is free is refused before any group exists
    held, _ = reserve(999, 0, NODES * CHIPS_PER_NODE - 1, 1.0, 10.0, "chip")
    try:
        with pytest.raises(Unplaceable, match="only 1 free"):
            reserve(998, 0, 2, 1.0, 2.0, "chip")
        assert [g["name"] for g in flopgrid_groups().values()] == ["flopgrid-alloc-999-0"]
    finally:
        ray.util.remove_placement_group(held)
    groups, free, total = _no_reservations_left()
    assert not groups and free == total


def test_the_store_sink_writes_readings_in_process(grid, fault_orders):
    """The in-process path: a reading through `StoreSink` lands in the store the server reads."""
    from flopgrid.api.auth import Caller
    from flopgrid.api.participants.service import list_participants
    from flopgrid.dispatch.readings import StoreSink
    from flopgrid.store import open_store

    store = open_store(grid["db"])
    try:
        me = next(p for p in list_participants(store) if p.name == "ray-dispatcher")
        order = fault_orders["too-big"]  # never ran: nothing delivered
        StoreSink(store, Caller(id=me.id, name=me.name, role="dispatcher")).post(
            order.id, {"useful_eflop": 0.0, "provider_outage_minutes": 0.0, "badput_s": {}, "productive_s": 0.0})
    finally:
        store.close()
    with Client(grid["srv"].url, grid["op"]) as c:
        assert c.allocations(grid["faults"])  # the server still answers on the same database
    import sqlite3

    rows = sqlite3.connect(grid["db"].removeprefix("sqlite:///")).execute(
        "select body from readings where allocation_id = ?", (order.id,)).fetchall()
    assert [json.loads(b)["useful_eflop"] for (b,) in rows] == [0.0]


def test_settlement_charges_the_outages_to_the_provider_and_balances(grid, fault_orders):
    with Client(grid["srv"].url, grid["op"]) as c:
        assert c.settle_market(grid["faults"])["status"] == "settled"
        ledger = c.ledger(grid["faults"])
        statements = c.statements(grid["faults"])
    assert ledger and all(t["total_micro_usd"] == 0 for t in ledger)
    assert statements and all(s["balanced"] for s in statements)
    deviations = {t["memo"]: t for t in ledger if t["memo"].startswith("real-time deviation")}
    for bid in ("kill-actor", "kill-proc", "lose-node"):
        tx = deviations[f"real-time deviation {bid} on pool-a"]
        provider = [e for e in tx["entries"] if e["account"].startswith("provider:")]
        assert provider and provider[0]["amount_micro_usd"] < 0  # the provider pays for its outage
    assert "real-time deviation buggy on pool-a" not in deviations  # the buyer's own bug costs the provider nothing

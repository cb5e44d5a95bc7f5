"""The participants' CLI against a real `flopgrid serve --auto` (SQLite): pool register/list,
market create/clear/status/prices/settle, bid submit (idempotent re-run)/list/cancel, statement;
server refusals are one line naming the field (exit 2); `--auto` runs the timeline by itself."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import assert_bad_input
from service_support import ServerProcess, auth, create_key, gate_in, make_db, run_cli, small_bid, small_pool


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    db = make_db("sqlite", None, tmp)
    keys = {r: create_key(db, r, n) for r, n in (("operator", "op"), ("provider", "p1"), ("buyer", "b1"))}
    srv = ServerProcess(db, tmp / "server.log", "--auto").start()
    yield {"srv": srv, "tmp": tmp, "keys": keys}
    srv.stop()


def fg(env, role: str | None, *args: str):
    e = {"FLOPGRID_SERVER": env["srv"].url}
    if role:
        e["FLOPGRID_KEY"] = env["keys"][role]
    return run_cli(*args, env=e)


def test_participant_commands_through_a_whole_market(env):
    tmp = env["tmp"]
    (tmp / "pools.json").write_text(json.dumps([small_pool("pool-a", "p1", chips=32), small_pool("pool-b", "p1")]))
    r = fg(env, "provider", "pool", "register", str(tmp / "pools.json"), "--json")
    assert r.returncode == 0, r.stderr
    assert [p["id"] for p in json.loads(r.stdout)["pools"]] == ["pool-a", "pool-b"]
    r = fg(env, "operator", "market", "create", "--intervals", "4", "--gate-in", "3600", "--json")
    mid = json.loads(r.stdout)["id"]
    (tmp / "bids.json").write_text(json.dumps({"bids": [small_bid(f"c-{i}", "b1", price=4 + i) for i in range(4)]}))
    for _ in range(2):  # a re-run is idempotent
        r = fg(env, "buyer", "bid", "submit", str(tmp / "bids.json"), "--market", mid, "--json")
        assert r.returncode == 0, r.stderr
    r = fg(env, "buyer", "bid", "cancel", "c-3")
    assert r.returncode == 0 and "cancelled" in r.stdout
    r = fg(env, "buyer", "bid", "list", "--market", mid, "--json")
    assert sorted((b["id"], b["status"]) for b in json.loads(r.stdout)["bids"]) == [
        ("c-0", "open"), ("c-1", "open"), ("c-2", "open"), ("c-3", "cancelled")]
    r = fg(env, "operator", "market", "clear", mid, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "cleared", r.stderr
    r = fg(env, None, "market", "prices", mid, "--csv")
    assert r.returncode == 0 and r.stdout.startswith("market,pool,interval,price_per_chip_hour")
    r = fg(env, "operator", "market", "settle", mid, "--json")
    assert json.loads(r.stdout)["status"] == "settled", r.stderr
    r = fg(env, "buyer", "statement", "--market", mid, "--json")
    sts = json.loads(r.stdout)["statements"]
    assert [s["participant"] for s in sts] == ["b1"] and sts[0]["net_usd"] < 0 and sts[0]["balanced"]
    r = fg(env, "operator", "market", "status", mid)
    assert r.returncode == 0 and "settled" in r.stdout and "cleared 3" in r.stdout


def test_server_refusals_are_one_line_naming_the_field(env):
    tmp = env["tmp"]
    mid = httpx.post(env["srv"].url + "/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
                     headers=auth(env["keys"]["operator"])).json()["id"]
    (tmp / "bad.json").write_text(json.dumps({**small_bid("bad", "b1"), "window": [0, 40]}))
    assert_bad_input(fg(env, "buyer", "bid", "submit", str(tmp / "bad.json"), "--market", mid), "422", "window")
    assert_bad_input(fg(env, None, "bid", "list"), "401")
    assert_bad_input(fg(env, "buyer", "market", "clear", mid), "403")
    r = run_cli("pool", "list", "--server", "http://127.0.0.1:9", "--key", "x")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "cannot reach" in r.stderr


def test_auto_runs_the_timeline(env):
    url, k = env["srv"].url, env["keys"]
    c = httpx.Client(base_url=url, timeout=30)
    # its own pool: under xdist this test may run without the module's first test (which registers pools)
    assert c.post("/v1/pools", json=small_pool("pool-auto", "p1"), headers=auth(k["provider"])).status_code == 201
    mid = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(2.0)},
                 headers=auth(k["operator"])).json()["id"]
    assert c.post("/v1/bids", json={**small_bid("auto-1", "b1", price=9), "market": mid},
                  headers=auth(k["buyer"])).status_code == 201
    deadline = time.monotonic() + 60
    while c.get(f"/v1/markets/{mid}", headers=auth(k["operator"])).json()["status"] != "cleared":
        assert time.monotonic() < deadline, "auto timeline did not clear"
        time.sleep(0.2)
    a = c.get("/v1/allocations", params={"market": mid}, headers=auth(k["buyer"])).json()[0]
    assert c.post(f"/v1/allocations/{a['id']}/readings", json={"useful_eflop": 1.0},
                  headers=auth(k["buyer"])).status_code == 201
    while c.get(f"/v1/markets/{mid}", headers=auth(k["operator"])).json()["status"] != "settled":
        assert time.monotonic() < deadline, "auto timeline did not settle after the readings"
        time.sleep(0.2)
    assert c.get("/v1/statements", params={"market": mid}, headers=auth(k["buyer"])).json()[0]["balanced"]
    c.close()

"""Security through HTTP against a real `flopgrid serve` process, on SQLite and PostgreSQL:
roles, other participants' objects, 401s, keys hashed at rest and absent from the logs."""

from __future__ import annotations

import time

import httpx
import pytest
from service_support import ServerProcess, auth, create_key, gate_in, make_db, small_bid, small_pool
from sqlalchemy import inspect, text

from flopgrid.store import open_store


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"sec-{request.param}")
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    db = make_db(request.param, pg, tmp)
    op = create_key(db, "operator", "op")
    srv = ServerProcess(db, tmp / "server.log").start()
    c = httpx.Client(base_url=srv.url, timeout=30)
    keys = {"op": op}
    for name, role in (("p1", "provider"), ("p2", "provider"), ("b1", "buyer"), ("b2", "buyer"), ("d1", "dispatcher")):
        r = c.post("/v1/participants", json={"name": name, "role": role}, headers=auth(op))
        assert r.status_code == 201, r.text
        keys[name] = r.json()["key"]
    for pid, prov in (("pool-p1", "p1"), ("pool-p2", "p2")):
        assert c.post("/v1/pools", json=small_pool(pid, prov), headers=auth(keys[prov])).status_code == 201
    m = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
               headers=auth(op)).json()
    for bid, buyer in (("bid-b1", "b1"), ("bid-b2", "b2"), ("bid-b1-spare", "b1")):
        r = c.post("/v1/bids", json={**small_bid(bid, buyer), "market": m["id"]}, headers=auth(keys[buyer]))
        assert r.status_code == 201, r.text
    # a second market, cleared and settled, for allocations / readings / statements / ledger
    m2 = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
                headers=auth(op)).json()
    for bid, buyer in (("m2-b1", "b1"), ("m2-b2", "b2")):
        assert c.post("/v1/bids", json={**small_bid(bid, buyer), "market": m2["id"]},
                      headers=auth(keys[buyer])).status_code == 201
    assert c.post(f"/v1/markets/{m2['id']}/clear", headers=auth(op)).status_code == 202
    for _ in range(300):
        if c.get(f"/v1/markets/{m2['id']}", headers=auth(op)).json()["status"] != "clearing":
            break
        time.sleep(0.1)
    allocs = {a["bid"]: a for a in c.get("/v1/allocations", headers=auth(op)).json()}
    assert {"m2-b1", "m2-b2"} <= set(allocs)
    yield {"c": c, "keys": keys, "market": m["id"], "m2": m2["id"], "allocs": allocs, "srv": srv, "db": db}
    c.close()
    srv.stop()


def test_missing_malformed_or_unknown_key_gets_401(world):
    c = world["c"]
    real = world["keys"]["b1"]
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer " + real[:-2] + "zz"},
                    {"Authorization": "Bearer fg_0000000000000000_abc"}):
        for method, path in (("GET", "/v1/bids"), ("GET", "/v1/markets"), ("POST", "/v1/markets"),
                             ("GET", "/v1/ledger")):
            assert c.request(method, path, headers=headers, json={}).status_code == 401, (headers, path)


def test_buyer_cannot_read_list_or_cancel_another_buyers_bid(world):
    c, k = world["c"], world["keys"]
    assert c.get("/v1/bids/bid-b1", headers=auth(k["b1"])).status_code == 200
    assert c.get("/v1/bids/bid-b1", headers=auth(k["b2"])).status_code == 404
    assert c.delete("/v1/bids/bid-b1", headers=auth(k["b2"])).status_code == 404
    listed = {b["id"] for b in c.get("/v1/bids", headers=auth(k["b2"])).json()["bids"]}
    assert listed == {"bid-b2", "m2-b2"}
    assert c.get("/v1/bids/bid-b1", headers=auth(k["b1"])).json()["status"] == "open"  # untouched
    # a body naming another buyer is refused
    r = c.post("/v1/bids", json={**small_bid("forged", "b1"), "market": world["market"]}, headers=auth(k["b2"]))
    assert r.status_code == 403 and "buyer" in r.json()["detail"]


def test_buyer_can_cancel_its_own_open_bid(world):
    c, k = world["c"], world["keys"]
    r = c.delete("/v1/bids/bid-b1-spare", headers=auth(k["b1"]))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert c.delete("/v1/bids/bid-b1-spare", headers=auth(k["b1"])).status_code == 409


def test_buyer_cannot_create_clear_or_settle_a_market(world):
    c, k, m = world["c"], world["keys"], world["market"]
    body = {"horizon": {"intervals": 4}, "gate_closure_at": gate_in(60)}
    for key in (k["b1"], k["p1"], k["d1"]):
        assert c.post("/v1/markets", json=body, headers=auth(key)).status_code == 403
        for action in ("close", "clear", "settle"):
            assert c.post(f"/v1/markets/{m}/{action}", headers=auth(key)).status_code == 403
        assert c.get("/v1/participants", headers=auth(key)).status_code == 403
    assert c.get(f"/v1/markets/{m}", headers=auth(k["op"])).json()["status"] == "open"


def test_provider_cannot_change_another_providers_pool(world):
    c, k = world["c"], world["keys"]
    new_offer = {"offer": [{"chips": 32, "price_per_chip_hour": 9.0}]}
    assert c.patch("/v1/pools/pool-p1", json=new_offer, headers=auth(k["p2"])).status_code == 404
    assert c.get("/v1/pools/pool-p1", headers=auth(k["p2"])).status_code == 404
    assert {p["id"] for p in c.get("/v1/pools", headers=auth(k["p2"])).json()} == {"pool-p2"}
    assert c.patch("/v1/pools/pool-p1", json={"provider": "p2"}, headers=auth(k["p1"])).status_code == 422
    assert c.get("/v1/pools/pool-p1", headers=auth(k["op"])).json()["offer"][0]["price_per_chip_hour"] == 2.0
    r = c.patch("/v1/pools/pool-p1", json=new_offer, headers=auth(k["p1"]))
    assert r.status_code == 200 and r.json()["offer"][0]["chips"] == 32
    assert c.post("/v1/pools", json=small_pool("pool-x", "p1"), headers=auth(k["p2"])).status_code == 403
    assert c.post("/v1/pools", json=small_pool("pool-x", "b1"), headers=auth(k["b1"])).status_code == 403


def test_allocations_readings_statements_and_ledger_are_private(world):
    c, k, a = world["c"], world["keys"], world["allocs"]
    mine, theirs = a["m2-b1"], a["m2-b2"]
    assert c.get(f"/v1/allocations/{theirs['id']}", headers=auth(k["b1"])).status_code == 404
    assert {x["bid"] for x in c.get("/v1/allocations", headers=auth(k["b1"])).json()} == {"m2-b1"}
    reading = {"useful_eflop": 1.0, "provider_outage_minutes": 0}
    assert c.post(f"/v1/allocations/{theirs['id']}/readings", json=reading, headers=auth(k["b1"])).status_code == 404
    assert c.post(f"/v1/allocations/{mine['id']}/readings", json=reading, headers=auth(k["p1"])).status_code == 403
    assert c.post(f"/v1/allocations/{mine['id']}/readings", json=reading, headers=auth(k["b1"])).status_code == 201
    assert c.post(f"/v1/allocations/{theirs['id']}/readings", json=reading, headers=auth(k["d1"])).status_code == 201
    assert c.post(f"/v1/markets/{world['m2']}/settle", headers=auth(k["op"])).status_code == 200
    sts = c.get("/v1/statements", params={"market": world["m2"]}, headers=auth(k["b1"])).json()
    assert [s["participant"] for s in sts] == ["b1"] and all(e["account"] == "buyer:b1" for e in sts[0]["entries"])
    every = c.get("/v1/statements", params={"market": world["m2"]}, headers=auth(k["op"])).json()
    assert {"b1", "b2"} <= {s["participant"] for s in every}
    txs = c.get("/v1/ledger", headers=auth(k["b2"])).json()["transactions"]
    assert txs and all(e["account"] == "buyer:b2" for t in txs for e in t["entries"])
    full = c.get("/v1/ledger", headers=auth(k["op"])).json()["transactions"]
    assert full and all(t["total_micro_usd"] == 0 for t in full)


def test_keys_are_hashed_at_rest_and_never_logged(world):
    keys = list(world["keys"].values())
    secrets_ = [k.split("_", 2)[2] for k in keys]
    store = open_store(world["db"])
    dumped = []
    with store.engine.connect() as conn:
        for table in inspect(store.engine).get_table_names():
            dumped += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
        n_keys = conn.execute(text("SELECT count(*) FROM api_keys")).scalar()
    store.close()
    assert n_keys == len(keys)
    blob = "\n".join(dumped)
    assert not any(s in blob for s in secrets_)
    log = world["srv"].log.read_text()
    assert "GET /v1/bids" in log or "/v1/" in log  # the log is the server's, with requests in it
    assert not any(s in log for s in secrets_) and "Bearer" not in log

"""The whole market cycle through HTTP on SQLite and PostgreSQL, with the concurrency rules
observed on the way: providers and buyers registered, 60 bids, a bid and a cancel after gate
closure (409 naming the gate time), two simultaneous clears (one 202, one 409), GETs answering
while HiGHS clears, prices and allocations read, readings with an outage, settlement,
statements. Every statement balances and the ledger equals `flopgrid clear` + `flopgrid settle`
run on the same scenario and delivery, to the micro-dollar."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import httpx
import pytest
from service_support import ServerProcess, auth, create_key, gate_in, make_db, run_cli

from flopgrid.market.generate import generate_scenario
from flopgrid.store import library_entries_micro

N_POOLS, N_BIDS, N_INTERVALS, SEED = 6, 60, 8, 3
OUTAGE_MINUTES = 90.0


def scenario() -> dict:
    return generate_scenario(N_POOLS, N_BIDS, N_INTERVALS, seed=SEED)


def delivery_for(allocs: list[dict]) -> dict:
    """Readings: 90% of the predicted useful EFLOP everywhere; the first allocation's provider
    has an outage."""
    out = []
    for i, a in enumerate(sorted(allocs, key=lambda a: a["bid"])):
        out.append({"bid": a["bid"], "pool": a["pool"], "useful_eflop": 0.9 * (a["useful_eflop"] or 0.0),
                    "provider_outage_minutes": OUTAGE_MINUTES if i == 0 else 0.0})
    return {"allocations": out}


@pytest.fixture(scope="module")
def library_run(tmp_path_factory) -> tuple[dict, dict]:
    """`flopgrid clear` then `flopgrid settle` (the CLI, in subprocesses) on the test's own scenario."""
    d = tmp_path_factory.mktemp("library")
    sc = scenario()
    sc = {**sc, "pools": sorted(sc["pools"], key=lambda p: p["id"]), "bids": sorted(sc["bids"], key=lambda b: b["id"])}
    (d / "scenario.json").write_text(json.dumps(sc))
    r = run_cli("clear", str(d / "scenario.json"), "--json", "--out", str(d / "result.json"), timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    (d / "delivery.json").write_text(json.dumps(delivery_for(result["allocations"])))
    r = run_cli("settle", str(d / "scenario.json"), str(d / "result.json"), str(d / "delivery.json"), "--json",
                timeout=300)
    assert r.returncode == 0, r.stderr
    return result, json.loads(r.stdout)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cycle(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"cycle-{request.param}")
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    db = make_db(request.param, pg, tmp)
    op = create_key(db, "operator", "op")
    dispatcher = create_key(db, "dispatcher", "dispatch-1")
    srv = ServerProcess(db, tmp / "server.log").start()
    c = httpx.Client(base_url=srv.url, timeout=60)
    obs: dict = {"srv": srv, "c": c, "op": op}
    sc = scenario()
    keys: dict[str, str] = {}

    def key_for(name: str, role: str) -> str:
        if name not in keys:
            r = c.post("/v1/participants", json={"name": name, "role": role}, headers=auth(op))
            assert r.status_code == 201, r.text
            keys[name] = r.json()["key"]
        return keys[name]

    for p in sc["pools"]:
        assert c.post("/v1/pools", json=p, headers=auth(key_for(p["provider"], "provider"))).status_code == 201
    m = c.post("/v1/markets", json={"horizon": sc["horizon"], "reserve": sc["reserve"], "gate_closure_at": gate_in(3600)},
               headers=auth(op)).json()
    mid = obs["market"] = m["id"]
    for b in sc["bids"]:
        r = c.post("/v1/bids", json={**b, "market": mid},
                   headers={**auth(key_for(b["buyer"], "buyer")), "Idempotency-Key": f"{mid}:{b['id']}"})
        assert r.status_code == 201, r.text
    # an Idempotency-Key replay answers the same; the same key with another body is refused
    b0 = sc["bids"][0]
    replay = c.post("/v1/bids", json={**b0, "market": mid},
                    headers={**auth(keys[b0["buyer"]]), "Idempotency-Key": f"{mid}:{b0['id']}"})
    other = c.post("/v1/bids", json={**b0, "market": mid, "intervals": 1},
                   headers={**auth(keys[b0["buyer"]]), "Idempotency-Key": f"{mid}:{b0['id']}"})
    obs["replay"], obs["other_body"] = replay, other
    # gate closure
    closed = c.post(f"/v1/markets/{mid}/close", headers=auth(op)).json()
    obs["gate"] = closed["gate_closure_at"]
    late = {**sc["bids"][1], "id": "late-bid", "market": mid}
    obs["late_bid"] = c.post("/v1/bids", json=late, headers=auth(keys[late["buyer"]]))
    obs["late_cancel"] = c.delete(f"/v1/bids/{sc['bids'][1]['id']}", headers=auth(keys[sc["bids"][1]["buyer"]]))
    # two simultaneous clears
    barrier, answers = threading.Barrier(2), []

    def clear_once() -> None:
        with httpx.Client(base_url=srv.url, timeout=60) as cc:
            barrier.wait()
            answers.append(cc.post(f"/v1/markets/{mid}/clear", headers=auth(op)))

    threads = [threading.Thread(target=clear_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    obs["clears"] = answers
    # GETs while the worker clears
    gets: list[tuple[float, int, str]] = []
    while True:
        t0 = time.perf_counter()
        r = c.get(f"/v1/markets/{mid}", headers=auth(op))
        status = r.json()["status"]
        gets.append((time.perf_counter() - t0, r.status_code, status))
        for path in ("/healthz", f"/v1/markets/{mid}/summary", "/v1/pools"):
            t0 = time.perf_counter()
            rr = c.get(path, headers=auth(op))
            gets.append((time.perf_counter() - t0, rr.status_code, status))
        if status != "clearing":
            break
        time.sleep(0.02)
    obs["gets"], obs["cleared"] = gets, c.get(f"/v1/markets/{mid}", headers=auth(op)).json()
    obs["prices"] = c.get(f"/v1/markets/{mid}/prices").json()
    obs["prices_csv"] = c.get(f"/v1/markets/{mid}/prices", params={"format": "csv"}).text
    obs["scenario"] = c.get(f"/v1/markets/{mid}/scenario", headers=auth(op)).json()
    allocs = c.get("/v1/allocations", params={"market": mid}, headers=auth(op)).json()
    obs["allocations"] = allocs
    by_bid = {a["bid"]: a for a in allocs}
    for i, rd in enumerate(delivery_for(allocs)["allocations"]):
        a = by_bid[rd["bid"]]
        buyer_key = keys[a["buyer"]] if i % 2 == 0 else dispatcher
        r = c.post(f"/v1/allocations/{a['id']}/readings", json={k: v for k, v in rd.items() if k not in ("bid", "pool")}
                   | {"badput_s": {"data_stall": 12.0}}, headers=auth(buyer_key))
        assert r.status_code == 201, r.text
    settled = c.post(f"/v1/markets/{mid}/settle", headers=auth(op))
    assert settled.status_code == 200, settled.text
    obs["second_settle"] = c.post(f"/v1/markets/{mid}/settle", headers=auth(op))
    obs["statements"] = c.get("/v1/statements", params={"market": mid}, headers=auth(op)).json()
    obs["own_statement"] = c.get("/v1/statements", params={"market": mid}, headers=auth(keys[b0["buyer"]])).json()
    obs["ledger"] = c.get("/v1/ledger", params={"market": mid}, headers=auth(op)).json()["transactions"]
    obs["tmp"] = str(tmp_path_factory.getbasetemp())
    yield obs
    c.close()
    srv.stop()


def test_idempotency_key_replays_and_refuses_another_body(cycle):
    assert cycle["replay"].status_code == 201 and cycle["replay"].headers.get("Idempotent-Replayed") == "true"
    assert cycle["other_body"].status_code == 409 and "Idempotency-Key" in cycle["other_body"].json()["detail"]


def test_bid_and_cancel_after_gate_closure_get_409_naming_the_gate_time(cycle):
    gate = cycle["gate"].replace("+00:00", "Z")
    for r in (cycle["late_bid"], cycle["late_cancel"]):
        assert r.status_code == 409
        assert gate in r.json()["detail"] and "gate closed" in r.json()["detail"]


def test_two_simultaneous_clears_give_one_clearing_and_one_409(cycle):
    assert sorted(r.status_code for r in cycle["clears"]) == [202, 409]
    ok = next(r for r in cycle["clears"] if r.status_code == 202)
    assert ok.json()["status_url"] == f"/v1/markets/{cycle['market']}" and ok.headers["location"] == ok.json()["status_url"]
    assert cycle["cleared"]["status"] == "cleared" and cycle["cleared"]["solver_status"] == "optimal"
    assert len({a["bid"] for a in cycle["allocations"]}) == len(cycle["allocations"])  # one clearing, no repeats


def test_gets_keep_answering_during_the_clear(cycle):
    during = [g for g in cycle["gets"] if g[2] == "clearing"]
    assert len(during) >= 8, f"only {len(during)} GETs while clearing"
    assert all(code == 200 for _, code, _ in cycle["gets"])
    assert max(s for s, _, _ in during) < 2.0


def test_prices_are_public_and_the_csv_matches_the_json(cycle):
    prices = cycle["prices"]
    assert prices and all(p["price_per_chip_hour"] >= 0 for p in prices)
    lines = cycle["prices_csv"].strip().splitlines()
    assert lines[0] == "market,pool,interval,price_per_chip_hour,cleared_chips" and len(lines) == len(prices) + 1


def test_the_served_scenario_is_the_submitted_one(cycle):
    sc = scenario()
    served = cycle["scenario"]
    assert {b["id"] for b in served["bids"]} == {b["id"] for b in sc["bids"]} and len(sc["bids"]) >= 50
    mine = {b["id"]: b for b in sc["bids"]}
    for b in served["bids"]:
        assert b["window"] == mine[b["id"]]["window"] and b["buyer"] == mine[b["id"]]["buyer"]


def test_every_statement_balances_and_a_second_settle_is_refused(cycle):
    assert cycle["second_settle"].status_code == 409
    assert all(t["total_micro_usd"] == 0 for t in cycle["ledger"])
    sts = cycle["statements"]
    assert sts and all(s["balanced"] for s in sts)
    for s in sts:
        assert s["net_micro_usd"] == s["day_ahead_micro_usd"] + s["real_time_micro_usd"]
        assert s["net_micro_usd"] == sum(e["amount_micro_usd"] for e in s["entries"])
    assert any(s["real_time_micro_usd"] != 0 for s in sts), "the outage produced no real-time deviation"
    assert len(cycle["own_statement"]) == 1


def test_figures_equal_flopgrid_clear_and_settle_to_the_micro_dollar(cycle, library_run):
    result, settled = library_run
    served = sorted((a["bid"], a["pool"], a["chips"], a["start"]) for a in cycle["allocations"])
    assert served == sorted((a["bid"], a["pool"], a["chips"], a["start"]) for a in result["allocations"])
    expected: dict[str, int] = defaultdict(int)
    for tx in settled["transactions"]:
        for acct, amt in library_entries_micro(_entries(tx)):
            expected[acct] += amt
    got: dict[str, int] = defaultdict(int)
    for tx in cycle["ledger"]:
        for e in tx["entries"]:
            got[e["account"]] += e["amount_micro_usd"]
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    nets = {s["account"]: s["net_micro_usd"] for s in cycle["statements"]}
    assert all(nets[a] == expected[a] for a in nets)
    assert len(settled["transactions"]) == len(cycle["ledger"]) >= 2


def _entries(tx: dict) -> list:
    from types import SimpleNamespace

    return [SimpleNamespace(**e) for e in tx["entries"]]

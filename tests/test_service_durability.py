"""Durability: a bounded loopback load submits bids with Idempotency-Keys while the server is
SIGKILLed and restarted (4 times, one of them in the middle of a clearing). Every bid that got a
2xx is in the database afterwards, retries made no duplicates, the interrupted clearing resumes,
and the ledger balances after settlement. SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest
from service_support import ServerProcess, auth, create_key, gate_in, make_db, small_bid, small_pool
from sqlalchemy import func, select

from flopgrid.store import open_store
from flopgrid.store.models import BidRow, LedgerEntry, LedgerTransaction

N_BIDS, CLIENTS, KILLS = 400, 4, 3


@pytest.fixture(params=["sqlite", "postgresql"])
def outcome(request, tmp_path):
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    db = make_db(request.param, pg, tmp_path)
    op, buyer, prov = create_key(db, "operator", "op"), create_key(db, "buyer", "b1"), create_key(db, "provider", "p1")
    srv = ServerProcess(db, tmp_path / "server.log").start()
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        assert c.post("/v1/pools", json=small_pool("pool-1", "p1", chips=4096, price=1.0),
                      headers=auth(prov)).status_code == 201
        mid = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
                     headers=auth(op)).json()["id"]
    acked: dict[int, str] = {}
    retries = [0]
    lock = threading.Lock()
    rng = random.Random(7)

    def submit(i: int, c: httpx.Client) -> None:
        body = {**small_bid(f"bid-{i:04d}", "b1", chips=8, price=3.0 + (i % 7)), "market": mid}
        while True:
            try:
                r = c.post("/v1/bids", json=body, headers={**auth(buyer), "Idempotency-Key": f"key-{i}"})
                if r.status_code in (200, 201):
                    with lock:
                        acked[i] = r.json()["id"]
                    return
                assert r.status_code >= 500, r.text  # only a dying server may refuse
            except httpx.HTTPError:
                pass
            with lock:
                retries[0] += 1
            time.sleep(0.05)

    def client(ids: list[int]) -> None:
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            for i in ids:
                submit(i, c)
                if rng.random() < 0.1:  # a client retrying a bid it already got an answer for
                    submit(i, c)

    threads = [threading.Thread(target=client, args=(list(range(k, N_BIDS, CLIENTS)),)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    kills = 0
    while any(t.is_alive() for t in threads) and kills < KILLS:
        time.sleep(0.2 + rng.random() * 0.3)
        srv.kill()
        kills += 1
        srv.start()
    during_load = kills
    for t in threads:
        t.join(120)
    # kill during a clearing: the restarted server resumes it
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.post(f"/v1/markets/{mid}/clear", headers=auth(op)).status_code == 202
        srv.kill()
        kills += 1
        srv.start()
        for _ in range(600):
            status = c.get(f"/v1/markets/{mid}", headers=auth(op)).json()["status"]
            if status != "clearing":
                break
            time.sleep(0.1)
        settle = c.post(f"/v1/markets/{mid}/settle", headers=auth(op))
    srv.stop()
    yield {"db": db, "acked": acked, "kills": kills, "status": status, "settle": settle, "retries": retries[0],
           "market": mid, "during_load": during_load}


def test_acknowledged_bids_survive_kills_without_duplicates_and_the_ledger_balances(outcome):
    assert outcome["during_load"] >= 3 and outcome["kills"] >= 4 and outcome["retries"] > 0
    assert len(outcome["acked"]) == N_BIDS
    store = open_store(outcome["db"])
    with store.read() as s:
        ids = list(s.scalars(select(BidRow.id).where(BidRow.market_id == outcome["market"])))
        keys = list(s.scalars(select(BidRow.idempotency_key)))
        sums = s.execute(select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_micro_usd))
                         .group_by(LedgerEntry.transaction_id)).all()
        n_tx = s.scalar(select(func.count()).select_from(LedgerTransaction))
    store.close()
    assert set(outcome["acked"].values()) <= set(ids)
    assert len(ids) == len(set(ids)) == N_BIDS and len(keys) == len(set(keys))
    assert outcome["status"] == "cleared" and outcome["settle"].status_code == 200, outcome["settle"].text
    assert n_tx >= 1 and all(total == 0 for _, total in sums)

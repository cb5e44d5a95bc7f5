"""Bad input through HTTP: schemathesis over /openapi.json (bounded) finds no 5xx and no
response breaking the schema; an invalid order gets 422 naming the field; a rejected request
writes nothing (row counts of every table before and after)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_support import ServerProcess, auth, create_key, gate_in, make_db, small_bid, small_pool
from sqlalchemy import inspect, text

from flopgrid.store import open_store

EXAMPLES_PER_ENDPOINT = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"input-{request.param}")
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    db = make_db(request.param, pg, tmp)
    keys = {"operator": create_key(db, "operator", "op"), "buyer": create_key(db, "buyer", "b1"),
            "provider": create_key(db, "provider", "p1")}
    srv = ServerProcess(db, tmp / "server.log").start()
    c = httpx.Client(base_url=srv.url, timeout=30)
    assert c.post("/v1/pools", json=small_pool("pool-1", "p1"), headers=auth(keys["provider"])).status_code == 201
    m = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
               headers=auth(keys["operator"])).json()
    assert c.post("/v1/bids", json={**small_bid("bid-1", "b1"), "market": m["id"]},
                  headers=auth(keys["buyer"])).status_code == 201
    yield {"srv": srv, "db": db, "keys": keys, "c": c, "market": m["id"]}
    c.close()
    srv.stop()


def test_openapi_fuzz_no_5xx_no_schema_break(served):
    """Every operation of /openapi.json, a few generated requests each, sent as each role."""
    schema = schemathesis.openapi.from_url(served["srv"].url + "/openapi.json")
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 20
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES_PER_ENDPOINT, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            for role in ("operator", "buyer", "provider"):
                case.call_and_validate(headers=auth(served["keys"][role]), checks=checks)

        run()


def _counts(db: str) -> dict[str, int]:
    store = open_store(db)
    try:
        with store.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                    for t in inspect(store.engine).get_table_names()}
    finally:
        store.close()


BAD_BIDS = [
    ({"window": [0, 99]}, "window"),
    ({"window": [3, 4], "intervals": 2}, "window"),
    ({"model": "no-such-model"}, "model"),
    ({"chips": [-8]}, "chips"),
    ({"chips": "eight"}, "chips"),
    ({"max_price_per_chip_hour": -1}, "max_price_per_chip_hour"),
    ({"max_price_per_eflop": 2.0}, "max_price_per_eflop"),  # two price forms
    ({"colour": "blue"}, "colour"),
    ({"market": "no-such-market"}, "market"),
    ({"intervals": None}, "intervals"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BIDS, ids=[f for _, f in BAD_BIDS])
def test_invalid_bid_gets_422_naming_the_field_and_writes_nothing(served, change, field):
    c = served["c"]
    before = _counts(served["db"])
    body = {**small_bid("bad-bid", "b1"), "market": served["market"], **change}
    r = c.post("/v1/bids", json=body, headers={**auth(served["keys"]["buyer"]), "Idempotency-Key": "k-" + field})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"], r.json()
    assert _counts(served["db"]) == before


@pytest.mark.parametrize(("path", "key", "body", "field"), [
    ("/v1/pools", "provider", {**small_pool("pool-bad", "p1"),
                               "offer": [{"chips": 8, "price_per_chip_hour": 3}, {"chips": 8, "price_per_chip_hour": 1}]},
     "offer"),
    ("/v1/pools", "provider", {**small_pool("pool-bad", "p1"), "hardware": "h1000"}, "hardware"),
    ("/v1/pools", "provider", {**small_pool("pool-bad", "p1"), "island_chips": 999}, "island_chips"),
    ("/v1/markets", "operator", {"horizon": {"intervals": 0}, "gate_closure_at": "2030-01-01T00:00:00Z"}, "intervals"),
    ("/v1/markets", "operator", {"horizon": {"intervals": 4}, "gate_closure_at": "2030-01-01T00:00:00"},
     "gate_closure_at"),
    ("/v1/participants", "operator", {"name": "x", "role": "king"}, "role"),
])
def test_other_invalid_bodies_get_422_naming_the_field(served, path, key, body, field):
    before = _counts(served["db"])
    r = served["c"].post(path, json=body, headers=auth(served["keys"][key]))
    assert r.status_code == 422 and field in r.json()["detail"], r.text
    assert _counts(served["db"]) == before


def test_refused_by_rule_writes_nothing(served):
    c, k = served["c"], served["keys"]
    before = _counts(served["db"])
    dup = c.post("/v1/bids", json={**small_bid("bid-1", "b1"), "market": served["market"]}, headers=auth(k["buyer"]))
    assert dup.status_code == 409 and "'id'" in dup.json()["detail"]
    assert c.post("/v1/pools", json=small_pool("pool-1", "p1"), headers=auth(k["provider"])).status_code == 409
    assert c.post(f"/v1/markets/{served['market']}/settle", headers=auth(k["operator"])).status_code == 409
    assert _counts(served["db"]) == before

"""The store on SQLite and PostgreSQL: migrations, integer ledger refusing unbalanced
transactions, keys only as salted hashes, one transaction per write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from flopgrid.store import LedgerImbalance, library_entries_micro, micro_usd, open_store, post_transaction
from flopgrid.store.keys import split_key, verify_key
from flopgrid.store.models import ApiKey, LedgerEntry, LedgerTransaction, Participant

TABLES = {"participants", "api_keys", "pools", "markets", "bids", "allocations", "prices", "readings", "settlements",
          "ledger_transactions", "ledger_entries", "alembic_version"}


@pytest.fixture
def store(db_url):
    s = open_store(db_url, upgrade=True)
    yield s
    s.close()


def test_migrations_create_every_table(store):
    assert TABLES <= set(inspect(store.engine).get_table_names())
    store.upgrade()  # idempotent


def test_balanced_transaction_is_stored_in_integer_micro_dollars(store):
    with store.write() as s:
        post_transaction(s, "day_ahead", "t", [("buyer:a", -1_500_001, None), ("provider:b", 1_500_001, None)])
    with store.read() as s:
        amounts = sorted(s.scalars(select(LedgerEntry.amount_micro_usd)))
        assert amounts == [-1_500_001, 1_500_001] and all(isinstance(a, int) for a in amounts)


def test_unbalanced_transaction_is_refused_and_writes_nothing(store):
    with pytest.raises(LedgerImbalance, match="sum to 1 micro-USD"):
        with store.write() as s:
            post_transaction(s, "day_ahead", "off by one", [("buyer:a", -10, None), ("provider:b", 11, None)])
    # bypassing post_transaction: the store's flush hook refuses it too
    with pytest.raises(LedgerImbalance):
        with store.write() as s:
            tx = LedgerTransaction(kind="day_ahead", memo="raw")
            s.add(tx)
            s.flush()
            s.add(LedgerEntry(transaction_id=tx.id, account="buyer:a", amount_micro_usd=-5))
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 0
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_ledger_entries_are_append_only(store):
    with store.write() as s:
        post_transaction(s, "day_ahead", "t", [("buyer:a", -7, None), ("provider:b", 7, None)])
    with pytest.raises(LedgerImbalance, match="append-only"):
        with store.write() as s:
            e = s.scalars(select(LedgerEntry)).first()
            e.amount_micro_usd = 8
    with store.read() as s:
        assert sorted(s.scalars(select(LedgerEntry.amount_micro_usd))) == [-7, 7]


def test_keys_are_stored_as_salted_hashes_only(store):
    from flopgrid.api.participants.service import create_key

    a, b = create_key(store, "alice", "buyer"), create_key(store, "bob", "buyer")
    with store.read() as s:
        rows = s.scalars(select(ApiKey)).all()
        names = dict(s.execute(select(Participant.id, Participant.name)).all())
    assert len(rows) == 2 and len({r.salt for r in rows}) == 2
    for new, row in zip((a, b), sorted(rows, key=lambda r: names[r.participant_id])):
        key_id, secret = split_key(new.key)
        assert row.key_id == key_id and secret not in (row.salt, row.secret_hash)
        assert verify_key(secret, row.salt, row.secret_hash) and not verify_key(secret + "x", row.salt, row.secret_hash)


def test_library_entries_convert_to_a_zero_sum_in_micro_dollars():
    from flopgrid.market.ledger import Entry

    # three thirds of a dollar: each rounds, the residual lands on the ISO account
    entries = [Entry("buyer:a", -1 / 3), Entry("buyer:b", -1 / 3), Entry("buyer:c", -1 / 3), Entry("iso:day_ahead", 1.0)]
    out = library_entries_micro(entries)
    assert sum(m for _, m in out) == 0
    assert dict(out)["buyer:a"] == -333_333 and dict(out)["iso:day_ahead"] == 999_999
    assert micro_usd(2.0000005) == 2_000_001 and micro_usd(-2.0000005) == -2_000_001

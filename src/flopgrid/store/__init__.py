"""The durable store (DESIGN.md layers: `flopgrid.store`): participants, pools, markets, bids,
allocations, prices, readings, settlements and the double-entry ledger, in SQLAlchemy 2.

SQLite (a file, WAL mode) by default, PostgreSQL by URL (psycopg 3). The schema is owned by
Alembic migrations (`flopgrid db upgrade`, also run by `flopgrid serve` on start). Money is
integer micro-dollars; a ledger transaction whose entries do not sum to zero is refused by
the store itself (`flopgrid.store.ledger`).
"""

from flopgrid.store.db import Store, default_db_url, open_store
from flopgrid.store.keys import KeyPair, hash_key, new_key, verify_key
from flopgrid.store.ledger import (
           LedgerImbalance,
           library_entries_micro,
           micro_usd,
           post_transaction,
           usd,
)

__all__ = [
           "KeyPair",
           "LedgerImbalance",
           "Store",
           "default_db_url",
           "hash_key",
           "library_entries_micro",
           "micro_usd",
           "new_key",
           "open_store",
           "post_transaction",
           "usd",
           "verify_key",
]

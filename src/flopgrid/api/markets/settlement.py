"""Settling a cleared market with the library's two-settlement (`flopgrid.market` settle), so a
service statement equals `flopgrid settle` on the same scenario, result and delivery to the
micro-dollar. The computation runs before the write; the write is one transaction guarded by
`status = 'cleared'` (a second settle gets 409 and writes nothing)."""

from __future__ import annotations

import logging

from flopgrid.api.allocations.service import delivery_for
from flopgrid.api.errors import conflict
from flopgrid.api.markets import repository
from flopgrid.api.markets.schemas import MarketOut
from flopgrid.api.markets.service import effective_status, get_row, to_out
from flopgrid.api.participants.repository import ids_by_name
from flopgrid.market import Scenario
from flopgrid.market.settlement import settle
from flopgrid.store import Store, library_entries_micro, post_transaction
from flopgrid.store.models import SettlementRow, utcnow

log = logging.getLogger("flopgrid.api.settlement")


def _kind(memo: str) -> str:
    return "day_ahead" if memo.startswith("day-ahead") else "real_time"


def _participant(account: str) -> str | None:
    kind, _, name = account.partition(":")
    return name if kind in ("buyer", "provider") else None


def settle_market(store: Store, market_id: str) -> MarketOut:
    with store.read() as s:
        m = get_row(s, market_id)
        if m.status != "cleared":
            raise conflict(f"market {market_id!r} is {effective_status(m)}; only a cleared market can be settled")
        scenario, result = Scenario.model_validate(m.scenario), m.result
        delivery = delivery_for(s, market_id)
    settlement = settle(scenario, result, delivery)
    txs = [(tx.memo, library_entries_micro(tx.entries)) for tx in settlement.ledger.transactions]
    with store.write() as s:
        if not repository.transition(s, market_id, ("cleared",), "settled", settled_at=utcnow()):
            raise conflict(f"market {market_id!r} is no longer cleared; it was settled or changed meanwhile")
        ids = ids_by_name(s, {n for _, entries in txs for a, _ in entries if (n := _participant(a))})
        for memo, entries in txs:
            post_transaction(s, _kind(memo), memo, [(a, amt, ids.get(_participant(a) or "")) for a, amt in entries],
                             market_id=market_id)
        d = settlement.to_dict()
        s.add(SettlementRow(market_id=market_id, deviations={"deviations": d["deviations"],
                                                             "real_time_prices": d["real_time_prices"]}))
        s.flush()
        out = to_out(get_row(s, market_id))
    log.info("market %s settled: %d transactions", market_id, len(txs))
    return out

"""Statements (per participant and market) and the ledger."""

from __future__ import annotations

from collections import defaultdict

from flopgrid.api.accounts import repository
from flopgrid.api.accounts.schemas import (
    EntryOut,
    LedgerPage,
    Statement,
    TransactionOut,
)
from flopgrid.api.allocations import repository as alloc_repo
from flopgrid.api.allocations.service import to_out as alloc_out
from flopgrid.api.auth import Caller
from flopgrid.api.errors import conflict, invalid
from flopgrid.api.markets.service import effective_status, get_row
from flopgrid.store import Store, micro_usd, usd
from flopgrid.store.models import LedgerEntry, LedgerTransaction, Participant


def _entry(e: LedgerEntry, tx: LedgerTransaction) -> EntryOut:
    return EntryOut(transaction=tx.id, kind=tx.kind, memo=tx.memo, market=tx.market_id, account=e.account,
                    amount_micro_usd=e.amount_micro_usd, amount_usd=usd(e.amount_micro_usd), created_at=tx.created_at)


def statements(store: Store, caller: Caller, market_id: str) -> list[Statement]:
    with store.read() as s:
        m = get_row(s, market_id)
        if m.status != "settled":
            raise conflict(f"market {market_id!r} is {effective_status(m)}; statements exist once it is settled")
        balanced = repository.unbalanced_transactions(s, market_id) == 0
        rows = repository.entries(s, caller, market_id)
        by_pid: dict[int, list[EntryOut]] = defaultdict(list)
        for e, tx in rows:
            if e.participant_id is not None:
                by_pid[e.participant_id].append(_entry(e, tx))
        allocs = [a for a in alloc_repo.listing(s, caller, market_id)]
        pids = set(by_pid) | {a.buyer_id for a in allocs} | {a.provider_id for a in allocs}
        if not caller.is_operator:
            pids = {caller.id}
        out = []
        for pid in sorted(pids):
            p = s.get(Participant, pid)
            mine = [a for a in allocs if pid in (a.buyer_id, a.provider_id)]
            uplift = 0.0
            for a in mine:
                d = a.detail
                if a.buyer_id == pid:
                    uplift += d.get("uplift_credit_usd", 0.0) - d.get("uplift_charge_usd", 0.0)
            for pos in (m.result or {}).get("providers", []):
                if pos["provider"] == p.name:
                    uplift += pos.get("uplift_credit_usd", 0.0) - pos.get("uplift_charge_usd", 0.0)
            ents = by_pid.get(pid, [])
            da = sum(e.amount_micro_usd for e in ents if e.kind == "day_ahead")
            rt = sum(e.amount_micro_usd for e in ents if e.kind == "real_time")
            up = micro_usd(uplift)
            account = next((e.account for e in ents), f"{'provider' if p.role == 'provider' else 'buyer'}:{p.name}")
            out.append(Statement(participant=p.name, account=account, market=market_id,
                                 positions=[alloc_out(a) for a in mine], day_ahead_micro_usd=da, real_time_micro_usd=rt,
                                 uplift_micro_usd=up, net_micro_usd=da + rt, day_ahead_usd=usd(da), real_time_usd=usd(rt),
                                 uplift_usd=usd(up), net_usd=usd(da + rt), entries=ents, balanced=balanced))
        return out


def ledger(store: Store, caller: Caller, market_id: str | None, limit: int, cursor: str | None) -> LedgerPage:
    after = 0
    if cursor:
        if not cursor.isdigit():
            raise invalid("cursor", "must be the next_cursor of an earlier page")
        after = int(cursor)
    with store.read() as s:
        rows = repository.entries(s, caller, market_id, after, limit)
    txs: dict[int, TransactionOut] = {}
    for e, tx in rows:
        t = txs.setdefault(tx.id, TransactionOut(id=tx.id, kind=tx.kind, memo=tx.memo, market=tx.market_id,
                                                 entries=[], total_micro_usd=0))
        t.entries.append(_entry(e, tx))
        t.total_micro_usd += e.amount_micro_usd
    out = list(txs.values())
    return LedgerPage(transactions=out, next_cursor=str(out[-1].id) if len(out) == limit else None)

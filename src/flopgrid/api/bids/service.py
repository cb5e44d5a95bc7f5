"""Submitting, listing and cancelling bids.

Idempotency-Key: the same key and body give the same answer (the stored bid), the same key
and another body 409; a retry after a crash or a lost answer therefore never duplicates a bid.
After gate closure a bid or cancel gets 409 naming the gate time."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.exc import IntegrityError

from flopgrid.api.auth import Caller, own_name
from flopgrid.api.bids import repository
from flopgrid.api.bids.schemas import BidIn, BidOut, BidPage
from flopgrid.api.errors import ApiError, conflict, invalid, not_found
from flopgrid.api.markets import repository as markets
from flopgrid.market import Bid, Horizon, Scenario
from flopgrid.market.validation import validate_scenario
from flopgrid.store import Store
from flopgrid.store.models import BidRow, MarketRow, utcnow


def to_out(b: BidRow) -> BidOut:
    return BidOut(**b.spec, market=b.market_id, status=b.status, reason=b.reason, created_at=b.created_at)


def _gate_open(m: MarketRow, action: str) -> None:
    gate = m.gate_closure_at.isoformat().replace("+00:00", "Z")
    if m.status != "open" or utcnow() >= m.gate_closure_at:
        raise conflict(f"market {m.id!r}: gate closed at {gate} ({action} refused; market is {m.status})")


def _request_hash(body: BidIn) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def submit(store: Store, caller: Caller, body: BidIn, idempotency_key: str | None) -> tuple[BidOut, bool]:
    """(the bid, created?) - created False when an Idempotency-Key replay returned the stored one."""
    buyer = own_name(caller, body.buyer, "buyer")
    bid = Bid.model_validate({**body.model_dump(exclude={"market"}, exclude_none=True), "buyer": buyer})
    digest = _request_hash(body) if idempotency_key else None
    for attempt in (1, 2):
        try:
            return _submit_once(store, caller, body.market, bid, idempotency_key, digest)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _submit_once(store: Store, caller: Caller, market_id: str, bid: Bid, key: str | None,
                 digest: str | None) -> tuple[BidOut, bool]:
    with store.write() as s:
        if key:
            prior = repository.by_idempotency_key(s, caller.id, key)
            if prior is not None:
                if prior.request_hash != digest:
                    raise conflict("header 'Idempotency-Key': already used with a different body")
                return to_out(prior), False
        m = markets.get(s, market_id, for_share=True)
        if m is None:
            raise invalid("market", f"no market {market_id!r}")
        _gate_open(m, "bid")
        validate_scenario(Scenario(horizon=Horizon.model_validate(m.horizon), bids=[bid]), "bid")
        if repository.id_taken(s, bid.id):
            raise conflict(f"field 'id': bid {bid.id!r} already exists")
        row = BidRow(id=bid.id, market_id=m.id, owner_id=caller.id, spec=bid.model_dump(mode="json", exclude_none=True),
                     status="open", idempotency_key=key, request_hash=digest, created_at=utcnow())
        s.add(row)
        s.flush()
        return to_out(row), True


def get(store: Store, caller: Caller, bid_id: str) -> BidOut:
    with store.read() as s:
        b = repository.get_visible(s, caller, bid_id)
        if b is None:
            raise not_found("bid", bid_id)
        return to_out(b)


def listing(store: Store, caller: Caller, market_id: str | None, limit: int, cursor: str | None) -> BidPage:
    if cursor is not None and not cursor.isdigit():
        raise invalid("cursor", "must be the next_cursor of an earlier page")
    with store.read() as s:
        rows = repository.page(s, caller, market_id, int(cursor or 0), limit)
        return BidPage(bids=[to_out(b) for b in rows], next_cursor=str(rows[-1].seq) if len(rows) == limit else None)


def cancel(store: Store, caller: Caller, bid_id: str) -> BidOut:
    with store.write() as s:
        b = repository.get_visible(s, caller, bid_id)
        if b is None:
            raise not_found("bid", bid_id)
        _gate_open(markets.get(s, b.market_id, for_share=True), "cancel")
        if b.status != "open":
            raise ApiError(409, f"bid {bid_id!r} is {b.status}; only an open bid can be cancelled")
        b.status, b.reason = "cancelled", "cancelled by the buyer"
        s.flush()
        return to_out(b)

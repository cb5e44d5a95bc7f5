"""`/v1/bids`: buyers submit, list and cancel their own bids."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from flopgrid.api.auth import AnyCaller, Caller, require
from flopgrid.api.bids import service
from flopgrid.api.bids.schemas import BidIn, BidOut, BidPage
from flopgrid.api.deps import StoreDep

router = APIRouter(prefix="/v1/bids", tags=["bids"])
Buyer = Annotated[Caller, require("buyer")]


@router.post("", status_code=201, response_model=BidOut)
def submit(body: BidIn, store: StoreDep, caller: Buyer, response: Response,
           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> BidOut:
    """A Bid plus `market`. With `Idempotency-Key`, a retry returns the stored bid."""
    out, created = service.submit(store, caller, body, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


@router.get("", response_model=BidPage)
def listing(store: StoreDep, caller: AnyCaller, market: Annotated[str | None, Query(max_length=40)] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            cursor: Annotated[str | None, Query(max_length=40)] = None) -> BidPage:
    return service.listing(store, caller, market, limit, cursor)


@router.get("/{bid_id}", response_model=BidOut)
def get(bid_id: str, store: StoreDep, caller: AnyCaller) -> BidOut:
    return service.get(store, caller, bid_id)


@router.delete("/{bid_id}", response_model=BidOut)
def cancel(bid_id: str, store: StoreDep, caller: Buyer) -> BidOut:
    """Cancel an open bid while its market is open (else 409 naming the gate time)."""
    return service.cancel(store, caller, bid_id)

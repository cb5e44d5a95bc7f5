"""`/v1/markets`: the operator drives the timeline; prices and summary are public."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from flopgrid.api.auth import AnyCaller, Operator
from flopgrid.api.deps import StoreDep
from flopgrid.api.markets import clearing, service, settlement
from flopgrid.api.markets.schemas import Accepted, MarketIn, MarketOut, Summary
from flopgrid.market import PriceRow

router = APIRouter(prefix="/v1/markets", tags=["markets"])
public = APIRouter(prefix="/v1/markets", tags=["public"])


@router.post("", status_code=201, response_model=MarketOut)
def create(body: MarketIn, store: StoreDep, _op: Operator) -> MarketOut:
    return service.create(store, body)


@router.get("", response_model=list[MarketOut])
def listing(store: StoreDep, _caller: AnyCaller) -> list[MarketOut]:
    return service.listing(store)


@router.get("/{market_id}", response_model=MarketOut)
def get(market_id: str, store: StoreDep, _caller: AnyCaller) -> MarketOut:
    return service.get(store, market_id)


@router.get("/{market_id}/scenario", response_model=dict[str, Any])
def scenario(market_id: str, store: StoreDep, _op: Operator) -> dict[str, Any]:
    """The scenario as cleared (or as it stands): input of `flopgrid clear` / `flopgrid settle`."""
    service.get(store, market_id)
    return clearing.scenario_dict(store, market_id)


@router.post("/{market_id}/close", response_model=MarketOut)
def close(market_id: str, store: StoreDep, _op: Operator) -> MarketOut:
    return service.close(store, market_id)


@router.post("/{market_id}/clear", status_code=202, response_model=Accepted)
def clear(market_id: str, store: StoreDep, _op: Operator, request: Request) -> JSONResponse:
    """Start the clearing off the request path; poll the status URL. A second clear gets 409."""
    acc = service.request_clear(store, market_id)
    request.app.state.worker.submit(market_id)
    return JSONResponse(acc.model_dump(), status_code=202, headers={"Location": acc.status_url})


@router.post("/{market_id}/settle", response_model=MarketOut)
def settle(market_id: str, store: StoreDep, _op: Operator) -> MarketOut:
    return settlement.settle_market(store, market_id)


@public.get("/{market_id}/prices", response_model=list[PriceRow],
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def prices(market_id: str, store: StoreDep,
           format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    """Price per (pool, interval), USD per chip-hour. Public, no key."""
    rows = service.published_prices(store, market_id)
    if format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["market", "pool", "interval", "price_per_chip_hour", "cleared_chips"])
        for p in rows:
            w.writerow([market_id, p.pool, p.interval, f"{p.price_per_chip_hour:.6f}", p.cleared_chips])
        return Response(buf.getvalue(), media_type="text/csv")
    return rows


@public.get("/{market_id}/summary", response_model=Summary)
def summary(market_id: str, store: StoreDep) -> Summary:
    """Cleared volume, price range, unserved count, solver status and gap. Public."""
    return service.summary(store, market_id)



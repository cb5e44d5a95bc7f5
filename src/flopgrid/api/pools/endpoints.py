"""`/v1/pools`: providers register and change their own pools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from flopgrid.api.auth import AnyCaller, Caller, require
from flopgrid.api.deps import StoreDep
from flopgrid.api.pools import service
from flopgrid.api.pools.schemas import PoolIn
from flopgrid.market import Pool

router = APIRouter(prefix="/v1/pools", tags=["pools"])
Provider = Annotated[Caller, require("provider")]


@router.post("", status_code=201, response_model=Pool)
def register(body: PoolIn, store: StoreDep, caller: Provider) -> Pool:
    return service.register(store, caller, body)


@router.get("", response_model=list[Pool])
def listing(store: StoreDep, caller: AnyCaller) -> list[Pool]:
    return service.listing(store, caller)


@router.get("/{pool_id}", response_model=Pool)
def get(pool_id: str, store: StoreDep, caller: AnyCaller) -> Pool:
    return service.get(store, caller, pool_id)


@router.patch("/{pool_id}", response_model=Pool)
def patch(pool_id: str, store: StoreDep, caller: Provider,
          changes: Annotated[dict[str, Any], Body(description="Pool fields to change (merged)")]) -> Pool:
    return service.patch(store, caller, pool_id, changes)

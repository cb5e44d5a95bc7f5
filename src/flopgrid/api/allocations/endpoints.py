"""`/v1/allocations` and their readings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from flopgrid.api.allocations import service
from flopgrid.api.allocations.schemas import AllocationOut, Reading, ReadingOut
from flopgrid.api.auth import AnyCaller, Caller, require
from flopgrid.api.deps import StoreDep

router = APIRouter(prefix="/v1/allocations", tags=["allocations"])


@router.get("", response_model=list[AllocationOut])
def listing(store: StoreDep, caller: AnyCaller,
            market: Annotated[str | None, Query(max_length=40)] = None) -> list[AllocationOut]:
    return service.listing(store, caller, market)


@router.get("/{alloc_id}", response_model=AllocationOut)
def get(alloc_id: int, store: StoreDep, caller: AnyCaller) -> AllocationOut:
    return service.get(store, caller, alloc_id)


@router.post("/{alloc_id}/readings", status_code=201, response_model=ReadingOut)
def post_reading(alloc_id: int, body: Reading, store: StoreDep,
                 caller: Annotated[Caller, require("buyer", "dispatcher")]) -> ReadingOut:
    return service.post_reading(store, caller, alloc_id, body)

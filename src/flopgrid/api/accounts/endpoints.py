"""`/v1/statements` and `/v1/ledger`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from flopgrid.api.accounts import service
from flopgrid.api.accounts.schemas import LedgerPage, Statement
from flopgrid.api.auth import AnyCaller
from flopgrid.api.deps import StoreDep

router = APIRouter(tags=["accounts"])


@router.get("/v1/statements", response_model=list[Statement])
def statements(store: StoreDep, caller: AnyCaller, market: Annotated[str, Query(max_length=40)]) -> list[Statement]:
    """Own statement (operators: everyone's) for a settled market."""
    return service.statements(store, caller, market)


@router.get("/v1/ledger", response_model=LedgerPage)
def ledger(store: StoreDep, caller: AnyCaller, market: Annotated[str | None, Query(max_length=40)] = None,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100,
           cursor: Annotated[str | None, Query(max_length=40)] = None) -> LedgerPage:
    """Own entries (operators: all transactions, each summing to zero), oldest first."""
    return service.ledger(store, caller, market, limit, cursor)

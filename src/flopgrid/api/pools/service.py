"""Registering and changing pools (validated by the market's own rules)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flopgrid.api.auth import Caller, own_name
from flopgrid.api.errors import ApiError, conflict, invalid, not_found
from flopgrid.api.pools import repository
from flopgrid.api.pools.schemas import PoolIn
from flopgrid.market import Horizon, Pool, Scenario
from flopgrid.market.validation import validate_scenario
from flopgrid.store import Store
from flopgrid.store.models import PoolRow, utcnow

MAX_HORIZON = Horizon(intervals=10_000)


def checked_pool(data: dict[str, Any]) -> Pool:
    try:
        pool = Pool.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise invalid(".".join(str(p) for p in err["loc"]) or "pool", err["msg"]) from None
    validate_scenario(Scenario(horizon=MAX_HORIZON, pools=[pool]), "pool")
    return pool


def register(store: Store, caller: Caller, body: PoolIn) -> Pool:
    provider = own_name(caller, body.provider, "provider")
    pool = checked_pool({**body.model_dump(exclude_none=True), "provider": provider})
    with store.write() as s:
        if s.get(PoolRow, pool.id) is not None:
            raise conflict(f"field 'id': pool {pool.id!r} already exists")
        s.add(PoolRow(id=pool.id, owner_id=caller.id, spec=pool.model_dump(mode="json")))
    return pool


def listing(store: Store, caller: Caller) -> list[Pool]:
    with store.read() as s:
        return [Pool.model_validate(r.spec) for r in repository.listing(s, caller)]


def get(store: Store, caller: Caller, pool_id: str) -> Pool:
    with store.read() as s:
        row = repository.get_visible(s, caller, pool_id)
        if row is None:
            raise not_found("pool", pool_id)
        return Pool.model_validate(row.spec)


def patch(store: Store, caller: Caller, pool_id: str, changes: dict[str, Any]) -> Pool:
    """Merge `changes` into the caller's own pool (a new offer curve, chips, availability ...)."""
    for fixed in ("id", "provider"):
        if fixed in changes and changes[fixed] != (pool_id if fixed == "id" else caller.name):
            raise ApiError(422, f"field {fixed!r}: cannot be changed")
    with store.write() as s:
        row = s.get(PoolRow, pool_id)
        if row is None or row.owner_id != caller.id:
            raise not_found("pool", pool_id)
        pool = checked_pool({**row.spec, **changes})
        row.spec = pool.model_dump(mode="json")
        row.updated_at = utcnow()
    return pool

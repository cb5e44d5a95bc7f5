"""Solver trouble leaves the market `failed` with the reason, publishes no prices, and keeps
the previous market's prices. A real HiGHS crash cannot be caused on demand, so the clearing
function is replaced by one that raises (a fake, for that failure only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from flopgrid.api.auth import Caller
from flopgrid.api.bids import service as bids
from flopgrid.api.bids.schemas import BidIn
from flopgrid.api.errors import ApiError
from flopgrid.api.markets import clearing
from flopgrid.api.markets import service as markets
from flopgrid.api.markets.schemas import MarketIn
from flopgrid.api.participants.service import create_key
from flopgrid.api.pools import service as pools
from flopgrid.api.pools.schemas import PoolIn
from flopgrid.store import open_store
from flopgrid.store.models import PriceRowDB


@pytest.fixture
def world(db_url):
    store = open_store(db_url, upgrade=True)
    p, b = create_key(store, "p1", "provider").participant, create_key(store, "b1", "buyer").participant
    prov, buyer = Caller(p.id, p.name, p.role), Caller(b.id, b.name, b.role)
    pools.register(store, prov, PoolIn(id="pool-1", hardware="h100-sxm", chips=64, island_chips=64,
                                      offer=[{"chips": 64, "price_per_chip_hour": 2.0}]))

    def market_with_bids(tag: str) -> str:
        m = markets.create(store, MarketIn(horizon={"intervals": 4},
                                           gate_closure_at=datetime.now(UTC) + timedelta(hours=1)))
        for i in range(3):
            bids.submit(store, buyer, BidIn(id=f"{tag}-{i}", model="llama3-8b", chips=[8], intervals=2, window=(0, 4),
                                            max_price_per_chip_hour=5.0, market=m.id), None)
        markets.request_clear(store, m.id)
        return m.id

    yield store, market_with_bids
    store.close()


def _prices(store, mid: str) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(PriceRowDB).where(PriceRowDB.market_id == mid))


def test_a_solver_error_fails_the_market_and_keeps_earlier_prices(world, monkeypatch):
    store, market_with_bids = world
    first = market_with_bids("a")
    assert clearing.run_clearing(store, first) == "cleared"
    before = markets.published_prices(store, first)
    assert before

    def crashing_clear(*_a, **_k):
        raise RuntimeError("HiGHS returned kError")

    monkeypatch.setattr(clearing, "clear", crashing_clear)
    second = market_with_bids("b")
    assert clearing.run_clearing(store, second) == "failed"
    m = markets.get(store, second)
    assert m.status == "failed" and "HiGHS returned kError" in m.reason and m.solver_status == "solver_error"
    assert _prices(store, second) == 0
    with pytest.raises(ApiError) as exc:
        markets.published_prices(store, second)
    assert exc.value.status_code == 409 and "kError" in exc.value.detail
    assert markets.published_prices(store, first) == before

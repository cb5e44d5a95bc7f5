"""`create_app(store)`: the FastAPI service (DESIGN.md "Service")."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from flopgrid import __version__
from flopgrid.api import errors
from flopgrid.api.auth import KeyCache
from flopgrid.api.metrics import Metrics
from flopgrid.api.timeline import AutoTimeline
from flopgrid.api.worker import ClearingWorker
from flopgrid.store import Store

log = logging.getLogger("flopgrid.api")


def _routers():
    from flopgrid.api.accounts.endpoints import router as accounts
    from flopgrid.api.allocations.endpoints import router as allocations
    from flopgrid.api.bids.endpoints import router as bids
    from flopgrid.api.dashboard.endpoints import router as dashboard
    from flopgrid.api.markets.endpoints import public as market_public
    from flopgrid.api.markets.endpoints import router as markets
    from flopgrid.api.participants.endpoints import router as participants
    from flopgrid.api.pools.endpoints import router as pools
    from flopgrid.api.public.endpoints import router as public

    authed = [participants, pools, markets, bids, allocations, accounts]
    return authed, [market_public, public, dashboard]


def create_app(store: Store, *, auto: bool = False, clear_time_limit_s: float | None = 60.0,
               timeline_period_s: float = 1.0) -> FastAPI:
    metrics = Metrics(store)
    worker = ClearingWorker(store, metrics, clear_time_limit_s)
    timeline = AutoTimeline(store, worker, timeline_period_s) if auto else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker.recover()
        if timeline:
            timeline.start()
        yield
        if timeline:
            timeline.stop()
        worker.shutdown()

    app = FastAPI(title="flopgrid", version=__version__, lifespan=lifespan,
                  description="An ISO for AI compute: participants, order book, market timeline, public prices, "
                              "durable ledger (DESIGN.md \"Service\").")
    app.state.store, app.state.metrics, app.state.worker = store, metrics, worker
    app.state.key_cache = KeyCache()
    errors.install(app)

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, _exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with an existing record (a concurrent request got there first)"},
                            status_code=409)

    authed, public = _routers()
    for r in authed:
        app.include_router(r, responses=errors.ERROR_RESPONSES)
    for r in public:
        app.include_router(r, responses={k: v for k, v in errors.ERROR_RESPONSES.items() if k in (404, 409, 422)})

    base_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = errors.patch_openapi(base_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def asgi(store: Store, **kw) -> object:
    """The app wrapped in the metrics middleware (what uvicorn serves)."""
    app = create_app(store, **kw)
    wrapped = app.state.metrics.middleware(app)
    wrapped.app = app  # type: ignore[attr-defined]
    return wrapped

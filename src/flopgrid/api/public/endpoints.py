"""`/healthz` and `/metrics` (public)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from flopgrid.api.deps import StoreDep

router = APIRouter(tags=["public"])


class Health(BaseModel):
    status: str
    db: str


@router.get("/healthz", response_model=Health)
def healthz(store: StoreDep) -> Health:
    with store.read() as s:
        s.execute(text("SELECT 1"))
    return Health(status="ok", db=store.dialect)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus exposition; every name starts with `flopgrid_`."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

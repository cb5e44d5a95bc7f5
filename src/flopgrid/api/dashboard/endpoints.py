"""`GET /` (the dashboard) and `/static/plotly.min.js` (from the installed plotly package)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from flopgrid.api.dashboard.data import load
from flopgrid.api.dashboard.render import render
from flopgrid.api.deps import StoreDep

router = APIRouter(tags=["public"])


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


@router.get("/", response_class=HTMLResponse)
def dashboard(store: StoreDep, market: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    """Prices heat map, allocations Gantt, unserved bids, metered useful EFLOP and fleet MFU, statement totals."""
    return HTMLResponse(render(load(store, market)))


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js() -> Response:
    return Response(_plotly_js(), media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

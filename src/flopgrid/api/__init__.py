"""The HTTP service (DESIGN.md "Service"): FastAPI over `flopgrid.store`, bodies are the market's
core types. A package per domain (participants, pools, markets, bids, allocations, accounts,
public, dashboard), each with endpoints / schemas / service / repository; authentication is a
typed dependency (`flopgrid.api.auth`); each request is one database transaction."""

from flopgrid.api.app import asgi, create_app

__all__ = ["asgi", "create_app"]

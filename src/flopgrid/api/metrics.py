"""Prometheus metrics (`GET /metrics`), every name prefixed `flopgrid_`: request counts and
latency per route, clearings, and gauges read from the store at scrape time (markets and bids
by status, unbalanced ledger transactions - always 0)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from flopgrid.store import Store
from flopgrid.store.models import BidRow, MarketRow


class _StoreCollector:
    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self):
        return []

    def collect(self):
        from flopgrid.api.accounts.repository import unbalanced_transactions

        markets = GaugeMetricFamily("flopgrid_markets", "markets by status", labels=["status"])
        bids = GaugeMetricFamily("flopgrid_bids", "bids by status", labels=["status"])
        with self.store.read() as s:
            for st, n in s.execute(select(MarketRow.status, func.count()).group_by(MarketRow.status)):
                markets.add_metric([st], n)
            for st, n in s.execute(select(BidRow.status, func.count()).group_by(BidRow.status)):
                bids.add_metric([st], n)
            unbalanced = unbalanced_transactions(s)
        yield markets
        yield bids
        yield GaugeMetricFamily("flopgrid_ledger_unbalanced_transactions", "ledger transactions not summing to zero",
                                value=unbalanced)


class Metrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("flopgrid_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("flopgrid_http_request_duration_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5))
        self.clearings = Counter("flopgrid_clearings_total", "market clearings by outcome", ["status"],
                                 registry=self.registry)
        self.clearing_seconds = Histogram("flopgrid_clearing_duration_seconds", "clearing wall time",
                                          registry=self.registry, buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300))
        self.registry.register(_StoreCollector(store))

    def clearing_done(self, status: str, seconds: float) -> None:
        self.clearings.labels(status).inc()
        self.clearing_seconds.observe(seconds)

    def middleware(self, app):
        """A pure ASGI middleware counting requests by route template (not by raw path)."""
        metrics = self

        async def _mw(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            t0, status = time.perf_counter(), [500]

            async def _send(msg):
                if msg["type"] == "http.response.start":
                    status[0] = msg["status"]
                await send(msg)

            try:
                await app(scope, receive, _send)
            finally:
                route = getattr(scope.get("route"), "path", "other")
                metrics.requests.labels(scope["method"], route, str(status[0])).inc()
                metrics.latency.labels(route).observe(time.perf_counter() - t0)

        return _mw

"""`Client`: one method per endpoint; JSON in and out (dicts, the DESIGN.md core types)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from flopgrid.errors import FlopgridError, UserInputError


class ServerError(UserInputError):
    """The server refused the request (4xx: exit code 2) or failed (5xx, unreachable: 1)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"server said {status}: {detail}" if status else detail)
        self.status, self.detail = status, detail
        self.exit_code = 2 if 400 <= status < 500 else 1


class Client:
    def __init__(self, server: str, key: str | None = None, timeout_s: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.server = server.rstrip("/")
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout_s, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            err = ServerError(0, f"cannot reach {self.server}: {exc}")
            err.exit_code = 1
            raise err from None
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text.strip()[:200] or r.reason_phrase
            raise ServerError(r.status_code, str(detail))
        return r

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    # participants and pools
    def create_participant(self, name: str, role: str) -> dict:
        return self._json("POST", "/v1/participants", json={"name": name, "role": role})

    def participants(self) -> list[dict]:
        return self._json("GET", "/v1/participants")

    def register_pool(self, pool: dict) -> dict:
        return self._json("POST", "/v1/pools", json=pool)

    def pools(self) -> list[dict]:
        return self._json("GET", "/v1/pools")

    def pool(self, pool_id: str) -> dict:
        return self._json("GET", f"/v1/pools/{pool_id}")

    def patch_pool(self, pool_id: str, changes: dict) -> dict:
        return self._json("PATCH", f"/v1/pools/{pool_id}", json=changes)

    # markets
    def create_market(self, horizon: dict, gate_closure_at: str, kind: str = "day_ahead",
                      reserve: dict | None = None) -> dict:
        body: dict[str, Any] = {"kind": kind, "horizon": horizon, "gate_closure_at": gate_closure_at}
        if reserve is not None:
            body["reserve"] = reserve
        return self._json("POST", "/v1/markets", json=body)

    def markets(self) -> list[dict]:
        return self._json("GET", "/v1/markets")

    def market(self, market_id: str) -> dict:
        return self._json("GET", f"/v1/markets/{market_id}")

    def close_market(self, market_id: str) -> dict:
        return self._json("POST", f"/v1/markets/{market_id}/close")

    def clear_market(self, market_id: str) -> dict:
        return self._json("POST", f"/v1/markets/{market_id}/clear")

    def wait_cleared(self, market_id: str, timeout_s: float = 300.0, poll_s: float = 0.2) -> dict:
        """Poll until the market leaves `clearing`; returns it."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            m = self.market(market_id)
            if m["status"] != "clearing":
                return m
            if time.monotonic() > deadline:
                raise FlopgridError(f"market {market_id} still clearing after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def settle_market(self, market_id: str) -> dict:
        return self._json("POST", f"/v1/markets/{market_id}/settle")

    def scenario(self, market_id: str) -> dict:
        return self._json("GET", f"/v1/markets/{market_id}/scenario")

    def prices(self, market_id: str, csv: bool = False) -> Any:
        if csv:
            return self.request("GET", f"/v1/markets/{market_id}/prices", params={"format": "csv"}).text
        return self._json("GET", f"/v1/markets/{market_id}/prices")

    def summary(self, market_id: str) -> dict:
        return self._json("GET", f"/v1/markets/{market_id}/summary")

    # bids
    def submit_bid(self, bid: dict, market: str | None = None, idempotency_key: str | None = None) -> dict:
        body = {**bid, **({"market": market} if market else {})}
        key = idempotency_key or str(uuid.uuid4())
        return self._json("POST", "/v1/bids", json=body, headers={"Idempotency-Key": key})

    def bids(self, market: str | None = None, limit: int = 1000) -> list[dict]:
        out, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": limit, **({"market": market} if market else {}),
                                      **({"cursor": cursor} if cursor else {})}
            page = self._json("GET", "/v1/bids", params=params)
            out += page["bids"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def bid(self, bid_id: str) -> dict:
        return self._json("GET", f"/v1/bids/{bid_id}")

    def cancel_bid(self, bid_id: str) -> dict:
        return self._json("DELETE", f"/v1/bids/{bid_id}")

    # delivery and money
    def allocations(self, market: str | None = None) -> list[dict]:
        return self._json("GET", "/v1/allocations", params={"market": market} if market else {})

    def post_reading(self, allocation_id: int, reading: dict) -> dict:
        return self._json("POST", f"/v1/allocations/{allocation_id}/readings", json=reading)

    def statements(self, market: str) -> list[dict]:
        return self._json("GET", "/v1/statements", params={"market": market})

    def ledger(self, market: str | None = None) -> list[dict]:
        out, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"market": market} if market else {}),
                                      **({"cursor": cursor} if cursor else {})}
            page = self._json("GET", "/v1/ledger", params=params)
            out += page["transactions"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def health(self) -> dict:
        return self._json("GET", "/healthz")

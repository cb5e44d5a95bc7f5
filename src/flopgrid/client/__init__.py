"""A typed Python client of the flopgrid service (DESIGN.md "Service"), on httpx.

    from flopgrid.client import Client
    with Client("http://127.0.0.1:8765", key) as c:
        c.submit_bid({...}, market="da-...", idempotency_key="...")

A non-2xx answer raises `ServerError` whose message is one line naming the status and the
server's detail (the field or the rule)."""

from flopgrid.client.client import Client, ServerError

__all__ = ["Client", "ServerError"]

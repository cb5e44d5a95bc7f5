"""Pool bodies: the market's own `Pool` (DESIGN.md core type), with `provider` optional on input
(it defaults to, and must equal, the caller)."""

from __future__ import annotations

from flopgrid.market import Pool


class PoolIn(Pool):
    provider: str | None = None  # type: ignore[assignment]

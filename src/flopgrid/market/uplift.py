"""Make-whole uplift (DESIGN.md step 3).

With non-convex orders (whole gangs, contiguous intervals) no uniform price may support the
welfare optimum: at the fixed-integer LP prices (O'Neill et al. 2005) a cleared buyer can be
charged more than its bid. ISOs pay such parties a make-whole (PJM operating-reserve
credits, CAISO bid-cost recovery). Here every cleared party with negative surplus at the
uniform prices is credited exactly its loss; the credits are funded by the cleared parties
with positive surplus, pro rata to that surplus. Because the MILP welfare W >= 0 equals the
sum of all surpluses, the positive surpluses add up to W + total credit >= total credit, so
each funder keeps a share W / (W + credit) >= 0 of its surplus: individual rationality holds
for everyone cleared, and the uplift account balances.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Party:
    party: str  # "buyer:<name>" or "provider:<name>"
    order: str  # bid or pool id
    surplus_usd: float  # at the uniform prices, before uplift


def make_whole(parties: list[Party], tol_usd: float = 1e-9) -> tuple[dict[str, float], dict[str, float]]:
    """Credits and charges per order id (USD, both >= 0)."""
    credits = {p.order: -p.surplus_usd for p in parties if p.surplus_usd < -tol_usd}
    total = sum(credits.values())
    charges: dict[str, float] = {}
    if total > 0:
        positive = {p.order: p.surplus_usd for p in parties if p.surplus_usd > 0}
        pos_total = sum(positive.values())
        share = min(1.0, total / pos_total) if pos_total > 0 else 0.0
        charges = {k: v * share for k, v in positive.items()}
    return credits, charges

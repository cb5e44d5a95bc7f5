"""Double-entry ledger in exact integer micro-dollars: every transaction sums to exactly zero.

Sign convention: a positive amount is money the account receives, negative is money it pays.
Accounts: `buyer:<name>`, `provider:<name>`, `iso:day_ahead`, `iso:real_time`.

Money is converted from the clearing's float USD once, at the ledger's edge, by
`usd_to_micro_usd` (round half away from zero to the nearest micro-dollar); everything
booked is an `int`, so balances are exact and a transaction that does not sum to zero is
refused (`LedgerError`), never tolerated. `amount_usd` properties exist for display and JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flopgrid.errors import FlopgridError

MICRO_PER_USD = 1_000_000


class LedgerError(FlopgridError):
    """A transaction that does not balance (a bug, never a user mistake)."""


def usd_to_micro_usd(amount_usd: float) -> int:
    """`amount_usd` as integer micro-dollars, rounded half away from zero (the one rounding
    rule of the project's money: use it wherever a float USD amount becomes a ledger amount).
    Refuses NaN and infinities."""
    if isinstance(amount_usd, int):
        return amount_usd * MICRO_PER_USD
    x = float(amount_usd)
    if not math.isfinite(x):
        raise LedgerError(f"cannot book a non-finite amount: {amount_usd!r} USD")
    scaled = abs(x) * MICRO_PER_USD
    micro = math.floor(scaled + 0.5)
    return micro if x >= 0 else -micro


def micro_usd_to_usd(amount_micro_usd: int) -> float:
    """For display and JSON only (never for further arithmetic on money)."""
    return amount_micro_usd / MICRO_PER_USD


def apportion_micro_usd(total_micro_usd: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split `total_micro_usd` over `weights` (>= 0) pro rata, in integers that sum to exactly
    the total (largest remainder / Hamilton method). Used to fund uplift: the charges then
    equal the credits to the micro-dollar."""
    keys = [k for k, w in weights.items() if w > 0]
    wsum = math.fsum(weights[k] for k in keys)
    if total_micro_usd == 0 or not keys or wsum <= 0:
        if total_micro_usd != 0 and not keys:
            raise LedgerError(f"cannot apportion {total_micro_usd} micro-USD over no positive weights")
        return {k: 0 for k in keys}
    sign = 1 if total_micro_usd > 0 else -1
    total = abs(total_micro_usd)
    exact = {k: total * weights[k] / wsum for k in keys}
    out = {k: math.floor(v) for k, v in exact.items()}
    rest = total - sum(out.values())  # >= 0 but for float error in the shares
    order = sorted(keys, key=lambda k: (out[k] - exact[k], k))  # largest remainder first
    step = 1 if rest >= 0 else -1
    for i in range(abs(rest)):
        k = order[i % len(order)] if step > 0 else order[-1 - i % len(order)]
        out[k] += step
    return {k: sign * v for k, v in out.items()}


@dataclass(frozen=True)
class Entry:
    """One leg of a transaction, in integer micro-dollars."""

    account: str
    amount_micro_usd: int

    def __post_init__(self) -> None:
        if not isinstance(self.amount_micro_usd, int) or isinstance(self.amount_micro_usd, bool):
            raise LedgerError(f"entry for {self.account!r}: amount must be integer micro-USD, "
                              f"got {self.amount_micro_usd!r} (convert with usd_to_micro_usd)")

    @classmethod
    def from_usd(cls, account: str, amount_usd: float) -> Entry:
        return cls(account, usd_to_micro_usd(amount_usd))

    @property
    def amount_usd(self) -> float:
        return micro_usd_to_usd(self.amount_micro_usd)


@dataclass(frozen=True)
class Transaction:
    id: str
    memo: str
    entries: tuple[Entry, ...]

    @property
    def total_micro_usd(self) -> int:
        return sum(e.amount_micro_usd for e in self.entries)

    @property
    def total_usd(self) -> float:
        return micro_usd_to_usd(self.total_micro_usd)


@dataclass
class Ledger:
    transactions: list[Transaction] = field(default_factory=list)

    def post(self, memo: str, entries: Iterable[Entry]) -> Transaction:
        """Append a transaction; raises LedgerError unless its entries sum to exactly zero."""
        kept = tuple(e for e in entries if e.amount_micro_usd != 0)
        tx = Transaction(f"tx-{len(self.transactions) + 1:05d}", memo, kept)
        if tx.total_micro_usd != 0:
            raise LedgerError(f"transaction {memo!r} does not balance: entries sum to {tx.total_micro_usd} micro-USD")
        self.transactions.append(tx)
        return tx

    def balances_micro_usd(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for tx in self.transactions:
            for e in tx.entries:
                out[e.account] = out.get(e.account, 0) + e.amount_micro_usd
        return out

    def balances(self) -> dict[str, float]:
        """Per account, USD (display)."""
        return {k: micro_usd_to_usd(v) for k, v in self.balances_micro_usd().items()}

    @property
    def balanced(self) -> bool:
        return all(tx.total_micro_usd == 0 for tx in self.transactions)

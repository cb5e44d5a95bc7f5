"""Double-entry ledger: every settlement is a transaction whose entries sum to zero.

Sign convention: a positive `amount_usd` is money the account receives, negative is money it
pays. Accounts: `buyer:<name>`, `provider:<name>`, `iso:day_ahead`, `iso:real_time`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flopgrid.errors import FlopgridError

TOLERANCE_USD = 1e-6


class LedgerError(FlopgridError):
    """A transaction that does not balance (a bug, never a user mistake)."""


@dataclass(frozen=True)
class Entry:
    account: str
    amount_usd: float


@dataclass(frozen=True)
class Transaction:
    id: str
    memo: str
    entries: tuple[Entry, ...]

    @property
    def total_usd(self) -> float:
        return sum(e.amount_usd for e in self.entries)


@dataclass
class Ledger:
    transactions: list[Transaction] = field(default_factory=list)

    def post(self, memo: str, entries: list[Entry]) -> Transaction:
        """Append a transaction; raises LedgerError unless its entries sum to zero."""
        entries = [e for e in entries if e.amount_usd != 0.0]
        scale = max([1.0] + [abs(e.amount_usd) for e in entries])
        tx = Transaction(f"tx-{len(self.transactions) + 1:05d}", memo, tuple(entries))
        if abs(tx.total_usd) > TOLERANCE_USD * scale:
            raise LedgerError(f"transaction {memo!r} does not balance: entries sum to {tx.total_usd!r}")
        self.transactions.append(tx)
        return tx

    def balances(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for tx in self.transactions:
            for e in tx.entries:
                out[e.account] = out.get(e.account, 0.0) + e.amount_usd
        return out

    @property
    def balanced(self) -> bool:
        return all(abs(tx.total_usd) <= TOLERANCE_USD * max([1.0] + [abs(e.amount_usd) for e in tx.entries])
                   for tx in self.transactions)

"""Double-entry accounts for money and talent: every flow has a source and a destination.

Internal accounts mirror stocks held by agents (firms' cash, funds' cash, universities' cash;
talent held by firms, universities and regional pools). External accounts (customers, households,
government, limited partners, markets, ...) are where money enters or leaves the modelled
system; for talent the external accounts are births (graduates), retirements and "overseas"
(top talent recruited and returnee founders, drawn from the world beyond the abroad region's
migration reservoir). Tests compare
each internal balance with the sum over the agents' arrays.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Ledger:
    """Balances of named accounts; `transfer` moves a non-negative amount between two of them."""

    def __init__(self, name: str):
        self.name = name
        self.balance: dict[str, float] = defaultdict(float)
        self.flows: dict[tuple[str, str], float] = defaultdict(float)

    def open(self, account: str, amount: float, source: str = "opening") -> None:
        self.transfer(source, account, amount)

    def transfer(self, src: str, dst: str, amount) -> None:
        amount = float(np.sum(amount))
        if not np.isfinite(amount) or amount < -1e-9:
            raise ValueError(f"{self.name}: invalid transfer {src} -> {dst}: {amount}")
        if amount == 0.0:
            return
        self.balance[src] -= amount
        self.balance[dst] += amount
        self.flows[(src, dst)] += amount

    def total(self) -> float:
        """Sum over all accounts: zero by construction (the conservation check)."""
        return float(sum(self.balance.values()))

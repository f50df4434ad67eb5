"""Fund agents: angel groups, venture funds, government guidance funds, state-owned VC, banks.

State (struct of arrays): kind, cash (dry powder or lending capacity), paid-in capital, money
returned to limited partners, proceeds this year; portfolios live in the capital market's
holdings table (fund, firm, stake, cost).

Decisions:
- raise_capital (first quarter of each year): guidance funds receive their public commitment and
  place part of it in venture funds as a limited partner, which draws `guidance_fund_leverage` yuan
  of private money per yuan; venture funds also raise from private LPs in proportion to the
  returns they distributed (performance chasing); angels' supply rises with the angel tax credit;
  state VC receives state capital; banks set their lending capacity.
- deploy: each quarter a fund offers a share of its dry powder to the capital market.
- distribute: once a year funds return part of their exit proceeds to their LPs.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.view import AgentView

KINDS = ("angel", "venture", "guidance", "state_vc", "bank")
ANGEL, VENTURE, GUIDANCE, STATE_VC, BANK = range(5)

_FIELDS = {
    "kind": np.int8,
    "region": np.int8,
    "cash": np.float64,
    "paid_in": np.float64,
    "returned": np.float64,
    "proceeds_year": np.float64,
    "invested_year": np.float64,
    "performance": np.float64,  # distributions / paid-in, smoothed
}


class FundPopulation:
    """Struct-of-arrays state of funds and banks (a fixed set)."""

    def __init__(self, n: int):
        self.n = n
        for name, dt in _FIELDS.items():
            setattr(self, name, np.zeros(n, dtype=dt))
        self.raised = {"guidance": 0.0, "angel": 0.0}

    def of_kind(self, kind: int) -> np.ndarray:
        return np.flatnonzero(self.kind == kind)

    def raise_capital(self, p, levers: dict, scale: float, ledger, capital_climate: float) -> None:
        """Yearly fund raising; every yuan comes from an external account recorded in the ledger."""
        g = self.of_kind(GUIDANCE)
        v = self.of_kind(VENTURE)
        a = self.of_kind(ANGEL)
        s = self.of_kind(STATE_VC)
        b = self.of_kind(BANK)
        # Guidance funds: public commitment from the government.
        commit = p.guidance_commitment_2015 * levers["guidance_fund_scale"] * scale
        self.credit(g, commit, ledger, "government")
        # Guidance funds place a share of their cash in venture funds (fund-of-funds) ...
        placed = p.guidance_lp_share * self.cash[g].sum()
        self._debit_pro_rata(g, placed)
        weights = 1.0 + p.performance_chasing * self.performance[v]
        self.credit(v, placed, None, None, weights)
        # ... which levers private LP money.
        private = placed * levers["guidance_fund_leverage"] * capital_climate
        organic = (
            p.venture_raise_2015
            * scale
            * capital_climate
            * (1.0 + p.performance_chasing * self.performance[v].mean())
        )
        self.credit(v, private + organic, ledger, "limited_partners", weights)
        angel = (
            p.angel_supply_2015
            * scale
            * capital_climate
            * (1.0 + p.angel_tax_elasticity * levers["angel_tax_credit"])
        )
        self.credit(a, angel, ledger, "households")
        self.raised = {"guidance": commit, "angel": angel}  # the year's, for sim.model.fiscal
        self.credit(s, p.state_vc_supply_2015 * scale, ledger, "state_capital")
        # Banks: top lending capacity up to the target (deposits, external).
        target = p.bank_lending_capacity_2015 * scale
        top_up = max(0.0, target - self.cash[b].sum())
        self.credit(b, top_up, ledger, "depositors")
        self.paid_in[v] += (placed + private + organic) * weights / weights.sum()
        self.paid_in[a] += angel / max(a.size, 1)

    def distribute(self, p, ledger) -> None:
        """Return part of the year's exit proceeds to LPs; update performance."""
        share = p.distribution_share * self.proceeds_year
        paid = np.minimum(share, self.cash)
        self.cash -= paid
        self.returned += paid
        for kind, account in (
            (ANGEL, "households"),
            (VENTURE, "limited_partners"),
            (GUIDANCE, "government"),
            (STATE_VC, "state_capital"),
        ):
            k = self.kind == kind
            ledger.transfer("funds", account, paid[k].sum())
        dpi = self.returned / np.maximum(self.paid_in, 1e-9)
        self.performance = 0.7 * self.performance + 0.3 * np.clip(dpi, 0.0, 5.0)
        self.proceeds_year[:] = 0.0
        self.invested_year[:] = 0.0

    def deployable(self, idx: np.ndarray, p, dt: float) -> np.ndarray:
        """Capital each fund offers to the market this step."""
        return self.cash[idx] * (1.0 - (1.0 - p.deployment_rate) ** dt)

    # --- helpers ------------------------------------------------------------------------------
    def credit(self, idx, total, ledger, source, weights=None) -> None:
        if idx.size == 0 or total <= 0:
            return
        w = np.ones(idx.size) if weights is None else np.asarray(weights, dtype=float)
        self.cash[idx] += total * w / w.sum()
        if ledger is not None:
            ledger.transfer(source, "funds", total)

    def _debit_pro_rata(self, idx, total) -> None:
        if idx.size == 0 or total <= 0:
            return
        c = self.cash[idx]
        # (a share of 1 debits everything: round-off must not leave -1e-15)
        self.cash[idx] = np.maximum(c - total * c / c.sum(), 0.0)


class Fund(AgentView):
    """A fund or bank as a Mesa agent (a view on its slot)."""

    kind = "funds"
    fields = frozenset(_FIELDS)

    @property
    def kind_name(self) -> str:
        return KINDS[int(self.model.funds.kind[self.slot])]

"""Fiscal costs of the levers, and the budget cap (plan safeguard 四(二): fiscal S&T funding).

Every lever has one cost rule, its `cost` in seeds/levers.yaml; costs are public outlay in
100m yuan per year, nominal, at full scale (the simulated share of agents is scaled up):

- measured: an outlay the model books anyway: the fiscal research budget, guidance-fund
  commitments, vouchers, leap grants, procurement, facility construction and operation; a count
  the model makes times a unit cost (top-talent packages, relocation subsidies); or a tax
  expenditure (the angel deduction);
- programme: the lever sets the size of a programme whose budget is not in the data we hold;
  its cost is the lever's value times a unit-cost parameter (seeds/parameters.yaml, group
  `fiscal`, priors that say so);
- none: the lever changes rules, not outlays; its `reason` says why it costs nothing.

Budget cap (scenario field `budget_cap`, 100m yuan per year, constant or schedule): at the start
of each year each lever's cost is projected from the state at that moment (`project`: this year's
lever value, last year's bases of the measured rules); if the projected total exceeds the cap,
every lever above its 2015 value whose rule costs money is moved toward its 2015 value by one
common factor s (value = default + s (value - default)), the largest s whose projected total
fits. Levers at or below their 2015 values are not touched, so a cap below the cost of the 2015
policies cannot be met: s is then 0 and the record says so. The projection ignores the year's
responses (more demand for vouchers, say), so the outlay booked at the end of the year can
differ from the projection; both are recorded.
"""

from __future__ import annotations

import math

from sim.inputs.levers import Schedule, registry

RULES = ("measured", "programme", "none")
# Accumulators of the year's measured outlays (also in sim.model.indicators.ACCUMULATORS).
MEASURED_ACCUMULATORS = ("fiscal_research", "vouchers", "voucher_base")


def rules() -> dict[str, dict]:
    """Each lever's cost rule, checked: measured rules have code here, programme rules name a
    parameter, none rules give a reason."""
    out = {}
    for lid, lv in registry().items():
        rule = lv.cost.get("rule")
        if rule not in RULES:
            raise ValueError(f"lever {lid!r}: cost rule must be one of {RULES}, got {rule!r}")
        if rule == "measured" and lid not in _MEASURED:
            raise ValueError(f"lever {lid!r}: measured cost rule has no code in sim.model.fiscal")
        if rule == "programme" and not lv.cost.get("unit_cost"):
            raise ValueError(f"lever {lid!r}: programme cost rule needs unit_cost")
        if rule == "none" and not lv.cost.get("reason"):
            raise ValueError(f"lever {lid!r}: a lever that costs nothing says why (reason)")
        out[lid] = dict(lv.cost)
    return out


# ------------------------------------------------------------------------------------------------
# measured rules: (the year's outlay from the model's books, the projection at a lever value)
# ------------------------------------------------------------------------------------------------
def _acc(m, key: str, scale: str) -> float:
    return m.year_acc[key] / getattr(m, scale)


def _research(m, year, v):
    return _acc(m, "fiscal_research", "scale_universities")


def _research_projected(m, year, v):
    # public_budget is last year's level here: the year's growth is applied after the cap.
    return m.public_budget * (1.0 + v / 100.0)


def _facilities(m, year, v):
    return m.facilities.outlay[year] + m.facilities.operating_cost(year)


def _facilities_projected(m, year, v):
    return v + m.facilities.operating_cost(year)


def _talent(m, year, v):
    return m.p.top_talent_package * m.talent_market.recruited_year / m.scale_universities


def _talent_projected(m, year, v):
    p = m.p
    return p.top_talent_package * p.top_talent_inflow_2015 * m.shocks.talent_inflow * v


def _vouchers(m, year, v):
    return _acc(m, "vouchers", "scale_firms")


def _vouchers_projected(m, year, v):
    return v * m.fiscal.last.get("voucher_base", 0.0)


def _guidance(m, year, v):
    return m.funds.raised["guidance"] / m.scale_firms


def _guidance_projected(m, year, v):
    return m.p.guidance_commitment_2015 * v


def _angel(m, year, v):
    return v * m.p.angel_tax_rate * m.funds.raised["angel"] / m.scale_firms


def _angel_projected(m, year, v):
    p = m.p
    supply = p.angel_supply_2015 * m.shocks.venture_capital * (1.0 + p.angel_tax_elasticity * v)
    return v * p.angel_tax_rate * supply


def _relocation(m, year, v):
    return m.p.relocation_subsidy * _acc(m, "relocations", "scale_firms")


def _relocation_projected(m, year, v):
    # relocations are proportional to the lever (it scales the hazard): last year's per unit
    return m.p.relocation_subsidy * m.fiscal.last.get("relocations_per_unit", 0.0) * v


def _leap(m, year, v):
    return _acc(m, "leap_grants", "scale_firms")


def _procurement(m, year, v):
    return _acc(m, "procurement", "scale_firms")


def _at_most_value(m, year, v):
    return v  # the government spends at most the budget it sets


_MEASURED = {
    "public_rd_growth": (_research, _research_projected),
    "huairou_facilities": (_facilities, _facilities_projected),
    "top_talent_recruitment": (_talent, _talent_projected),
    "innovation_voucher_rate": (_vouchers, _vouchers_projected),
    "guidance_fund_scale": (_guidance, _guidance_projected),
    "angel_tax_credit": (_angel, _angel_projected),
    "production_relocation": (_relocation, _relocation_projected),
    "technology_leap_funding": (_leap, _at_most_value),
    "public_procurement_innovation": (_procurement, _at_most_value),
}


class FiscalAccounts:
    """The levers' costs of every simulated year, and the budget cap's scaling."""

    def __init__(self, p, budget_cap=None):
        self.p = p
        self.rules = rules()
        self.cap = None if budget_cap is None else Schedule(math.inf, budget_cap)
        self.costs: dict[int, dict[str, float]] = {}
        self.budget: list[dict] = []  # one record per capped year
        self.last: dict[str, float] = {}  # last year's bases of projected measured rules
        self.factor = 1.0  # the cap's scaling of this year

    # --- the cap (first step of a year) --------------------------------------------------------
    def cost_of(self, m, year: int, lid: str, v: float, projected: bool) -> float:
        rule = self.rules[lid]
        if rule["rule"] == "none":
            return 0.0
        if rule["rule"] == "programme":
            return getattr(self.p, rule["unit_cost"]) * v
        booked, projection = _MEASURED[lid]
        return float((projection if projected else booked)(m, year, v))

    def fit_to_cap(self, m, year: int, lev: dict) -> None:
        """Set this year's scaling factor so that the projected cost meets the cap."""
        self.factor = 1.0
        cap = self.cap.at(year) if self.cap is not None else math.inf
        if not math.isfinite(cap):
            return
        reg = registry()
        movable = [
            lid
            for lid, v in lev.items()
            if self.rules[lid]["rule"] != "none" and v > reg[lid].default
        ]

        def total(s: float) -> float:
            out = 0.0
            for lid, v in lev.items():
                if lid in movable:
                    v = reg[lid].default + s * (v - reg[lid].default)
                out += self.cost_of(m, year, lid, v, projected=True)
            return out

        full = total(1.0)
        s = 1.0
        if full > cap:
            lo, hi = 0.0, 1.0
            if total(0.0) >= cap:
                hi = 0.0
            else:
                for _ in range(40):  # total(s) increases with s: bisection
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if total(mid) <= cap else (lo, mid)
            s = lo if hi > 0 else 0.0
        self.factor = s
        self.budget.append(
            {
                "year": year,
                "cap": cap,
                "projected_cost": full,
                "projected_cost_capped": total(s),
                "scale": s,
                "met": total(s) <= cap * (1 + 1e-9),
            }
        )

    def scaled(self, lev: dict) -> dict:
        """The levers of this year under the cap (unchanged without one, or when it does not bind)."""
        if self.factor >= 1.0:
            return lev
        reg = registry()
        out = dict(lev)
        for lid, v in lev.items():
            d = reg[lid].default
            if self.rules[lid]["rule"] != "none" and v > d:
                out[lid] = d + self.factor * (v - d)
        return out

    # --- the books (last step of a year) -------------------------------------------------------
    def close_year(self, m, year: int, lev: dict) -> dict[str, float]:
        """Each lever's outlay of the year that ends now; keeps the bases of next year's
        projection."""
        costs = {lid: self.cost_of(m, year, lid, v, projected=False) for lid, v in lev.items()}
        self.costs[year] = costs
        self.last = {
            "voucher_base": m.year_acc["voucher_base"] / m.scale_firms,
            "relocations_per_unit": m.year_acc["relocations"]
            / m.scale_firms
            / max(lev["production_relocation"], 1e-9),
        }
        if self.budget and self.budget[-1]["year"] == year:
            self.budget[-1]["booked_cost"] = sum(costs.values())
        return costs

    def cost_rows(self) -> list[dict]:
        """(year, lever, cost) of every simulated year, in registry order."""
        return [
            {"year": y, "lever": lid, "cost": c}
            for y, costs in sorted(self.costs.items())
            for lid, c in costs.items()
        ]

"""University and research-institute agents (central or municipal).

State (struct of arrays): kind (university or institute), affiliation (central or municipal),
field, region and place, researchers, high-end talent, research funding this quarter and its basic
share, knowledge stock, technology-transfer office (TTO) capacity, reputation, cash (retained
transfer income), patents (valid and pending).

Decisions:
- do_research (each quarter): receive public R&D funding (`fund_research`), spend it and part of
  the retained transfer income on basic and applied research.
- fund_research: the public R&D budget (growing at the `public_rd_growth` lever) is shared among
  units by researchers and reputation; each unit splits it between basic and applied research so
  that the system-wide basic share follows the `basic_research_priority` lever.
- transfer_effort: how hard a unit pushes licences and spin-offs, raised by the inventors' share
  of transfer income (`inventor_income_share`), which central units apply only as far as Beijing's
  policies cover them (`central_unit_coverage`); covered central units also license without
  their ministry's approval (technology_offer).
- offers and spin-offs: applied research turns into technology offered on the technology market
  and into spin-off firms; graduates are trained every year (in the third quarter).
"""

from __future__ import annotations

import numpy as np

from sim.inputs.levers import status_quo
from sim.model.agents.view import AgentView

KINDS = ("university", "institute")
UNIVERSITY, INSTITUTE = range(2)

_FIELDS = {
    "kind": np.int8,
    "central": np.bool_,
    "field": np.int8,
    "region": np.int8,
    "place": np.int8,
    "researchers": np.float64,
    "high_end": np.float64,
    "funding_q": np.float64,  # public research funding this quarter, 100m yuan
    "basic_q": np.float64,  # basic research spend this quarter
    "applied_q": np.float64,  # applied research spend this quarter (incl. retained income)
    "basic_pref": np.float64,  # the unit's own preference for basic research (relative)
    "knowledge": np.float64,  # knowledge stock (index units)
    "tto": np.float64,  # technology-transfer office capacity (relative)
    "reputation": np.float64,
    "cash": np.float64,  # retained transfer income, 100m yuan
    "patents": np.int64,
    "pending": np.int64,
    "effort": np.float64,
}


class UniversityPopulation:
    """Struct-of-arrays state of universities and research institutes (a fixed set)."""

    def __init__(self, n: int):
        self.n = n
        for name, dt in _FIELDS.items():
            setattr(self, name, np.zeros(n, dtype=dt))

    def do_research(self, budget_q: float, basic_priority: float, p, clock, money) -> float:
        """One quarter of public research: the public budget is shared out (`fund_research`) and
        paid by the government; a share of retained transfer income is spent on applied research;
        all research is spent (wages and purchases, to households). Returns the spend."""
        self.fund_research(budget_q, basic_priority)
        money.transfer("government", "universities", budget_q)
        retained = self.cash * clock.per_step(p.retained_income_spend_rate)
        self.cash -= retained
        self.applied_q += retained
        spend = self.basic_q.sum() + self.applied_q.sum()
        money.transfer("universities", "households", spend)
        return spend

    def fund_research(self, budget_q: float, basic_priority: float) -> None:
        """Share the quarterly public R&D budget and split it into basic and applied research."""
        weight = self.researchers * np.sqrt(self.reputation)
        self.funding_q = budget_q * weight / weight.sum()
        raw = self.basic_pref * self.funding_q
        k = basic_priority * self.funding_q.sum() / max(raw.sum(), 1e-12)
        share = np.clip(self.basic_pref * k, 0.0, 0.95)
        self.basic_q = share * self.funding_q
        # Re-balance what the clip removed so that the aggregate share is exactly the lever value.
        missing = basic_priority * self.funding_q.sum() - self.basic_q.sum()
        if missing > 0:
            room = 0.95 * self.funding_q - self.basic_q
            self.basic_q += missing * room / max(room.sum(), 1e-12)
        self.applied_q = self.funding_q - self.basic_q

    def transfer_effort(self, p, inventor_share: float, central_coverage: float) -> np.ndarray:
        """Effort put into licensing and spin-offs, driven by inventors' share of the income."""
        base = status_quo("inventor_income_share")
        effective = np.where(
            self.central, base + central_coverage * (inventor_share - base), inventor_share
        )
        self.effort = np.maximum(0.05, 1.0 + p.inventor_share_elasticity * (effective - base))
        return effective

    def quality(self) -> np.ndarray:
        """Each unit's knowledge per researcher relative to the system's (1 = the average).

        Reputation, the funding share and the technology offer read this intensive measure, not
        the knowledge stock itself: the stock grows with a unit's size, and a reputation that
        grew with size drew more funding and recruits per researcher to the larger units, which
        grew larger still (by 2030 a twentieth of the units held all researchers, more so the more
        units were simulated, so results depended on `scale`)."""
        r = np.maximum(self.researchers, 1e-9)
        per = self.knowledge / r
        mean = self.knowledge.sum() / r.sum()
        return per / max(mean, 1e-300)

    def technology_offer(
        self,
        p,
        burden_reduction: float = 0.0,
        cost_index: float = 1.0,
        central_coverage: float | None = None,
    ) -> np.ndarray:
        """Technology offered per quarter (licences, contracts; relative units, valued by the
        market at the base year); researchers freed from administration (task 17) have more time
        for transfer.

        Central units need their ministry's approval to license or sell a result (a disposal of
        state assets) unless Beijing's rules cover them (task 18, `central_unit_coverage`): the
        share `central_approval_friction` of their deals is lost to the wait. The base year has
        the 2015 coverage, so the factor is relative to it (1 at the 2015 coverage).

        The input is the unit's researchers in applied research (researchers x the applied share
        of its research spending), a real input like firms' researchers on the other side of the
        market, at constant returns per unit: the diminishing returns (applied_offer_elasticity)
        act on the units' input as a whole (TechnologyMarket.offers), so that the sum of offers
        does not depend on how researchers are spread over units. cost_index is kept for the
        call form."""
        quality = np.sqrt(self.quality())
        time = 1.0 + p.admin_burden_effect * burden_reduction
        spend = self.basic_q + self.applied_q
        applied_share = np.where(spend > 0, self.applied_q / np.maximum(spend, 1e-300), 0.0)
        effort = self.researchers * applied_share
        offer = effort * quality * self.tto * self.effort * time
        if central_coverage is not None:
            fr = p.central_approval_friction
            base = status_quo("central_unit_coverage")
            approved = (1.0 - fr * (1.0 - central_coverage)) / (1.0 - fr * (1.0 - base))
            offer = np.where(self.central, offer * approved, offer)
        return offer

    def spin_off_rate(self, p, mobility: float) -> np.ndarray:
        """Expected spin-offs this step per unit: spin_off_rate per 100m yuan of applied research."""
        return p.spin_off_rate * self.applied_q * self.effort * (1.0 + mobility)

    def graduates(self, p) -> np.ndarray:
        """Graduates (master's and doctoral) entering the labour market this year."""
        return p.graduates_per_researcher * self.researchers

    def patent_applications(
        self, p, rng, productivity: float, output_factor: float = 1.0
    ) -> np.ndarray:
        """Applications this step: a Poisson count in proportion to research spend (the 2015
        patents per yuan, `productivity`) times `output_factor`, research output per yuan
        relative to 2015 (institutions and shared facilities: the model passes
        knowledge.research_productivity x FacilityStock.knowledge_factor)."""
        lam = productivity * output_factor * (self.basic_q + self.applied_q)
        apps = rng.poisson(lam)
        self.pending += apps
        return apps


class University(AgentView):
    """A university or research institute as a Mesa agent (a view on its slot)."""

    kind = "universities"
    fields = frozenset(_FIELDS)

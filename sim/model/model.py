"""InnovationModel: Beijing's innovation system, one step per quarter (by default) 2016-2030.

Schedule of one step (see docs/ODD.md, "Process overview"):
 1. policy: levers (with the changes of earlier evaluations) and shocks for the calendar year;
    first step of a year: the budget cap scales the levers that cost money (if the scenario has
    one), programmes build capacity toward their levers, the facility budget is committed, funds
    raise capital
 2. regions set their attractiveness
 3. universities/institutes receive public R&D funding, do basic and applied research, produce
    knowledge
 4. firms earn their operating cash flow and decide R&D spend
 5. talent market: retirement, graduates (once a year), academic mobility, recruitment,
    migration, hiring
 6. innovation: firms' technology gains and patent applications; the patent office decides
 7. technology market clears
 8. capital market: debt service, loans, equity rounds, listings and acquisitions
 9. firms grow, are valued, pay out excess cash; closures; entry (spin-offs, incubator start-ups,
    returnees, foreign R&D centers)
10. last step of a year: relocation, HTE certification, fund distributions, annual indicators,
    the levers' fiscal costs, evaluation of the scenario's rules (evaluation years)

This module only wires the parts and keeps the schedule: agents' state and decisions are in
`agents/`, the markets in `markets/`, time and randomness in `clock`, the 2015 state in `setup`.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.inputs.levers import LeverSettings, registry
from sim.inputs.params import Params, definitions
from sim.inputs.reader import did_you_mean
from sim.inputs.scenario import Scenario, load_scenario, split_values
from sim.inputs.shocks import ShockSettings
from sim.model import allocator, indicators, knowledge, setup
from sim.model.accounts import Ledger
from sim.model.agents import patent_office
from sim.model.agents.entry import FirmEntry
from sim.model.agents.region import BEIJING, REGIONS
from sim.model.clock import STREAMS, Clock, seed_of
from sim.model.evaluation import Evaluator
from sim.model.facilities import FacilityStock
from sim.model.fiscal import FiscalAccounts
from sim.model.markets.capital import CapitalMarket
from sim.model.markets.talent import TalentMarket
from sim.model.markets.technology import TechnologyMarket
from sim.model.programmes import ProgrammeCapacity
from sim.model.setup import BaseYear


class InnovationModel(mesa.Model):
    """Agent-based model of the Beijing national S&T innovation center plan.

    Args:
        scenario: path to a scenario YAML, a dict, a Scenario, or None for the baseline.
        scale: share of the 2015 agent populations simulated (1.0 = 1:1 with Beijing 2015);
            indicators are always reported at full-population equivalents.
        rng: seed (int) or numpy Generator; None draws a fresh seed (stored in `self.seed`).
        **overrides: lever id -> value (constant) or {year: value}, and parameter name
            (seeds/parameters.yaml) -> value, overriding the scenario's levers and parameters,
            so that `mesa.batch_run(InnovationModel, parameters={"revenue_growth": [0.1, 0.14],
            "basic_research_priority": [0.36, 0.45]})` sweeps both. A keyword that is neither is
            a TypeError; a value out of range is the InputError a scenario file gets.
    """

    def __init__(self, scenario=None, scale: float = 1.0, rng=None, **overrides):
        allocator.tune()  # numpy's temporaries without page faults (once per process)
        seed = seed_of(rng)
        super().__init__(rng=seed)
        self.seed = seed
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        levers, params, unknown = split_values(overrides)
        if unknown:
            names = [*registry(), *definitions()]
            hints = "; ".join(f"{k!r}{did_you_mean(k, names)}" for k in unknown)
            raise TypeError(
                f"InnovationModel() got unexpected keyword argument(s) {hints}: expected a lever "
                "id (seeds/levers.yaml, `innosim levers`) or a parameter name "
                "(seeds/parameters.yaml)"
            )
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale}")
        self.scenario = sc.with_values(levers, params)
        self.scale = float(scale)
        self.p = p = Params(self.scenario.parameters)
        self.levers = LeverSettings(self.scenario.levers)
        self.evaluator = Evaluator.of(self.scenario.evaluation)  # evaluate and adjust
        self.fiscal = FiscalAccounts(p, self.scenario.budget_cap)  # costs and the budget cap
        self.facilities = FacilityStock(p)  # big-science facilities (task 1)
        self.programmes = ProgrammeCapacity(p)  # capacity the programmes' budgets build
        self.facility_factor = 1.0
        self.shocks = ShockSettings(self.scenario.shocks)
        t = self.scenario.time
        self.clock = c = Clock(t.start_year, t.end_year, t.steps_per_year, seed)
        self.streams, self.start_year, self.end_year = c.streams, c.start_year, c.end_year
        self.steps_per_year, self.dt, self.horizon = c.steps_per_year, c.dt, c.horizon
        self.money, self.talent = Ledger("money"), Ledger("talent")
        self.listeners: list = []
        self.year = self.start_year
        self.annual: dict[int, dict[str, float]] = {}
        self.year_acc: dict[str, float] = {}
        self._reset_year()

        setup.populate(self)  # the 2015 state (status-quo levers, no shocks)
        f, u, r = self.firms, self.universities, self.regions
        su, sf = self.scale_universities, self.scale_firms
        self.talent_market = TalentMarket(p, c, r, f, u, self.talent, self.shocks, su)
        self.capital_market = CapitalMarket(p, c, f, self.funds, self.money)
        self.capital_market.set_reference(self.funds)
        self.technology_market = TechnologyMarket(p, c, r, f, u, self.money, sf)
        self.entry = FirmEntry(p, c, f, u, r, self.talent_market, self.money, self.talent, sf, su)
        setup.calibrate(self)

        self.datacollector = mesa.DataCollector(model_reporters=indicators.step_reporters())
        self.running = True
        self.datacollector.collect(self)

    # Mesa's registries: firm agents are made the first time they are asked for (LazyViews)
    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All Mesa agents (Mesa's `Model.agents`), firms included."""
        self.firm_views.activate()
        return super().agents

    @property
    def agents_by_type(self) -> dict:
        """Mesa agents by class (Mesa's `Model.agents_by_type`), firms included."""
        self.firm_views.activate()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """Agent classes of the model (Mesa's `Model.agent_types`), firms included."""
        self.firm_views.activate()
        return super().agent_types

    def remove_all_agents(self) -> None:
        self.firm_views.activate()
        super().remove_all_agents()

    def subscribe(self, listener) -> None:
        """Announce firm events to `listener` (see events.ModelListener)."""
        self.listeners.append(listener)

    def research_cost_index(self) -> float:
        """Cost of a unit of research effort relative to 2015: Beijing's mean wage level."""
        return float(self.regions.wage[BEIJING].mean()) / self.wage_2015

    # ------------------------------------------------------------------------------------------
    # the schedule
    # ------------------------------------------------------------------------------------------
    def step(self) -> None:
        if not self.running:
            return
        s = self.steps - 1
        if s >= self.horizon:
            self.running = False
            return
        year = self.year = self.start_year + s // self.steps_per_year
        sub = s % self.steps_per_year
        p, r = self.p, self.regions
        # 1. policy
        lev = self.evaluator.adjust(self.levers.at(year))
        self.shocks.update(year)
        if sub == 0:
            self.fiscal.fit_to_cap(self, year, lev)
        self.lever_targets = lev = self.fiscal.scaled(lev)  # what the government sets and pays
        if sub == 0:
            self.programmes.build(lev)
        lev = self.lever_values = self.programmes.apply(lev)  # what the mechanisms meet
        if sub == 0:
            self._start_of_year(year, lev)
        # 2. regions
        bonus = r.science_city_bonus(p, lev["science_city_support"])
        r.attractiveness_for_talent(p, lev["talent_services"], bonus)
        # 3. public research
        self._public_research(lev)
        # 4. firms: operating cash flow and R&D
        live, bj = self._firms_operate(lev)
        # 5. talent market
        self.talent_market.year = year
        self.talent_market.clear(lev, graduation=sub == self.steps_per_year // 2, offers=sub == 0)
        # 6. innovation and the patent office
        self._innovation(s, lev, live, bj)
        # 7. technology market
        self._technology_trade(s, lev)
        # 8. capital market
        ipo, acquired = self.capital_market.clear(lev, self.steps, self.shocks.venture_capital)
        self.year_acc["listings"] += ipo.size
        self._firms_leave(acquired, "acquired")
        # 9. growth, payouts, closures, entry
        self._firms_grow(s, year)
        self._firms_leave(self.firms.closing(self.firms.live, p, self.clock, s), "closed")
        self._firms_enter(lev)
        # 10. end of year
        if sub == self.steps_per_year - 1:
            self._end_of_year(year, lev)
        self.datacollector.collect(self)
        if self.steps >= self.horizon:
            self.running = False

    def _public_research(self, lev: dict) -> None:
        p, u, acc = self.p, self.universities, self.year_acc
        budget = self.public_budget * self.scale_universities * self.dt
        acc["rd_public"] += u.do_research(
            budget, self.base.basic_share(lev["basic_research_priority"]), p, self.clock, self.money
        )
        acc["fiscal_research"] += budget
        acc["rd_basic"] += u.basic_q.sum()
        su, cost = self.scale_universities, self.research_cost_index()
        knowledge.produce_knowledge(u, p, self.clock, lev, cost, su, self.facility_factor)
        self.inventor_share_effective = u.transfer_effort(
            p, lev["inventor_income_share"], lev["central_unit_coverage"]
        )

    def _firms_operate(self, lev: dict) -> tuple[np.ndarray, np.ndarray]:
        """Returns the live firms and which of them are in Beijing (used through step 6)."""
        p, f, acc, money, dt = self.p, self.firms, self.year_acc, self.money, self.dt
        live = f.live
        f.operate(live, dt, money)
        grant = f.receive_leap_grants(
            live, lev["technology_leap_funding"], self.scale_firms, dt, money
        )
        acc["leap_grants"] += grant.sum()
        rd = f.spend_rd(live, p, lev["ip_protection"], p.leap_additionality * grant, dt, money)
        bj = f.in_beijing(live)
        acc["rd_firms"] += rd[bj].sum()
        acc["revenue"] += (f.revenue[live][bj] * dt).sum()
        return live, bj

    def _innovation(self, s: int, lev: dict, live: np.ndarray, bj: np.ndarray) -> None:
        p, f, u, c, acc = self.p, self.firms, self.universities, self.clock, self.year_acc
        rng = self.streams["innovation"]
        access, self.knowledge_access_ref = knowledge.firm_knowledge_access(
            f, u, self.regions, p, lev, self.knowledge_access_ref
        )
        luck = c.draws("innovation", s, f.firm_id[live])
        apps = f.innovate(
            live,
            p,
            rng,
            access,
            lev["ip_protection"],
            self.base.patent_productivity_firm,
            self.dt,
            platforms=lev["technology_innovation_centers"],
            draws=luck,
        )
        output = knowledge.research_productivity(p, lev) * self.facility_factor
        u_apps = u.patent_applications(p, rng, self.base.patent_productivity_university, output)
        acc["patent_applications"] += apps[bj].sum() + u_apps.sum()
        granted = patent_office.decide(f.pending, f.patents, live, p, c)
        acc["patent_grants_firms"] += granted[bj].sum()
        granted = patent_office.decide(u.pending, u.patents, np.arange(u.n), p, c)
        acc["patent_grants_universities"] += granted.sum()

    def _technology_trade(self, s: int, lev: dict) -> None:
        ext_growth = (1 + self.p.external_tech_demand_growth) ** (s * self.dt)
        procurement, licences = self.technology_market.clear(
            lev,
            ext_growth,
            self.shocks.demand,
            self.price_level,
            self.inventor_share_effective,
            self.research_cost_index(),
        )
        acc, tm = self.year_acc, self.technology_market
        acc["procurement"] += procurement
        acc["uni_licence_income"] += licences
        acc["vouchers"] += tm.vouchers_paid
        acc["voucher_base"] += tm.voucher_base

    def _firms_grow(self, s: int, year: int) -> None:
        p, f, c, dt = self.p, self.firms, self.clock, self.dt
        live = f.live
        # A demand multiplier m shifts the level of sales by m ** sensitivity while it holds: the
        # change of log m since the last step enters this step's growth once.
        jump = p.demand_shock_sensitivity * (np.log(self.shocks.demand) - np.log(self._demand_prev))
        self._demand_prev = self.shocks.demand
        # keyed by year: a firm's growth shock is one draw a year, spread over its quarters
        shock = c.draws("growth", year, f.firm_id[live], reuse=True)
        log_rev = f.grow(live, p, self.streams["growth"], jump / dt, dt, shock)
        f.valuation_update(live, p, dt, log_rev)
        f.pay_out(live, p, c, self.money)

    def _start_of_year(self, year: int, lev: dict) -> None:
        self._reset_year()
        self.public_budget *= 1.0 + lev["public_rd_growth"] / 100.0
        # Facilities: this year's construction budget, and the stock completed by now.
        self.facilities.commit(year, lev["huairou_facilities"])
        self.facility_factor = self.facilities.knowledge_factor(year)
        self.other_gdp *= 1.0 + self.p.other_gdp_growth
        if year > self.start_year:
            self.price_level *= 1.0 + self.p.price_inflation
        self.funds.raise_capital(
            self.p, lev, self.scale_firms, self.money, self.shocks.venture_capital
        )
        for market in (self.talent_market, self.capital_market, self.technology_market):
            market.new_year()
        f = self.firms
        f.rev_year_start[f.live] = f.revenue[f.live]

    def _end_of_year(self, year: int, lev: dict) -> None:
        p, f = self.p, self.firms
        live = f.live
        rng = self.streams["relocation"]
        self.year_acc["relocations"] += f.relocate(live, p, rng, lev["production_relocation"])
        f.certify_hte(live, p, self.streams["hte"], self.steps - 1, self.steps_per_year)
        self.funds.distribute(p, self.money)
        self.net_talent_inflow += self.talent_market.net_inflow_beijing.sum()
        self.fiscal.close_year(self, year, self.lever_targets)  # costs (an indicator too)
        self.annual[year] = indicators.annual_indicators(self, year)
        self.evaluator.evaluate(year, self.annual[year], self.levers)
        for listener in self.listeners:
            listener.compacting(f)
        remap = f.compact()
        self.capital_market.remap(remap)
        for listener in self.listeners:
            listener.compacted(remap)

    def _firms_leave(self, idx: np.ndarray, reason: str) -> None:
        """Firms leave: talent returns to the zone's pool, cash to owners or acquirer, debt and
        (closed firms) venture stakes are written off: banks and funds bear the loss."""
        if idx.size == 0:
            return
        for listener in self.listeners:
            listener.firms_leaving(idx, reason)
        f, acc = self.firms, self.year_acc
        acc["bank_losses"] += f.leave(idx, reason, self.regions.pool, self.money)
        if reason == "closed":
            self.capital_market.write_off(idx)
        n_bj = f.in_beijing(idx).sum()
        acc["exits"] += n_bj
        acc["acquisitions" if reason == "acquired" else "closures"] += n_bj
        self.firm_views.left(idx)

    def _firms_enter(self, lev: dict) -> None:
        slots = self.entry.enter(lev, self.shocks.talent_inflow)
        if slots.size:
            self.year_acc["entries"] += self.firms.in_beijing(slots).sum()
            self.firm_views.entered(slots)

    def _reset_year(self) -> None:
        for key in indicators.ACCUMULATORS:
            self.year_acc[key] = 0.0

    # ------------------------------------------------------------------------------------------
    # results
    # ------------------------------------------------------------------------------------------
    def indicator_frame(self):
        """Annual indicators of this run as a tidy pandas DataFrame (year, indicator, value)."""
        return indicators.to_frame(self.annual)

    def costs(self) -> list[dict]:
        """Each lever's fiscal cost of every simulated year so far (`sim.model.fiscal`)."""
        return self.fiscal.cost_rows()

    def budget_records(self) -> list[dict]:
        """The budget cap's projection and scaling of every capped year (empty without a cap)."""
        return [dict(r) for r in self.fiscal.budget]

    def evaluations(self) -> list[dict]:
        """Every check of the scenario's evaluation rules so far (`sim.model.evaluation`)."""
        return list(self.evaluator.records)

    def run(self) -> None:
        """Run to the end of the horizon."""
        while self.running:
            self.step()

    def release(self) -> None:
        """Drop this model's state so that its memory is freed now; the model is unusable after.

        A model is a web of reference cycles (its agents and it refer to each other), which
        Python frees only when its cyclic garbage collector runs, and a process that makes few
        other objects runs it rarely: a worker running posterior replicates at scale 0.25 grew
        by 10 MB a run (261 MB after ten runs, 183 MB with each model released). For loops that
        run many models and are done with each; also ends Mesa's per-model id counter."""
        mesa.Agent._ids.pop(self, None)
        self.__dict__.clear()


__all__ = ["InnovationModel", "REGIONS", "STREAMS", "BaseYear"]

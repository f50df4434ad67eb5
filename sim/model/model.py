"""InnovationModel: Beijing's innovation system, one step per quarter (by default) 2016-2030.

Schedule of one step (see docs/ODD.md, "Process overview"):
 1. policy: levers and shocks for the calendar year; first step of a year: funds raise capital
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
10. last step of a year: relocation, HTE certification, fund distributions, annual indicators
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.inputs import data
from sim.inputs.levers import LeverSettings, registry, status_quo
from sim.inputs.params import Params
from sim.inputs.scenario import Scenario, load_scenario
from sim.inputs.shocks import ShockSettings
from sim.model import indicators, knowledge
from sim.model.accounts import Ledger
from sim.model.agents.firm import (
    FOREIGN_RD,
    INCUBATOR,
    INCUMBENT,
    LISTED,
    RETURNEE,
    SPIN_OFF,
    Firm,
    FirmPopulation,
)
from sim.model.agents.fund import ANGEL, BANK, GUIDANCE, STATE_VC, VENTURE, Fund, FundPopulation
from sim.model.agents.fund import KINDS as FUND_KINDS
from sim.model.agents.region import (
    ABROAD,
    BEIJING,
    CORE,
    FSC,
    GREEN,
    HEBEI,
    HUAIROU,
    INDUSTRY,
    N_REGIONS,
    NO_PLACE,
    REGIONS,
    REST_OF_CHINA,
    TIANJIN,
    ZGC,
    Region,
    RegionPopulation,
)
from sim.model.agents.university import INSTITUTE, UNIVERSITY, University, UniversityPopulation
from sim.model.clock import STREAMS, Clock
from sim.model.markets.capital import CapitalMarket
from sim.model.markets.talent import HIGH_END, RESEARCHERS, TalentMarket
from sim.model.markets.technology import TechnologyMarket
from sim.model.sectors import KEY_FIELDS, N_SECTORS

# Entrants in a year at most this multiple of the simulated 2015 firm count (a safety bound for
# parameter corners; see InnovationModel._entry).
MAX_ENTRY_PER_YEAR = 1.0


@dataclass
class BaseYear:
    """Constants fixed at initialisation so that the 2015 state reproduces the 2015 record."""

    rd_2015: float  # total R&D, 100m yuan
    public_rd_2015: float
    firm_rd_2015: float
    gdp_2015: float
    other_gdp_2015: float
    population_2015: float  # 10k persons
    population_growth: float  # per year, derived 2015 -> 2020
    patent_stock_2015: float
    patent_grants_2015: float
    patent_productivity_firm: float  # applications per 100m yuan of R&D
    patent_productivity_university: float
    retained_income_2015: float  # universities' transfer income net of inventors' share
    fiscal_research_2015: float  # public R&D less what units fund from retained income
    usd_cny: float


def _seed_of(rng) -> int:
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"rng seed must be non-negative, got {rng}")
        return int(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, not {type(rng).__name__}")


class InnovationModel(mesa.Model):
    """Agent-based model of the Beijing national S&T innovation center plan.

    Args:
        scenario: path to a scenario YAML, a dict, a Scenario, or None for the baseline.
        scale: share of the 2015 agent populations simulated (1.0 = 1:1 with Beijing 2015);
            indicators are always reported at full-population equivalents.
        rng: seed (int) or numpy Generator; None draws a fresh seed (stored in `self.seed`).
        **overrides: lever id -> value (constant) or {year: value}, overriding the scenario.
    """

    def __init__(self, scenario=None, scale: float = 1.0, rng=None, **overrides):
        seed = _seed_of(rng)
        super().__init__(rng=seed)
        self.seed = seed
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        unknown = set(overrides) - set(registry())
        if unknown:
            raise TypeError(f"unknown keyword argument(s) (not a lever id): {sorted(unknown)}")
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale}")
        self.scenario = sc.with_levers(overrides) if overrides else sc
        self.scale = float(scale)
        self.p = p = Params(self.scenario.parameters)
        self.levers = LeverSettings(self.scenario.levers)
        self.shocks = ShockSettings(self.scenario.shocks)
        t = self.scenario.time
        self.clock = Clock(t.start_year, t.end_year, t.steps_per_year, seed)
        self.streams = self.clock.streams
        self.start_year, self.end_year = t.start_year, t.end_year
        self.steps_per_year, self.dt, self.horizon = (
            self.clock.steps_per_year,
            self.clock.dt,
            self.clock.horizon,
        )

        self.money = Ledger("money")
        self.talent = Ledger("talent")
        self.year = self.start_year
        # The initial state is Beijing in 2015: everything calibrated at the base year uses the
        # status-quo levers and no shocks; the scenario's own values apply from the first step.
        self.lever_values = {lid: lv.default for lid, lv in registry().items()}
        self.knowledge_access_ref = None
        self.price_level = 1.0
        self._demand_prev = 1.0
        self.annual: dict[int, dict[str, float]] = {}
        self.year_acc: dict[str, float] = {}
        self._reset_year()

        self.base = self._base_year()
        self.regions = RegionPopulation(p, self.scale)
        self._wage_2015 = float(self.regions.wage[BEIJING].mean())
        self.region_agents = [Region(self, i) for i in range(N_REGIONS)]
        self._init_universities()
        self._init_firms()
        self._init_funds()
        self._init_talent_pools()
        self.public_budget = self.base.fiscal_research_2015  # annual, full scale
        self.other_gdp = self.base.other_gdp_2015
        self.population_base = self.base.population_2015
        self.net_talent_inflow = 0.0  # persons, simulated scale, cumulative
        self.inventor_share_effective = np.full(
            self.universities.n, self.lever_values["inventor_income_share"]
        )

        self.talent_market = TalentMarket(
            p,
            self.clock,
            self.regions,
            self.firms,
            self.universities,
            self.talent,
            self.shocks,
            self.scale_universities,
        )
        self.capital_market = CapitalMarket(p, self.clock, self.firms, self.funds, self.money)
        self.capital_market.set_reference(self.funds)
        self.technology_market = TechnologyMarket(
            p, self.clock, self.regions, self.firms, self.universities, self.money, self.scale_firms
        )
        self._calibrate_technology_market()
        self.regions.attractiveness_for_talent(
            p, self.lever_values["talent_services"], self._science_city_bonus()
        )
        self._balance_outside_pools()
        # Knowledge access is measured relative to the 2015 state; so is the pace of progress.
        access = knowledge.firm_knowledge_access(self, self.lever_values)
        live = self.firms.live
        self.firms.purchases_q[live] = self.technology_market.base_year_purchases(live)
        self.firms.set_reference_pace(live, p, access, self.dt)

        self.datacollector = mesa.DataCollector(model_reporters=indicators.step_reporters())
        self.running = True
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------------------
    # initialisation
    # ------------------------------------------------------------------------------------------
    def _base_year(self) -> BaseYear:
        p = self.p
        rd = data.observed("rd_expenditure", 2015)
        intensity = data.observed("rd_intensity", 2015)
        gdp = rd / (intensity / 100.0)  # pre-2019-revision GDP basis (see seeds/SOURCES.md)
        zgc = data.observed("zgc_total_revenue", 2015) * 1e4  # trillion -> 100m yuan
        firm_rd = p.firm_rd_share_2015 * rd
        public_rd = rd - firm_rd
        pop15 = data.observed("population", 2015)
        pop20 = data.observed("population", 2020)
        stock15 = data.observed("invention_patents_per_10k", 2015) * pop15
        stock14 = data.observed("invention_patents_per_10k", 2014) * pop15  # 2014 pop. not held
        grants15 = stock15 - stock14 * (1.0 - p.patent_lapse_rate)
        apps_needed = grants15 / p.patent_grant_rate
        # Universities' transfer income: their seller share of 2015 turnover, less inventors' share.
        sales = p.university_seller_share_2015 * data.observed("tech_contract_turnover", 2015)
        retained = sales * (1.0 - status_quo("inventor_income_share"))
        prod_firm = p.firm_patent_share * apps_needed / firm_rd
        prod_uni = (1 - p.firm_patent_share) * apps_needed / public_rd
        return BaseYear(
            rd_2015=rd,
            public_rd_2015=public_rd,
            firm_rd_2015=firm_rd,
            gdp_2015=gdp,
            other_gdp_2015=gdp - p.value_added_ratio * zgc - public_rd,
            population_2015=pop15,
            population_growth=(pop20 / pop15) ** (1 / 5) - 1,
            patent_stock_2015=stock15,
            patent_grants_2015=grants15,
            patent_productivity_firm=prod_firm,
            patent_productivity_university=prod_uni,
            usd_cny=p.usd_cny_2015,
            retained_income_2015=retained,
            fiscal_research_2015=public_rd - retained,
        )

    def _counts(self, n_full: float, minimum: int) -> int:
        return max(minimum, int(round(n_full * self.scale)))

    def _init_universities(self) -> None:
        p, rng = self.p, self.streams["init"]
        n_uni = self._counts(p.n_universities, 2)
        n_inst = self._counts(p.n_institutes, 2)
        n = n_uni + n_inst
        self.scale_universities = n / (p.n_universities + p.n_institutes)
        u = self.universities = UniversityPopulation(n)
        u.kind[:] = np.r_[np.full(n_uni, UNIVERSITY), np.full(n_inst, INSTITUTE)]
        u.central[:] = rng.random(n) < p.central_unit_share
        u.field[:] = rng.integers(0, N_SECTORS, n)
        zone = rng.choice(
            3,
            size=n,
            p=_norm(
                [p.university_share_core, p.university_share_industry, p.university_share_green]
            ),
        )
        u.region[:] = BEIJING[zone]
        place_by_zone = np.array([ZGC, FSC, HUAIROU])
        in_city = rng.random(n) < p.university_in_science_city
        u.place[:] = np.where(in_city, place_by_zone[zone], NO_PLACE)
        size = rng.lognormal(0.0, 0.8, n)
        researchers_total = (
            p.researcher_cost_share
            * self.base.public_rd_2015
            / p.rd_cost_per_fte
            * self.scale_universities
        )
        u.researchers[:] = researchers_total * size / size.sum()
        u.high_end[:] = p.high_end_per_researcher_university * u.researchers
        u.basic_pref[:] = np.where(
            u.kind == UNIVERSITY, p.basic_pref_university, 1.0
        ) * rng.lognormal(0, 0.3, n)
        u.reputation[:] = rng.lognormal(0.0, 0.4, n)
        u.tto[:] = rng.lognormal(0.0, 0.4, n)
        u.transfer_effort(
            p,
            self.lever_values["inventor_income_share"],
            self.lever_values["central_unit_coverage"],
        )
        u.fund_research(
            self.base.fiscal_research_2015 * self.scale_universities * self.dt,
            self.lever_values["basic_research_priority"],
        )
        # Retained transfer income at its steady state (spent on applied research).
        weight = u.applied_q * u.tto * u.effort
        u.cash[:] = (
            self.base.retained_income_2015
            / p.retained_income_spend_rate
            * self.scale_universities
            * weight
            / weight.sum()
        )
        u.applied_q += u.cash * self.clock.per_step(p.retained_income_spend_rate)  # as in each step
        # Knowledge starts at its steady state under 2015 funding.
        u.knowledge[:] = knowledge.knowledge_flow(
            self, u.basic_q, self.lever_values
        ) / self.clock.per_step(p.knowledge_depreciation)
        u.reputation[:] = 0.5 * u.reputation + 0.5 * u.knowledge / u.knowledge.mean()
        stock = self.base.patent_stock_2015 * (1 - p.firm_patent_share) * self.scale_universities
        u.patents[:] = rng.multinomial(int(round(stock)), u.researchers / u.researchers.sum())
        apps_step = self.base.patent_productivity_university * (u.basic_q + u.applied_q)
        u.pending[:] = rng.poisson(apps_step * p.patent_pendency_years * self.steps_per_year)
        self.university_agents = [University(self, i) for i in range(n)]

    def _init_firms(self) -> None:
        p, rng, b = self.p, self.streams["init"], self.base
        n = self._counts(p.n_firms_2015, 20)
        self.scale_firms = n / p.n_firms_2015
        f = self.firms = FirmPopulation(int(n * 1.5))
        sector = rng.choice(N_SECTORS, size=n, p=_norm(p.sector_shares_2015))
        zone = rng.choice(
            3, size=n, p=_norm([p.firm_share_core, p.firm_share_industry, p.firm_share_green])
        )
        region = BEIJING[zone]
        place_by_zone = np.array([ZGC, FSC, HUAIROU])
        place = np.where(
            rng.random(n)
            < np.array(
                [
                    p.firm_in_science_city_core,
                    p.firm_in_science_city_industry,
                    p.firm_in_science_city_green,
                ]
            )[zone],
            place_by_zone[zone],
            NO_PLACE,
        )
        owner = rng.choice(
            3, size=n, p=_norm([1 - p.soe_share - p.foreign_share, p.soe_share, p.foreign_share])
        )
        age = np.floor(rng.exponential(p.firm_mean_age_years, n) * self.steps_per_year).astype(
            np.int32
        )
        # Revenue: Pareto upper tail, rescaled to Zhongguancun's 2015 total.
        # Stratified quantiles of a Pareto law (randomly assigned): the size distribution is the
        # same in every replicate, so aggregates do not hinge on one extreme draw.
        q = (np.arange(n) + 0.5) / n
        raw = rng.permutation(q ** (-1.0 / p.size_pareto_alpha))
        revenue = (
            raw / raw.sum() * data.observed("zgc_total_revenue", 2015) * 1e4 * self.scale_firms
        )
        employees = np.maximum(1.0, revenue / p.revenue_per_employee * rng.lognormal(0, 0.3, n))
        # Older firms tend to be larger: ages are assigned by a noisy ranking of size.
        age = np.sort(age)[np.argsort(np.argsort(np.log(revenue) + rng.normal(0.0, 1.5, n)))]
        stage = np.zeros(n, dtype=np.int8)
        young = age < p.venture_max_age_years * self.steps_per_year
        backed = young & (rng.random(n) < p.venture_backed_share_young)
        stage[backed] = rng.choice([1, 2, 3, 4], size=backed.sum(), p=[0.45, 0.3, 0.15, 0.1])
        listed = np.argsort(-revenue)[: int(round(p.listed_share * n))]
        stage[listed] = LISTED
        cash = p.cash_to_revenue * revenue + np.where(backed, p.round_size_a, 0.0)
        # Venture-backed start-ups spend part of their cash on R&D (FirmPopulation.decide_rd);
        # that spending is part of firms' 2015 R&D, so their own R&D makes up the rest.
        startup = (stage >= 1) & (stage < LISTED) & (revenue < p.revenue_ref)
        burn_year = np.where(startup, p.vc_burn_rate * p.vc_burn_rd_share * cash, 0.0)
        own_rd = max(
            b.firm_rd_2015 * self.scale_firms - burn_year.sum(),
            0.5 * b.firm_rd_2015 * self.scale_firms,
        )
        # R&D intensity: dispersed, higher in small firms; rescaled to firms' own 2015 R&D.
        rd_int = rng.lognormal(0.0, p.rd_intensity_dispersion, n) * (
            revenue / np.median(revenue)
        ) ** (-p.rd_intensity_size_slope)
        rd_int *= np.where(sector == N_SECTORS - 1, p.services_rd_factor, 1.0)
        rd_int = rd_int * own_rd / (rd_int * revenue).sum()
        rd_int = np.minimum(rd_int, 0.6)
        # Technology starts near each firm's steady state, where its gains match its sector's:
        # with gains ~ effort x tech^-catch_up, that level is effort^(1 / catch_up).
        effort = np.minimum(
            (rd_int * revenue / employees / p.rd_per_employee_ref) ** p.tech_rd_elasticity,
            p.max_rd_effort,
        )
        tech = np.maximum(effort, 1e-3) ** (1.0 / max(p.tech_catch_up, 0.1)) * rng.lognormal(
            0.0, p.tech_dispersion, n
        )
        tech /= (
            np.bincount(sector, weights=tech, minlength=N_SECTORS)
            / np.maximum(np.bincount(sector, minlength=N_SECTORS), 1)
        )[sector]
        rd_year = rd_int * revenue
        researchers = p.researcher_cost_share * rd_year / p.rd_cost_per_fte
        val = revenue * p.revenue_multiple * tech**p.tech_valuation_elasticity
        slots = f.add(
            n,
            sector=sector,
            region=region,
            place=place,
            ownership=owner,
            origin=INCUMBENT,
            stage=stage,
            age=age,
            employees=employees,
            revenue=revenue,
            margin_fe=rng.normal(0.0, p.margin_dispersion, n),
            cash=cash,
            rd_pref=rd_int,
            rd_q=(rd_year + burn_year) * self.dt,
            researchers=researchers,
            high_end=p.high_end_per_researcher_firm * researchers,
            tech=tech,
            valuation=val,
            last_post=np.where(backed, val, 0.0),
            last_funded=-1000,
            rev_year_start=revenue,
        )
        f.margin[slots] = p.operating_margin + f.margin_fe[slots]
        stock = b.patent_stock_2015 * p.firm_patent_share * self.scale_firms
        w = rd_year * tech
        f.patents[slots] = rng.multinomial(int(round(stock)), w / w.sum())
        f.pending[slots] = rng.poisson(
            b.patent_productivity_firm
            * rd_year
            * self.dt
            * p.patent_pendency_years
            * self.steps_per_year
        )
        # HTE: the 2015 stock, taken from the eligible firms with the highest R&D intensity.
        k = int(round(self._hte_2015() * self.scale_firms))
        elig = slots[f.hte_eligible(slots, self.dt)]
        order = elig[np.argsort(-f.rd_pref[elig])]
        f.hte[order[:k]] = True
        self.hte_shortfall_2015 = max(0, k - elig.size)
        self._add_firm_agents(slots)

    def _hte_2015(self) -> float:
        """2015 stock of national HTEs: geometric interpolation of 2014 and 2016 (derived)."""
        return float(
            np.sqrt(data.observed("national_hte", 2014) * data.observed("national_hte", 2016))
        )

    def _init_funds(self) -> None:
        p = self.p
        counts = [
            self._counts(p.n_angel_groups, 2),
            self._counts(p.n_venture_funds, 3),
            self._counts(p.n_guidance_funds, 1),
            self._counts(p.n_state_vc, 1),
            self._counts(p.n_banks, 1),
        ]
        n = sum(counts)
        fu = self.funds = FundPopulation(n)
        fu.kind[:] = np.repeat(np.arange(len(FUND_KINDS)), counts)
        fu.region[:] = CORE
        sf = self.scale_firms
        initial = {
            ANGEL: p.angel_supply_2015,
            VENTURE: p.venture_dry_powder_2015,
            GUIDANCE: p.guidance_commitment_2015,
            STATE_VC: p.state_vc_supply_2015,
            BANK: p.bank_lending_capacity_2015,
        }
        for kind, amount in initial.items():
            idx = fu.of_kind(kind)
            fu.cash[idx] = amount * sf / idx.size
            fu.paid_in[idx] = fu.cash[idx]
        self.fund_agents = [Fund(self, i) for i in range(n)]
        self.money.open("funds", fu.cash.sum())
        self.money.open("firms", self.firms.cash[self.firms.live].sum())
        self.money.open("universities", self.universities.cash.sum())

    def _init_talent_pools(self) -> None:
        p, f, u, r = self.p, self.firms, self.universities, self.regions
        live = f.live
        for k, (hf, hu) in enumerate(((f.researchers, u.researchers), (f.high_end, u.high_end))):
            employed = np.bincount(
                f.region[live], weights=hf[live], minlength=N_REGIONS
            ) + np.bincount(u.region, weights=hu, minlength=N_REGIONS)
            r.pool[k, BEIJING] = p.pool_share * employed[BEIJING]
        held = (
            f.researchers[live].sum()
            + f.high_end[live].sum()
            + u.researchers.sum()
            + u.high_end.sum()
        )
        self.talent.open("holders", held + r.pool[:, BEIJING].sum())

    def _balance_outside_pools(self) -> None:
        """Outside reservoirs sized so that 2015 migration with each outside region is balanced."""
        r = self.regions
        rates = self.talent_market.migration_rates(self.lever_values)
        for k in range(rates.shape[0]):
            for o in (TIANJIN, HEBEI, REST_OF_CHINA, ABROAD):
                out_bj = (r.pool[k, BEIJING] * rates[k, BEIJING, o]).sum()
                in_rate = rates[k, o, BEIJING].sum()
                r.pool[k, o] = out_bj / max(in_rate, 1e-12)
        self.talent.open("holders", r.pool[:, [TIANJIN, HEBEI, REST_OF_CHINA, ABROAD]].sum())

    def _calibrate_technology_market(self) -> None:
        p = self.p
        turnover = data.observed("tech_contract_turnover", 2015) * self.scale_firms * self.dt
        jjj = data.observed("tech_flow_to_tianjin_hebei", 2015) * self.scale_firms * self.dt
        bj_share = p.tech_buyer_share_beijing
        abroad_share = p.tech_buyer_share_abroad
        targets = np.zeros(N_REGIONS)
        zone_w = np.array([p.firm_share_core, p.firm_share_industry, p.firm_share_green])
        targets[BEIJING] = turnover * bj_share * zone_w / zone_w.sum()
        targets[TIANJIN] = jjj * p.jjj_flow_tianjin_share
        targets[HEBEI] = jjj * (1 - p.jjj_flow_tianjin_share)
        targets[ABROAD] = turnover * abroad_share
        targets[REST_OF_CHINA] = turnover - targets.sum()
        self.technology_market.calibrate(
            targets, p.tech_firm_buyer_share, self.lever_values, self.research_cost_index()
        )

    def research_cost_index(self) -> float:
        """Cost of a unit of research effort relative to 2015: Beijing's mean wage level."""
        return float(self.regions.wage[BEIJING].mean()) / self._wage_2015

    def _science_city_bonus(self) -> np.ndarray:
        """Amenity of the zones that hold a science city, scaled by their build-up (task 1)."""
        bonus = np.zeros(N_REGIONS)
        bonus[[CORE, INDUSTRY, GREEN]] = (
            self.p.science_city_amenity * self.lever_values["science_city_support"]
        )
        return bonus

    def _draws(self, stream: str, step: int, idx: np.ndarray):
        """Per-firm draws keyed by firm id (common random numbers across scenarios)."""
        return self.clock.draws(stream, step, self.firms.firm_id[idx])

    def _leap_grants(self, live: np.ndarray, annual: float) -> np.ndarray:
        """Technology leap projects (task 6): the year's fiscal co-funding, paid each quarter to
        Beijing firms of the eight key fields in proportion to their planned R&D. Returns the
        grant of every live firm (added to its cash)."""
        f = self.firms
        grant = np.zeros(live.size)
        if annual <= 0:
            return grant
        eligible = f.in_beijing(live) & np.isin(f.sector[live], KEY_FIELDS)
        weight = np.where(eligible, f.rd_pref[live] * f.revenue[live], 0.0)
        if weight.sum() <= 0:
            return grant
        grant = annual * self.scale_firms * self.dt * weight / weight.sum()
        f.cash[live] += grant
        self.money.transfer("government", "firms", grant.sum())
        self.year_acc["leap_grants"] += grant.sum()
        return grant

    # ------------------------------------------------------------------------------------------
    # time
    # ------------------------------------------------------------------------------------------
    def _reset_year(self) -> None:
        for key in indicators.ACCUMULATORS:
            self.year_acc[key] = 0.0

    def step(self) -> None:
        if not self.running:
            return
        s = self.steps - 1
        if s >= self.horizon:
            self.running = False
            return
        year = self.start_year + s // self.steps_per_year
        sub = s % self.steps_per_year
        self.year = year
        p, f, u = self.p, self.firms, self.universities
        lev = self.lever_values = self.levers.at(year)
        self.shocks.update(year)
        if sub == 0:
            self._start_of_year(year, lev)

        # 2. regions
        self.regions.attractiveness_for_talent(
            p, lev["talent_services"], self._science_city_bonus()
        )
        # 3. public research
        budget = self.public_budget * self.scale_universities * self.dt
        u.fund_research(budget, lev["basic_research_priority"])
        self.money.transfer("government", "universities", budget)
        retained = u.cash * self.clock.per_step(p.retained_income_spend_rate)
        u.cash -= retained
        u.applied_q += retained
        spend = u.basic_q.sum() + u.applied_q.sum()
        self.money.transfer("universities", "households", spend)
        self.year_acc["rd_public"] += spend
        self.year_acc["rd_basic"] += u.basic_q.sum()
        knowledge.produce_knowledge(self, lev)
        self.inventor_share_effective = u.transfer_effort(
            p, lev["inventor_income_share"], lev["central_unit_coverage"]
        )

        # 4. firms: operating cash flow and R&D
        live = f.live
        cf = f.margin[live] * f.revenue[live] * self.dt
        gain = np.clip(cf, 0.0, None)
        loss = np.minimum(np.clip(-cf, 0.0, None), f.cash[live])
        f.cash[live] += gain - loss
        self.money.transfer("customers", "firms", gain.sum())
        self.money.transfer("firms", "households", loss.sum())
        grant = self._leap_grants(live, lev["technology_leap_funding"])
        rd = f.decide_rd(live, p, lev["ip_protection"], p.leap_additionality * grant, self.dt)
        f.rd_q[live] = rd
        f.cash[live] -= rd
        self.money.transfer("firms", "households", rd.sum())
        bj = f.in_beijing(live)
        self.year_acc["rd_firms"] += rd[bj].sum()
        self.year_acc["revenue"] += (f.revenue[live][bj] * self.dt).sum()

        # 5. talent
        tm = self.talent_market
        tm.retire()
        tm.promote(lev["young_scientist_support"])
        if sub == self.steps_per_year // 2:
            tm.graduate()
        tm.academic_mobility(lev["mobile_posts_share"])
        tm.recruit_high_end(lev)
        tm.migrate(lev)
        tm.match()

        # 6. innovation and the patent office
        access = knowledge.firm_knowledge_access(self, lev)
        apps = f.innovate(
            live,
            p,
            self.streams["innovation"],
            access,
            lev["ip_protection"],
            self.base.patent_productivity_firm,
            self.dt,
            platforms=lev["technology_innovation_centers"],
            draws=self._draws("innovation", s, live),
        )
        u_apps = u.patent_applications(
            p, self.streams["innovation"], self.base.patent_productivity_university
        )
        self.year_acc["patent_applications"] += apps[bj].sum() + u_apps.sum()
        g_f = self._patent_office(f.pending, f.patents, live)
        g_u = self._patent_office(u.pending, u.patents, np.arange(u.n))
        self.year_acc["patent_grants_firms"] += g_f[bj].sum()
        self.year_acc["patent_grants_universities"] += g_u.sum()

        # 7. technology market
        ext_growth = (1 + p.external_tech_demand_growth) ** (s * self.dt)
        procurement, licences = self.technology_market.clear(
            lev,
            ext_growth,
            self.shocks.demand,
            self.price_level,
            self.inventor_share_effective,
            self.research_cost_index(),
        )
        self.year_acc["procurement"] += procurement
        self.year_acc["uni_licence_income"] += licences

        # 8. capital market
        cm = self.capital_market
        cm.service_debt()
        cm.lend(lev["investment_loan_linkage"])
        cm.rounds(self.steps, self.shocks.venture_capital)
        ipo, acquired = cm.exits(lev["exit_market_depth"])
        self.year_acc["listings"] += ipo.size
        self._remove_firms(acquired, reason="acquired")

        # 9. growth, payouts, closures, entry
        live = f.live
        # A demand multiplier m shifts the level of sales by m ** sensitivity while it holds: the
        # change of log m since the last step enters this step's growth once.
        jump = p.demand_shock_sensitivity * (np.log(self.shocks.demand) - np.log(self._demand_prev))
        self._demand_prev = self.shocks.demand
        f.grow(
            live,
            p,
            self.streams["growth"],
            jump / self.dt,
            self.dt,
            # keyed by year: a firm's growth shock is one draw a year, spread over its quarters
            self._draws("growth", self.year, live),
        )
        f.valuation_update(live, p)
        self._payouts(live)
        self._closures(s)
        self._entry(lev)

        # 10. end of year
        if sub == self.steps_per_year - 1:
            self._end_of_year(year, lev)
        self.datacollector.collect(self)
        if self.steps >= self.horizon:
            self.running = False

    # ------------------------------------------------------------------------------------------
    def _start_of_year(self, year: int, lev: dict) -> None:
        p = self.p
        self._reset_year()
        if year > self.start_year:
            self.public_budget *= 1.0 + lev["public_rd_growth"] / 100.0
            self.other_gdp *= 1.0 + p.other_gdp_growth
            self.price_level *= 1.0 + p.price_inflation
        else:
            self.public_budget *= 1.0 + lev["public_rd_growth"] / 100.0
            self.other_gdp *= 1.0 + p.other_gdp_growth
        self.funds.raise_capital(p, lev, self.scale_firms, self.money, self.shocks.venture_capital)
        self.talent_market.net_inflow_beijing[:] = 0.0
        self.talent_market.flow[:] = 0.0
        self.capital_market.flow[:] = 0.0
        self.technology_market.flow[:] = 0.0
        self.technology_market.contracts[:] = 0.0
        self.capital_market.vc_invested = 0.0
        self.capital_market.deals = 0
        self.capital_market.loans_issued = 0.0
        f = self.firms
        f.rev_year_start[f.live] = f.revenue[f.live]

    def _end_of_year(self, year: int, lev: dict) -> None:
        p, f = self.p, self.firms
        live = f.live
        moving, dest = f.relocation_candidates(
            live, p, self.streams["relocation"], lev["production_relocation"]
        )
        f.region[moving] = dest
        f.place[moving] = NO_PLACE
        f.hte[moving] = False
        self.year_acc["relocations"] += moving.size
        rng = self.streams["hte"]
        elig = f.hte_eligible(live, self.dt)
        certify = live[elig & ~f.hte[live] & (rng.random(live.size) < p.hte_application_rate)]
        lose = live[~elig & f.hte[live] & (rng.random(live.size) < 1.0 / 3.0)]
        f.hte[certify] = True
        f.hte[lose] = False
        self.funds.distribute(p, self.money)
        self.net_talent_inflow += self.talent_market.net_inflow_beijing.sum()
        self.annual[year] = indicators.annual_indicators(self, year)
        remap = f.compact()
        self.capital_market.remap(remap)

    def _patent_office(self, pending, patents, idx) -> np.ndarray:
        p, rng = self.p, self.streams["innovation"]
        decided = rng.binomial(pending[idx], min(1.0, self.dt / p.patent_pendency_years))
        granted = rng.binomial(decided, p.patent_grant_rate)
        pending[idx] -= decided
        lapsed = rng.binomial(patents[idx], self.clock.per_step(p.patent_lapse_rate))
        patents[idx] += granted - lapsed
        return granted

    def _payouts(self, live) -> None:
        """Firms holding cash beyond their needs pay it out to owners."""
        f, p = self.firms, self.p
        cap = p.cash_cap_to_revenue * f.revenue[live] + np.where(
            f.stage[live] >= 1, f.last_post[live] * 0.5, 0.0
        )
        excess = np.clip(f.cash[live] - cap, 0.0, None) * self.clock.per_step(0.5)
        f.cash[live] -= excess
        self.money.transfer("firms", "households", excess.sum())

    def _closures(self, step: int) -> None:
        f, p = self.firms, self.p
        live = f.live
        h = 1.0 - (1.0 - f.exit_hazard(live, p, self.dt)) ** self.dt
        broke = (f.cash[live] < p.insolvency_cash) & (f.margin[live] < 0)
        h = np.where(broke, np.maximum(h, p.insolvency_exit_prob), h)
        closing = live[self._draws("exit", step, live).random() < h]
        self._remove_firms(closing, reason="closed")

    def _remove_firms(self, idx: np.ndarray, reason: str) -> None:
        """Firms leave: talent returns to the zone's pool, cash to owners or acquirer, debt and
        venture stakes are written off (banks and funds bear the loss)."""
        if idx.size == 0:
            return
        f, r = self.firms, self.regions
        reg = f.region[idx]
        for k, held in enumerate((f.researchers, f.high_end)):
            r.pool[k] += np.bincount(reg, weights=held[idx], minlength=N_REGIONS)
            held[idx] = 0.0
        dest = "markets" if reason == "acquired" else "households"
        self.money.transfer("firms", dest, f.cash[idx].sum())
        f.cash[idx] = 0.0
        self.year_acc["bank_losses"] += f.debt[idx].sum()
        f.debt[idx] = 0.0
        if reason == "closed":
            self.capital_market.write_off(idx)
        bj = np.isin(reg, BEIJING)
        self.year_acc["exits"] += bj.sum()
        self.year_acc["acquisitions" if reason == "acquired" else "closures"] += bj.sum()
        f.alive[idx] = False
        self._remove_firm_agents(idx)

    def _entry(self, lev: dict) -> None:
        """New firms: spin-offs, incubator start-ups, returnee start-ups, foreign R&D centers."""
        p, f, u, r, rng = self.p, self.firms, self.universities, self.regions, self.streams["entry"]
        dt = self.dt
        base = p.n_firms_2015 * self.scale_firms * dt
        # Registration reform (task 14) lowers the threshold for every domestic start-up.
        registration = 1.0 + p.registration_effect * lev["business_registration_reform"]
        spin = rng.poisson(
            registration
            * u.spin_off_rate(p, lev["mobile_posts_share"])
            * self.scale_firms
            / self.scale_universities
        )
        n_spin = int(spin.sum())
        n_inc = int(
            rng.poisson(base * p.incubator_entry_rate * lev["incubator_capacity"] * registration)
        )
        easing = 1.0 + p.visa_easing_effect * lev["overseas_talent_easing"]
        returnees = easing * lev["overseas_talent_bases"] * self.shocks.talent_inflow
        n_ret = int(rng.poisson(base * p.returnee_entry_rate * returnees))
        n_for = int(rng.poisson(base * p.foreign_rd_entry_rate * lev["foreign_rd_attraction"]))
        n = n_spin + n_inc + n_ret + n_for
        cap = int(np.ceil(MAX_ENTRY_PER_YEAR * base))
        if n > cap:
            # Far outside any calibrated state (entry feeding on itself through spin-offs and
            # technology sales) the population would grow without bound: every source is cut
            # pro rata to the cap. Never binds near the defaults (entry is ~8% of firms a year).
            keep = cap / n
            spin = np.floor(spin * keep).astype(spin.dtype)
            n_spin = int(spin.sum())
            n_inc, n_ret, n_for = (int(k * keep) for k in (n_inc, n_ret, n_for))
            n = n_spin + n_inc + n_ret + n_for
        if n == 0:
            return
        parent = np.repeat(np.arange(u.n), spin)
        zone_w = np.maximum(
            np.exp(r.attractiveness[BEIJING])
            * np.array([p.firm_share_core, p.firm_share_industry, p.firm_share_green]),
            1e-9,
        )
        other_zone = rng.choice(3, size=n - n_spin, p=zone_w / zone_w.sum())
        region = np.r_[u.region[parent], BEIJING[other_zone]].astype(np.int8)
        place_by_region = {CORE: ZGC, INDUSTRY: FSC, GREEN: HUAIROU}
        in_city = rng.random(n) < p.entrant_in_science_city
        place = np.array([place_by_region[int(x)] for x in region]) * in_city
        place[:n_spin] = u.place[parent]
        sector = np.r_[
            u.field[parent], rng.choice(N_SECTORS, size=n - n_spin, p=_norm(p.sector_shares_2015))
        ]
        origin = np.r_[
            np.full(n_spin, SPIN_OFF),
            np.full(n_inc, INCUBATOR),
            np.full(n_ret, RETURNEE),
            np.full(n_for, FOREIGN_RD),
        ]
        live = f.live
        sector_tech = np.bincount(
            f.sector[live], weights=f.tech[live], minlength=N_SECTORS
        ) / np.maximum(np.bincount(f.sector[live], minlength=N_SECTORS), 1)
        tech = sector_tech[sector] * rng.lognormal(0.0, p.tech_dispersion, n)
        tech[:n_spin] *= 1.0 + p.spin_off_tech_premium
        tech[origin == FOREIGN_RD] *= 1.0 + p.foreign_rd_tech_premium
        revenue = (
            p.entrant_revenue
            * rng.lognormal(0.0, 1.0, n)
            * np.where(origin == FOREIGN_RD, 10.0, 1.0)
        )
        cash = (
            p.entrant_seed_capital
            * rng.lognormal(0.0, 0.5, n)
            * np.where(origin == FOREIGN_RD, 10.0, 1.0)
        )
        owner = np.where(origin == FOREIGN_RD, 2, 0)
        slots = f.add(
            n,
            sector=sector,
            region=region,
            place=place,
            ownership=owner,
            origin=origin,
            stage=0,
            age=0,
            employees=np.maximum(1.0, revenue / p.revenue_per_employee),
            revenue=revenue,
            margin_fe=rng.normal(0.0, p.margin_dispersion, n),
            cash=cash,
            rd_pref=p.entrant_rd_intensity * rng.lognormal(0.0, 0.5, n),
            tech=tech,
            last_funded=-1000,
            rev_year_start=revenue,
        )
        f.margin[slots] = p.operating_margin + f.margin_fe[slots] - p.young_firm_loss
        f.valuation[slots] = revenue * p.revenue_multiple
        self.money.transfer("founders", "firms", cash.sum())
        # Founders: one person each. Returnees come from the world's overseas talent (an external
        # talent account: the model's abroad reservoir only carries migration); the others from
        # the zone's researcher pool, as far as it has people.
        ret = slots[origin == RETURNEE]
        if ret.size:
            f.high_end[ret] += 1.0
            self.talent.transfer("overseas", "holders", float(ret.size))
            self.talent_market.net_inflow_beijing[HIGH_END] += ret.size
            self.talent_market.flow[HIGH_END, ABROAD] += np.bincount(
                f.region[ret], minlength=N_REGIONS
            )
        s = slots[origin != RETURNEE]
        if s.size:
            need = np.bincount(f.region[s], minlength=N_REGIONS).astype(float)
            got = np.minimum(need, r.pool[RESEARCHERS])
            r.pool[RESEARCHERS] -= got
            share = np.where(need > 0, got / np.maximum(need, 1), 0.0)
            f.researchers[s] += share[f.region[s]]
        bj = np.isin(region, BEIJING)
        self.year_acc["entries"] += bj.sum()
        self._add_firm_agents(slots)

    # ------------------------------------------------------------------------------------------
    # Mesa agents of firms, in batches
    # ------------------------------------------------------------------------------------------
    def _add_firm_agents(self, slots: np.ndarray) -> None:
        """Mesa agents for new firms in slots `slots`, registered as a batch.

        Does for each what `Firm(self, slot)` does (an id from Mesa's per-model counter, then the
        model's three registries: `_agents`, the `Firm` AgentSet, all agents) without the per-call
        overhead: at full scale thousands of firms enter a year (tests check the registries match
        the live firms)."""
        f = self.firms
        if Firm not in self._agents_by_type:  # the first firm creates the Firm AgentSet
            first = Firm(self, int(slots[0]))
            f.agents[int(slots[0])], f.firm_id[slots[0]] = first, first.unique_id
            slots = slots[1:]
        ids = mesa.Agent._ids[self]
        batch = {}
        for s in slots.tolist():
            agent = Firm.__new__(Firm)
            agent.model, agent.unique_id, agent.pos, agent.slot = self, next(ids), None, s
            f.agents[s] = agent
            f.firm_id[s] = agent.unique_id
            batch[agent] = None
        self._agents.update(batch)
        self._agents_by_type[Firm]._agents.update(batch)
        self._all_agents._agents.update(batch)

    def _remove_firm_agents(self, slots: np.ndarray) -> None:
        """Deregister the Mesa agents of firms that left (what `Agent.remove` does, as a batch)."""
        f = self.firms
        of_type, everyone = self._agents_by_type[Firm]._agents, self._all_agents._agents
        for s in slots.tolist():
            agent = f.agents[s]
            del self._agents[agent], of_type[agent], everyone[agent]
            f.agents[s] = None

    # ------------------------------------------------------------------------------------------
    # results
    # ------------------------------------------------------------------------------------------
    def indicator_frame(self):
        """Annual indicators of this run as a tidy DataFrame (year, indicator, value)."""
        return indicators.to_frame(self.annual)

    def run(self) -> None:
        """Run to the end of the horizon."""
        while self.running:
            self.step()


def _norm(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a / a.sum()


__all__ = ["InnovationModel", "REGIONS", "STREAMS"]

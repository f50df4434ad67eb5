"""The 2015 state: every first-call calibration, in one ordered place.

The initial state is Beijing in 2015. `populate` draws the agents (stream "init") and sizes their
stocks so that aggregates match the 2015 record; `calibrate` then sets the levels that need the
markets (technology demand, outside talent reservoirs, reference knowledge access and pace of
technical progress). Everything calibrated here uses the status-quo levers and no shocks; the
scenario's own values apply from the first step. The order of the calls is the order of the random
draws: do not reorder.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.inputs import data
from sim.inputs.levers import registry, status_quo
from sim.model import knowledge
from sim.model.agents.firm import INCUMBENT, LISTED, Firm, FirmPopulation, hte_notch
from sim.model.agents.fund import ANGEL, BANK, GUIDANCE, STATE_VC, VENTURE, Fund, FundPopulation
from sim.model.agents.fund import KINDS as FUND_KINDS
from sim.model.agents.region import (
    ABROAD,
    BEIJING,
    CORE,
    FSC,
    HEBEI,
    HUAIROU,
    N_REGIONS,
    NO_PLACE,
    REST_OF_CHINA,
    TIANJIN,
    ZGC,
    Region,
    RegionPopulation,
)
from sim.model.agents.university import INSTITUTE, UNIVERSITY, University, UniversityPopulation
from sim.model.agents.view import LazyViews, add_views
from sim.model.markets.capital import CapitalMarket
from sim.model.markets.talent import HIGH_END, RESEARCHERS
from sim.model.sectors import N_SECTORS


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
    # Basic share of the fiscal research budget that reproduces 2015's basic research (13.8% of
    # R&D) at this run's parameters: it depends on firm_rd_share_2015 through the budget.
    basic_priority_2015: float

    def basic_share(self, lever: float) -> float:
        """The basic share of the fiscal research budget for a `basic_research_priority` lever
        value. The lever is read relative to its 2015 value (0.36, derived at firm_rd_share_2015
        = 0.374, the issue-15 estimate): every parameter set starts from the record's 2015 basic
        share, and a lever 25% above 0.36 funds 25% more basic research. Capped at 0.95, the most
        a unit puts into basic research."""
        return min(0.95, lever * self.basic_priority_2015 / status_quo("basic_research_priority"))


def populate(m) -> None:
    """Regions, universities and institutes, firms, funds and the talent pools of 2015."""
    m.lever_values = {lid: lv.default for lid, lv in registry().items()}
    m.lever_targets = dict(m.lever_values)  # before the first step: the 2015 values
    m.knowledge_access_ref = None  # set at the first call of knowledge.firm_knowledge_access
    m.price_level = 1.0
    m._demand_prev = 1.0  # the demand shock of the last step (InnovationModel._firms_grow)
    m.base = base_year(m.p)
    m.regions = RegionPopulation(m.p, m.scale)
    m.wage_2015 = float(m.regions.wage[BEIJING].mean())
    m.region_agents = add_views(m, Region, range(N_REGIONS))
    _init_universities(m)
    _init_firms(m)
    _init_funds(m)
    _init_talent_pools(m)
    m.public_budget = m.base.fiscal_research_2015  # annual, full scale
    m.other_gdp = m.base.other_gdp_2015
    m.population_base = m.base.population_2015
    m.net_talent_inflow = 0.0  # persons, simulated scale, cumulative
    m.inventor_share_effective = np.full(m.universities.n, m.lever_values["inventor_income_share"])


def calibrate(m) -> None:
    """Base-year levels that need the markets (called once they are built)."""
    p = m.p
    _calibrate_technology_market(m)
    m.regions.attractiveness_for_talent(
        p,
        m.lever_values["talent_services"],
        m.regions.science_city_bonus(p, m.lever_values["science_city_support"]),
    )
    _balance_outside_pools(m)
    # Knowledge access is measured relative to the 2015 state; so is the pace of progress.
    access, m.knowledge_access_ref = knowledge.firm_knowledge_access(
        m.firms, m.universities, m.regions, p, m.lever_values, m.knowledge_access_ref
    )
    live = m.firms.live
    m.firms.purchases_q[live] = m.technology_market.base_year_purchases(live)
    m.firms.init_rd_capital(live, p, access, m.dt)


def base_year(p) -> BaseYear:
    """The 2015 constants, derived from the record and the parameters."""
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
    fiscal = public_rd - retained
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
        fiscal_research_2015=fiscal,
        basic_priority_2015=data.observed("basic_research_share", 2015) / 100 * rd / fiscal,
    )


def _counts(m, n_full: float, minimum: int) -> int:
    return max(minimum, int(round(n_full * m.scale)))


def _init_universities(m) -> None:
    p, rng = m.p, m.streams["init"]
    n_uni = _counts(m, p.n_universities, 2)
    n_inst = _counts(m, p.n_institutes, 2)
    n = n_uni + n_inst
    m.scale_universities = n / (p.n_universities + p.n_institutes)
    u = m.universities = UniversityPopulation(n)
    u.kind[:] = np.r_[np.full(n_uni, UNIVERSITY), np.full(n_inst, INSTITUTE)]
    u.central[:] = rng.random(n) < p.central_unit_share
    u.field[:] = rng.integers(0, N_SECTORS, n)
    zone = rng.choice(
        3,
        size=n,
        p=_norm([p.university_share_core, p.university_share_industry, p.university_share_green]),
    )
    u.region[:] = BEIJING[zone]
    place_by_zone = np.array([ZGC, FSC, HUAIROU])
    in_city = rng.random(n) < p.university_in_science_city
    u.place[:] = np.where(in_city, place_by_zone[zone], NO_PLACE)
    size = rng.lognormal(0.0, 0.8, n)
    researchers_total = (
        p.researcher_cost_share * m.base.public_rd_2015 / p.rd_cost_per_fte * m.scale_universities
    )
    u.researchers[:] = researchers_total * size / size.sum()
    u.high_end[:] = p.high_end_per_researcher_university * u.researchers
    u.basic_pref[:] = np.where(u.kind == UNIVERSITY, p.basic_pref_university, 1.0) * rng.lognormal(
        0, 0.3, n
    )
    u.reputation[:] = rng.lognormal(0.0, 0.4, n)
    u.tto[:] = rng.lognormal(0.0, 0.4, n)
    u.transfer_effort(
        p,
        m.lever_values["inventor_income_share"],
        m.lever_values["central_unit_coverage"],
    )
    u.fund_research(
        m.base.fiscal_research_2015 * m.scale_universities * m.dt,
        m.base.basic_share(m.lever_values["basic_research_priority"]),
    )
    # Retained transfer income at its steady state (spent on applied research): the quarterly
    # income, retained_income_2015 x dt, equals the quarterly spend, cash x per_step(rate). (An
    # annual stock, income / rate, spent at the per-step rate overspent it by a quarter in 2016.)
    weight = u.applied_q * u.tto * u.effort
    u.cash[:] = (
        m.base.retained_income_2015
        * m.dt
        / m.clock.per_step(p.retained_income_spend_rate)
        * m.scale_universities
        * weight
        / weight.sum()
    )
    u.applied_q += u.cash * m.clock.per_step(p.retained_income_spend_rate)  # as in each step
    # Knowledge starts at its steady state under 2015 funding.
    u.knowledge[:] = knowledge.knowledge_flow(
        u.basic_q, p, m.dt, m.lever_values, m.research_cost_index(), m.scale_universities
    ) / m.clock.per_step(p.knowledge_depreciation)
    u.reputation[:] = 0.5 * u.reputation + 0.5 * u.quality()
    stock = m.base.patent_stock_2015 * (1 - p.firm_patent_share) * m.scale_universities
    u.patents[:] = rng.multinomial(int(round(stock)), u.researchers / u.researchers.sum())
    apps_step = m.base.patent_productivity_university * (u.basic_q + u.applied_q)
    u.pending[:] = rng.poisson(apps_step * p.patent_pendency_years * m.steps_per_year)
    m.university_agents = add_views(m, University, range(n))


def _init_firms(m) -> None:
    p, rng, b = m.p, m.streams["init"], m.base
    n = _counts(m, p.n_firms_2015, 20)
    m.scale_firms = n / p.n_firms_2015
    f = m.firms = FirmPopulation(int(n * 1.5))
    m.firm_views = LazyViews(m, Firm, f, "firm_id")  # Mesa agents made on demand
    # the firms' AgentSet exists from the start, empty until asked for, so Mesa lists the agent
    # types in the order they were built (regions, universities, firms, funds)
    m._agents_by_type[Firm] = mesa.agent.AgentSet([], random=m.random)
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
    age = np.floor(rng.exponential(p.firm_mean_age_years, n) * m.steps_per_year).astype(np.int32)
    # Revenue: Pareto upper tail, rescaled to Zhongguancun's 2015 total.
    # Stratified quantiles of a Pareto law (randomly assigned): the size distribution is the
    # same in every replicate, so aggregates do not hinge on one extreme draw.
    q = (np.arange(n) + 0.5) / n
    raw = rng.permutation(q ** (-1.0 / p.size_pareto_alpha))
    revenue = raw / raw.sum() * data.observed("zgc_total_revenue", 2015) * 1e4 * m.scale_firms
    employees = np.maximum(1.0, revenue / p.revenue_per_employee * rng.lognormal(0, 0.3, n))
    # Older firms tend to be larger: ages are assigned by a noisy ranking of size.
    age = np.sort(age)[np.argsort(np.argsort(np.log(revenue) + rng.normal(0.0, 1.5, n)))]
    stage = np.zeros(n, dtype=np.int8)
    young = age < p.venture_max_age_years * m.steps_per_year
    backed = young & (rng.random(n) < p.venture_backed_share_young)
    stage[backed] = rng.choice([1, 2, 3, 4], size=backed.sum(), p=[0.45, 0.3, 0.15, 0.1])
    # Listed in 2015: a draw per firm, with a probability rising with size and age (logistic in
    # log revenue and log age); its intercept is set so that the expected count is
    # `listed_share` of the firms. No firm is listed by rank.
    stage[_listing_draw(p, revenue, age * m.dt, rng)] = LISTED
    # Venture-backed start-ups hold the venture money they raised and have not spent yet
    # (FirmPopulation.decide_rd spends the share vc_burn_rate of it a year). In a steady state
    # that stock is the yearly flow of venture investment times the runway; the 2015 flow is the
    # lesser of what the equity investors offer in a year at their 2015 dry powder and deployment
    # rate and what qualifying applicants ask for (set once technology is known, below).
    startup = (stage >= 1) & (stage < LISTED) & (revenue < p.revenue_ref)
    cash = p.cash_to_revenue * revenue
    # R&D intensity: dispersed, higher in small firms; rescaled to firms' own 2015 R&D.
    rd_int = rng.lognormal(0.0, p.rd_intensity_dispersion, n) * (revenue / np.median(revenue)) ** (
        -p.rd_intensity_size_slope
    )
    rd_int *= np.where(sector == N_SECTORS - 1, p.services_rd_factor, 1.0)
    rd_shape = rd_int.copy()
    rd_int = rd_shape * b.firm_rd_2015 * m.scale_firms / (rd_shape * revenue).sum()
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
    short = cash < 2.0 * np.maximum(rd_int * revenue * m.dt, 0.002)  # as in CapitalMarket.rounds
    vc_cash = _venture_stock_2015(
        p, stage, backed & (stage < LISTED), age * m.dt, tech, short, m.scale_firms, rng
    )
    cash = cash + vc_cash
    # That spending is part of firms' 2015 R&D (the R&D share of start-ups' spending), so their
    # own R&D makes up the rest (technology above is set with the total).
    spent = vc_cash * (1.0 - np.exp(-p.vc_burn_rate * m.dt)) / m.dt  # per year, as in a step
    burn_year = np.where(startup, p.vc_burn_rd_share * spent, 0.0)
    own_rd = max(
        b.firm_rd_2015 * m.scale_firms - burn_year.sum(),
        0.5 * b.firm_rd_2015 * m.scale_firms,
    )
    rd_int = np.minimum(rd_shape * own_rd / (rd_shape * revenue).sum(), 0.6)
    rd_int = _bunched_2015(p, rd_int, revenue, employees, own_rd)
    rd_year = rd_int * revenue
    researchers = p.researcher_cost_share * rd_year / p.rd_cost_per_fte
    ge0 = _growth_expectation_2015(p, revenue, startup, rng)
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
        rd_q=(rd_year + burn_year) * m.dt,
        researchers=researchers,
        high_end=p.high_end_per_researcher_firm * researchers,
        tech=tech,
        last_funded=-1000,
        rev_year_start=revenue,
        vc_cash=vc_cash,
        # expected growth in a steady state: the market's trend, plus the premium of the
        # venture-backed start-ups
        growth_exp=ge0,
        log_rev_trend=np.log(np.maximum(revenue, 1e-9)) - ge0 * FirmPopulation.trend_gap(p, m.dt),
        rev_at_round=np.where(backed, revenue, 0.0),
    )
    f.valuation[slots] = f.fundamental_value(slots, p)
    # the last round of a backed firm: priced at its value (plus the money it still holds)
    f.last_post[slots] = np.where(backed, f.valuation[slots] + vc_cash, 0.0)
    f.valuation[slots] = np.maximum(f.valuation[slots], f.last_post[slots])
    f.margin[slots] = p.operating_margin + f.margin_fe[slots]
    stock = b.patent_stock_2015 * p.firm_patent_share * m.scale_firms
    w = rd_year * tech
    f.patents[slots] = rng.multinomial(int(round(stock)), w / w.sum())
    f.pending[slots] = rng.poisson(
        b.patent_productivity_firm * rd_year * m.dt * p.patent_pendency_years * m.steps_per_year
    )
    # HTE: the certification window holds 2015 and the two years before (each counted for the
    # part of it the firm existed, flows scaled back at the market trend); the 2015 stock is
    # taken from the eligible firms with the highest R&D intensity, certified in 2013-2015
    # (uniformly over the years in which the firm was at least one year old), so that about a
    # third come up for review each year from 2016.
    spy, years = m.steps_per_year, age / m.steps_per_year
    for k, (rd_w, rev_w) in enumerate(
        ((f.rd_cur, f.rev_cur), (f.rd_y1, f.rev_y1), (f.rd_y2, f.rev_y2))
    ):
        part = np.clip(years - k, 0.0, 1.0) * np.exp(-k * p.revenue_growth)
        rd_w[slots] = (rd_year + burn_year) * part
        rev_w[slots] = revenue * part
    k = int(round(_hte_2015() * m.scale_firms))
    elig = slots[f.hte_eligible(slots, spy, p.hte_relabel_limit, p.hte_staff_min_fte)]
    order = elig[np.argsort(-f.rd_pref[elig])][:k]
    f.hte[order] = True
    hte_rng = m.streams["hte"]
    base = m.start_year - 1  # step -1 is the end of the base year
    first = np.maximum(base - 2, base - np.floor(years[order] - 1.0))  # >= 1 year old then
    year = first + np.floor(hte_rng.random(order.size) * (base + 1 - first))
    f.hte_since[order] = ((year - base) * spy - 1).astype(np.int32)
    f._roll_hte_window(slots)
    m.hte_shortfall_2015 = max(0, k - elig.size)
    m.firm_views.entered(slots)


def _growth_expectation_2015(p, revenue, startup, rng) -> np.ndarray:
    """Expected growth in 2015 at its steady state: the market trend (plus the start-ups'
    premium) and the smoothed record of past growth shocks. With yearly Laplace shocks of scale
    b (FirmPopulation.grow) and weight w a year on the latest growth, the smoothed shocks have
    the variance w / (2 - w) x 2 b^2: drawn as a Laplace law of that variance."""
    b = p.growth_shock * (np.maximum(revenue, 1e-4) / p.revenue_ref) ** (-p.growth_shock_size_slope)
    b = np.clip(b, 0.2 * p.growth_shock, min(6.0 * p.growth_shock, 0.9))
    w = p.growth_expectation_weight
    noise = rng.laplace(0.0, 1.0, revenue.size) * b * np.sqrt(w / (2.0 - w))
    return p.revenue_growth + np.where(startup, p.venture_growth_premium, 0.0) + noise


def _listing_draw(p, revenue, age_years, rng) -> np.ndarray:
    """Which firms are listed in 2015: P(listed) = logistic(a + listing_size_slope x
    log(revenue / revenue_ref) + listing_age_slope x log(1 + age)), `a` such that the
    expected count is listed_share x n (bisection); one uniform draw per firm."""
    n = revenue.size
    x = p.listing_size_slope * np.log(np.maximum(revenue, 1e-9) / p.revenue_ref)
    x = x + p.listing_age_slope * np.log1p(age_years)
    target = p.listed_share * n
    lo, hi = -60.0, 60.0
    for _ in range(60):
        a = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(a + x)))).sum() > target:
            hi = a
        else:
            lo = a
    prob = 1.0 / (1.0 + np.exp(-(0.5 * (lo + hi) + x)))
    return rng.random(n) < prob


def _venture_stock_2015(p, stage, backed, age_years, tech, short, scale_firms, rng) -> np.ndarray:
    """Unspent venture money of each firm in 2015: the steady-state stock (yearly flow x
    runway 1 / vc_burn_rate) of the 2015 venture flow (CapitalMarket.expected_flow), shared in
    proportion to the round size of each backed firm's stage times the part of its last round
    not yet spent (exp(-burn x time since the round), the time uniform over a year)."""
    first = p.angel_supply_2015 * scale_firms * p.deployment_rate
    later = (
        (
            p.venture_dry_powder_2015
            + min(p.guidance_commitment_2015, p.guidance_coinvest_cap * p.venture_dry_powder_2015)
            + p.state_vc_supply_2015
        )
        * scale_firms
        * p.deployment_rate
    )
    flow = CapitalMarket.expected_flow(p, stage, age_years, tech, short, first, later)
    stock = flow / max(p.vc_burn_rate, 1e-9)
    sizes = np.array([0.0, p.round_size_angel, p.round_size_a, p.round_size_b, p.round_size_c])
    w = np.where(backed, sizes[np.clip(stage, 0, 4)], 0.0)
    w = w * np.exp(-p.vc_burn_rate * rng.random(stage.size))
    if w.sum() <= 0:
        return np.zeros(stage.size)
    return stock * w / w.sum()


def _bunched_2015(p, rd_int, revenue, employees, total) -> np.ndarray:
    """2015 R&D intensities with the HTE notch: firms within reach of the threshold sit at it
    (the steady state of FirmPopulation.hte_bunching, every firm having had years to decide),
    and the others are scaled so that firms' own R&D keeps its 2015 total."""
    researchers = p.researcher_cost_share * rd_int * revenue / p.rd_cost_per_fte
    ok, need = hte_notch(p, rd_int, revenue, researchers, employees)
    bunched = (need * revenue)[ok].sum()
    rest = (rd_int * revenue)[~ok].sum()
    scale = max(total - bunched, 0.0) / max(rest, 1e-300)
    return np.where(ok, need, np.minimum(rd_int * scale, 0.6))


def _hte_2015() -> float:
    """2015 stock of national HTEs: geometric interpolation of 2014 and 2016 (derived)."""
    return float(np.sqrt(data.observed("national_hte", 2014) * data.observed("national_hte", 2016)))


def _init_funds(m) -> None:
    p = m.p
    counts = [
        _counts(m, p.n_angel_groups, 2),
        _counts(m, p.n_venture_funds, 3),
        _counts(m, p.n_guidance_funds, 1),
        _counts(m, p.n_state_vc, 1),
        _counts(m, p.n_banks, 1),
    ]
    n = sum(counts)
    fu = m.funds = FundPopulation(n)
    fu.kind[:] = np.repeat(np.arange(len(FUND_KINDS)), counts)
    fu.region[:] = CORE
    sf = m.scale_firms
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
    m.fund_agents = add_views(m, Fund, range(n))
    m.money.open("funds", fu.cash.sum())
    m.money.open("firms", m.firms.cash[m.firms.live].sum())
    m.money.open("universities", m.universities.cash.sum())


def _init_talent_pools(m) -> None:
    p, f, u, r = m.p, m.firms, m.universities, m.regions
    live = f.live
    for k, (hf, hu) in enumerate(((f.researchers, u.researchers), (f.high_end, u.high_end))):
        employed = np.bincount(f.region[live], weights=hf[live], minlength=N_REGIONS) + np.bincount(
            u.region, weights=hu, minlength=N_REGIONS
        )
        r.pool[k, BEIJING] = p.pool_share * employed[BEIJING]
    held = (
        f.researchers[live].sum() + f.high_end[live].sum() + u.researchers.sum() + u.high_end.sum()
    )
    m.talent.open("holders", held + r.pool[:, BEIJING].sum())


def _balance_outside_pools(m) -> None:
    """Outside reservoirs sized from real stocks; 2015 migration balanced through the rates.

    Researchers: the rest of China holds China's R&D personnel less Beijing's
    (`rd_personnel_china_2015` - `rd_personnel_beijing_2015`), abroad the stock of Chinese
    students and researchers overseas (`overseas_chinese_researchers_2015`); a share of each is
    movable (`movable_share_domestic`, `movable_share_abroad`), and a share of that is high-end
    talent (`outside_high_end_share`, `abroad_high_end_share`). Tianjin and Hebei keep
    reservoirs that balance their 2015 migration with Beijing. Then the talent market scales the
    inflow rates (not the stocks) so that 2015 migration balances (TalentMarket.calibrate)."""
    p, r, tm = m.p, m.regions, m.talent_market
    tm.balance[:] = 1.0
    rates = tm.migration_rates(m.lever_values)
    for k in range(rates.shape[0]):
        for o in (TIANJIN, HEBEI):
            out_bj = (r.pool[k, BEIJING] * rates[k, BEIJING, o]).sum()
            in_rate = rates[k, o, BEIJING].sum()
            r.pool[k, o] = out_bj / max(in_rate, 1e-12)
    domestic = (p.rd_personnel_china_2015 - p.rd_personnel_beijing_2015) * p.movable_share_domestic
    abroad = p.overseas_chinese_researchers_2015 * p.movable_share_abroad
    for o, stock, h in (
        (REST_OF_CHINA, domestic, p.outside_high_end_share),
        (ABROAD, abroad, p.abroad_high_end_share),
    ):
        r.pool[RESEARCHERS, o] = stock * (1.0 - h) * m.scale
        r.pool[HIGH_END, o] = stock * h * m.scale
    m.talent.open("holders", r.pool[:, [TIANJIN, HEBEI, REST_OF_CHINA, ABROAD]].sum())
    tm.calibrate(m.lever_values, m.scale_firms)


def _calibrate_technology_market(m) -> None:
    p = m.p
    turnover = data.observed("tech_contract_turnover", 2015) * m.scale_firms * m.dt
    jjj = data.observed("tech_flow_to_tianjin_hebei", 2015) * m.scale_firms * m.dt
    bj_share = p.tech_buyer_share_beijing
    abroad_share = p.tech_buyer_share_abroad
    targets = np.zeros(N_REGIONS)
    zone_w = np.array([p.firm_share_core, p.firm_share_industry, p.firm_share_green])
    targets[BEIJING] = turnover * bj_share * zone_w / zone_w.sum()
    targets[TIANJIN] = jjj * p.jjj_flow_tianjin_share
    targets[HEBEI] = jjj * (1 - p.jjj_flow_tianjin_share)
    targets[ABROAD] = turnover * abroad_share
    targets[REST_OF_CHINA] = turnover - targets.sum()
    m.technology_market.calibrate(
        targets, p.tech_firm_buyer_share, m.lever_values, m.research_cost_index()
    )


def _norm(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a / a.sum()

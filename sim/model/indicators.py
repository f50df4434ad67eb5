"""Annual indicators (ids and units as in seeds/observed_indicators.csv), at full-population
equivalents: sums over simulated agents are divided by the share of agents simulated."""

from __future__ import annotations

import numpy as np

# Indicator id -> (unit, description)
INDICATORS: dict[str, tuple[str, str]] = {
    "rd_expenditure": (
        "100m_yuan",
        "R&D expenditure performed in Beijing (firms + universities/institutes)",
    ),
    "rd_intensity": ("pct_gdp", "R&D expenditure as a share of GDP"),
    "basic_research_share": ("pct_rd", "basic research as a share of R&D expenditure"),
    "invention_patents_per_10k": (
        "count",
        "valid invention patents per 10,000 residents (year end)",
    ),
    "invention_patent_grants": ("count", "invention patents granted in the year"),
    "tech_contract_turnover": ("100m_yuan", "technology contracts sold by Beijing sellers"),
    "tech_flow_to_tianjin_hebei": (
        "100m_yuan",
        "technology contracts from Beijing sellers to Tianjin and Hebei buyers",
    ),
    "university_share_of_tech_sales": (
        "pct",
        "percent of contract turnover sold by universities and research institutes",
    ),
    "national_hte": ("count", "certified national high-tech enterprises in Beijing (year end)"),
    "zgc_total_revenue": (
        "trillion_yuan",
        "revenue of Beijing's technology firms (Zhongguancun equivalent)",
    ),
    "vc_amount": ("100m_yuan", "venture capital invested in Beijing firms in the year"),
    "tech_loans": ("100m_yuan", "new bank loans to Beijing technology firms in the year"),
    "unicorns": ("count", "unlisted Beijing firms valued at USD 1bn or more (year end)"),
    "high_end_talent": (
        "persons",
        "high-end talent in Beijing: firms, universities/institutes, job seekers (year end)",
    ),
    "firm_entries": ("count", "new firms in Beijing in the year"),
    "firm_exits": ("count", "Beijing firms closed or acquired in the year"),
    "gdp": (
        "100m_yuan",
        "Beijing GDP, first-release vintage (before the 2019 census revision): non-technology "
        "economy + technology firms' value added + public research",
    ),
    "population": ("10k_persons", "resident population of Beijing"),
    "fiscal_cost": (
        "100m_yuan",
        "public outlay of all levers in the year (sim.model.fiscal; by lever in costs.csv)",
    ),
}

# Flows summed over the steps of a year (reset at the start of each year).
ACCUMULATORS = (
    "rd_firms",
    "rd_public",
    "rd_basic",
    "revenue",
    "patent_applications",
    "patent_grants_firms",
    "patent_grants_universities",
    "entries",
    "exits",
    "closures",
    "acquisitions",
    "listings",
    "relocations",
    "bank_losses",
    "uni_licence_income",
    "procurement",
    "leap_grants",
    "fiscal_research",  # the measured outlays of sim.model.fiscal (MEASURED_ACCUMULATORS)
    "vouchers",
    "voucher_base",
)


def annual_indicators(m, year: int) -> dict[str, float]:
    """Compute the indicators of the year that ends now."""
    # imported here: the catalogue above is read by the analysis layer without loading Mesa
    from sim.model.agents.firm import LISTED
    from sim.model.agents.region import BEIJING

    f, u, r, acc = m.firms, m.universities, m.regions, m.year_acc
    sf, su = m.scale_firms, m.scale_universities
    live = f.live
    bj = live[np.isin(f.region[live], BEIJING)]
    rd = acc["rd_firms"] / sf + acc["rd_public"] / su
    gdp = m.other_gdp + m.p.value_added_ratio * acc["revenue"] / sf + acc["rd_public"] / su
    pop = (
        m.population_base * (1 + m.base.population_growth) ** (year - 2015)
        + m.net_talent_inflow / m.scale / 1e4
    )
    patents = f.patents[bj].sum() / sf + u.patents.sum() / su
    unicorn_value = 10.0 * m.base.usd_cny  # USD 1bn in 100m yuan
    unlisted = f.stage[bj] < LISTED
    tm = m.technology_market
    return {
        "rd_expenditure": rd,
        "rd_intensity": 100.0 * rd / gdp,
        "basic_research_share": 100.0 * (acc["rd_basic"] / su) / rd if rd > 0 else 0.0,
        "invention_patents_per_10k": patents / pop,
        "invention_patent_grants": acc["patent_grants_firms"] / sf
        + acc["patent_grants_universities"] / su,
        "tech_contract_turnover": tm.beijing_turnover() / sf,
        "tech_flow_to_tianjin_hebei": tm.flow_to_tianjin_hebei() / sf,
        "university_share_of_tech_sales": tm.university_share(),
        "national_hte": f.hte[bj].sum() / sf,
        "zgc_total_revenue": f.revenue[bj].sum() / sf / 1e4,
        "vc_amount": m.capital_market.vc_invested / sf,
        "tech_loans": m.capital_market.loans_issued / sf,
        "unicorns": float((unlisted & (f.valuation[bj] >= unicorn_value)).sum()) / sf,
        "high_end_talent": (
            f.high_end[bj].sum() / sf + u.high_end.sum() / su + r.pool[1, BEIJING].sum() / m.scale
        ),
        "firm_entries": acc["entries"] / sf,
        "firm_exits": acc["exits"] / sf,
        "gdp": gdp,
        "population": pop,
        "fiscal_cost": float(sum(m.fiscal.costs[year].values())),
    }


def to_frame(annual: dict[int, dict[str, float]]):
    """Annual indicators as a tidy pandas DataFrame (year, indicator, value). pandas is imported
    here only: the model itself does not need it."""
    import pandas as pd

    rows = [(y, k, float(v)) for y, d in sorted(annual.items()) for k, v in d.items()]
    return pd.DataFrame(rows, columns=["year", "indicator", "value"])


def step_reporters() -> dict:
    """Model reporters for Mesa's DataCollector (one row per step; `mesa.batch_run` reads them)."""

    def latest(name):
        return lambda m: m.annual[max(m.annual)][name] if m.annual else np.nan

    reporters = {name: latest(name) for name in INDICATORS}
    reporters["year"] = lambda m: m.year
    reporters["firms"] = lambda m: int(m.firms.alive[: m.firms.size].sum())
    return reporters

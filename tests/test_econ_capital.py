"""Capital market of issue 15: valuation from growth expectations, no forced listing, unicorns,
capital that is deployed, bank rationing, capital winter, listings, and the venture burn that
keeps the 2015 state steady. Paired seeds or several seeds, never one draw."""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs import data
from sim.model import InnovationModel
from sim.model.agents.firm import LISTED
from sim.model.agents.fund import BANK

SEEDS = (1, 2, 3)
SCALE = 0.1


def _scenario(tmp_path, name: str, extends: str, end_year=None, shocks: str = "", params=None):
    """A scenario file extending a shipped one (cut at `end_year` if given: only for scenarios
    without a lever schedule beyond it)."""
    text = f"name: {name}\ndescription: test\nextends: {extends}\n"
    if end_year is not None:
        text += f"time:\n  start_year: 2016\n  end_year: {end_year}\n"
    text += shocks
    if params:
        text += "parameters:\n" + "".join(f"  {k}: {v}\n" for k, v in params.items())
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def _run(scenario, seed, end: int = 2100, **levers):
    """Run (to the end of `end` at most); returns the model and per-year records read when
    each year's indicators appear."""
    m = InnovationModel(scenario, scale=SCALE, rng=seed, **levers)
    rec = {}
    while m.running and end not in rec:
        m.step()
        y = m.year
        if y in m.annual and y not in rec:
            cm, sf = m.capital_market, m.scale_firms
            rec[y] = {
                "vc": cm.vc_invested / sf,
                "deals": cm.deals / sf,
                "listings": m.year_acc["listings"] / sf,
                "rd_firms": m.year_acc["rd_firms"] / sf,
                "revenue": m.year_acc["revenue"] / sf,
                "loans": cm.loans_issued / sf,
                "loan_share": cm.loan_served_share(),
                "equity_cash": float(m.funds.cash[m.funds.kind != BANK].sum()) / sf,
            }
    return m, rec


# --- 2015 state ----------------------------------------------------------------------------------
def test_listing_in_2015_is_a_draw_rising_with_size_not_a_rank():
    counts, top_unlisted, small_listed, top_share, rest_share = [], [], [], [], []
    for seed in SEEDS:
        m = InnovationModel("baseline", scale=SCALE, rng=seed)
        f = m.firms
        live = f.live
        listed = f.stage[live] == LISTED
        rev = f.revenue[live]
        counts.append(listed.sum() / (m.p.listed_share * live.size))
        k = int(round(m.p.listed_share * live.size))
        top = np.argsort(-rev)[:k]
        is_top = np.zeros(live.size, dtype=bool)
        is_top[top] = True
        top_unlisted.append((~listed[is_top]).sum())
        small_listed.append((listed & ~is_top).sum())
        big = rev >= np.quantile(rev, 0.9)
        top_share.append(listed[big].mean())
        rest_share.append(listed[~big].mean())
    # the expected count is listed_share of the firms
    assert 0.7 < np.mean(counts) < 1.3
    # not the top 1% by rank: some of the largest are unlisted, some smaller firms listed
    assert np.mean(top_unlisted) > 0 and np.mean(small_listed) > 0
    # probability rises with size
    assert np.mean(top_share) > 5 * np.mean(rest_share)


def test_valuation_rises_with_expected_growth_and_differs_by_sector():
    m = InnovationModel("baseline", scale=0.02, rng=1)
    f, p = m.firms, m.p
    idx = f.live[:4]
    f.revenue[idx] = 1.0
    f.tech[idx] = 1.0
    f.sector[idx] = [0, 0, 2, 4]
    f.growth_exp[idx] = [0.0, 0.3, 0.0, 0.0]
    v = f.fundamental_value(idx, p)
    assert v[1] / v[0] == pytest.approx(np.exp(p.growth_valuation_k * 0.3))
    factors = np.asarray(p.sector_multiple_factors)
    assert v[2] / v[0] == pytest.approx(factors[2] / factors[0])
    assert v[3] / v[0] == pytest.approx(factors[4] / factors[0])


def test_expected_growth_follows_steady_growth():
    """A firm growing steadily at g comes to expect g (smoothed log revenue)."""
    m = InnovationModel("baseline", scale=0.02, rng=1)
    f, p = m.firms, m.p
    idx = f.live[:1]
    f.growth_exp[idx] = 0.0
    f.log_rev_trend[idx] = np.log(f.revenue[idx])
    for _ in range(60):
        f.revenue[idx] *= np.exp(0.3 * m.dt)
        f.valuation_update(idx, p, m.dt)
    assert f.growth_exp[idx][0] == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize("rate", [0.35, 0.83])
def test_firm_rd_2016_continues_2015_whatever_the_deployment_rate(tmp_path, rate):
    """Venture burn is spent over a runway from a steady-state stock, so firms' R&D in 2016
    grows like their revenue (the no-policy-change path) at either deployment rate (the main
    branch's burn grew 14-17% in 2016 and doubled by 2019)."""
    sc = _scenario(tmp_path, "short", "baseline", 2016, params={"deployment_rate": rate})
    ratios = []
    for seed in SEEDS:
        m = InnovationModel(sc, scale=SCALE, rng=seed)
        f = m.firms
        bj = f.live[f.in_beijing(f.live)]
        rd15 = f.rd_q[bj].sum() / m.dt
        rev15 = f.revenue[bj].sum()
        m.run()
        ratios.append((m.year_acc["rd_firms"] / rd15) / (m.year_acc["revenue"] / rev15))
    assert abs(np.mean(ratios) - 1.0) < 0.04


def test_firm_rd_2016_barely_depends_on_the_deployment_rate(tmp_path):
    out = {}
    for rate in (0.35, 0.83):
        sc = _scenario(tmp_path, f"d{rate}", "baseline", 2017, params={"deployment_rate": rate})
        out[rate] = [_run(sc, s)[1] for s in SEEDS]
    for y in (2016, 2017):
        ratio = np.mean(
            [b[y]["rd_firms"] / a[y]["rd_firms"] for a, b in zip(out[0.35], out[0.83], strict=True)]
        )
        assert abs(ratio - 1.0) < 0.04, (y, ratio)


# --- unicorns and listings -----------------------------------------------------------------------
def test_unicorns_2020_within_a_factor_of_two_of_hurun(tmp_path):
    hurun = data.observed("unicorns", 2020)  # the record's row carries the indicator id
    got = np.mean([_run("historical", s, end=2020)[0].annual[2020]["unicorns"] for s in SEEDS])
    assert hurun / 2 <= got <= hurun * 2


def test_listings_happen_from_2016_and_the_ipo_pool_is_not_empty_at_start(tmp_path):
    m = InnovationModel("historical", scale=SCALE, rng=1)
    f, p = m.firms, m.p
    live = f.live
    pool = (
        (f.stage[live] < LISTED)
        & (f.valuation[live] >= p.ipo_min_valuation)
        & (f.age[live] * m.dt >= p.ipo_min_age_years)
        & (f.revenue[live] >= p.ipo_min_revenue)
    )
    assert pool.sum() > 0
    runs = [_run("historical", s, end=2018)[1] for s in SEEDS]
    per_year = [np.mean([r[y]["listings"] for r in runs]) for y in (2016, 2017, 2018)]
    # Beijing had dozens of listings a year in 2016-2018 (recalled, low confidence)
    assert 5 <= np.mean(per_year) <= 150, per_year
    assert min(per_year) > 0


# --- capital does something ----------------------------------------------------------------------
def test_extra_capital_is_invested_not_left_as_dry_powder(tmp_path):
    sc = _scenario(tmp_path, "base", "baseline", 2022)
    base = [_run(sc, s)[1] for s in SEEDS]
    more = [_run(sc, s, guidance_fund_scale=3.0)[1] for s in SEEDS]
    years = range(2017, 2023)
    vc = np.mean(
        [
            sum(b[y]["vc"] for y in years) / sum(a[y]["vc"] for y in years)
            for a, b in zip(base, more, strict=True)
        ]
    )
    deals = np.mean(
        [
            sum(b[y]["deals"] for y in years) / sum(a[y]["deals"] for y in years)
            for a, b in zip(base, more, strict=True)
        ]
    )
    assert vc > 1.05 and deals > 1.0
    # dry powder does not pile up in the baseline
    assert np.mean([r[2022]["equity_cash"] / r[2016]["equity_cash"] for r in base]) < 2.0


def test_money_chasing_deals_raises_pre_money(tmp_path):
    """Same firm, same round: more dry powder -> higher pre-money (valuation_chasing)."""
    m = InnovationModel("baseline", scale=0.02, rng=1)
    cm = m.capital_market
    assert cm.abundance(1.0) == pytest.approx(1.0)
    powder = cm.dry_powder(m.funds)
    m.funds.cash[m.funds.kind != BANK] *= 2.0
    assert cm.abundance(1.0) == pytest.approx(2.0 * powder / cm.dry_powder_ref)
    assert cm.screening_threshold(1.0) < m.p.screening_threshold
    assert cm.abundance(0.6) == pytest.approx(0.6 * cm.abundance(1.0))


def test_bank_lending_binds_when_capacity_is_short(tmp_path):
    loose = _scenario(tmp_path, "loose", "baseline", 2018)
    tight = _scenario(
        tmp_path, "tight", "baseline", 2018, params={"bank_lending_capacity_2015": 20.0}
    )
    a = [_run(loose, s)[1] for s in SEEDS]
    b = [_run(tight, s)[1] for s in SEEDS]
    share_a = np.mean([r[2018]["loan_share"] for r in a])
    share_b = np.mean([r[2018]["loan_share"] for r in b])
    assert 0.0 <= share_b < share_a <= 1.0
    assert share_b < 0.9
    assert np.mean([r[2018]["loans"] for r in b]) < np.mean([r[2018]["loans"] for r in a])


@pytest.mark.parametrize("level", [0.5, 0.6])
def test_capital_winter_cuts_investment_by_a_plausible_amount(tmp_path, level):
    """2018-2019 winter: venture investment falls by 20-50% against the plan (the Chinese VC
    downturn of 2018-2019 cut amounts invested by roughly that much); a band of 10-60% here."""
    shocks = f"shocks:\n  venture_capital:\n    2018: {level}\n    2020: 1.0\n"
    winter = _scenario(tmp_path, f"winter{level}", "plan", shocks=shocks)
    a = [_run("plan", s, end=2019)[1] for s in SEEDS]
    b = [_run(winter, s, end=2019)[1] for s in SEEDS]
    cut = 1.0 - np.mean(
        [
            (y[2018]["vc"] + y[2019]["vc"]) / (x[2018]["vc"] + x[2019]["vc"])
            for x, y in zip(a, b, strict=True)
        ]
    )
    assert 0.1 < cut < 0.6, cut
    # before the winter the runs are the same (common random numbers)
    before = np.mean([y[2017]["vc"] / x[2017]["vc"] for x, y in zip(a, b, strict=True)])
    assert before == pytest.approx(1.0, abs=0.02)


def test_syndicate_skipping_skips_a_round_it_cannot_cover_and_never_overdraws():
    from sim.model.markets.allocation import syndicate, syndicate_skipping

    demand = np.array([3.0, 20.0, 2.0, 4.0])
    supply = np.array([4.0, 5.0])
    # the plain clearing stops at the round of 20
    assert syndicate(demand, supply)[3] == 1
    d_idx, s_idx, amount, served = syndicate_skipping(demand, supply)
    assert served.tolist() == [0, 2, 3]
    got = np.bincount(d_idx, weights=amount, minlength=demand.size)
    assert np.allclose(got[served], demand[served]) and got[1] == 0.0
    drawn = np.bincount(s_idx, weights=amount, minlength=supply.size)
    assert (drawn <= supply + 1e-12).all()

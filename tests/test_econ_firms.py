"""Issue 15: high-tech enterprise certification under the national rules, and operating
leverage that makes a demand shock leave firms lost (sim.model.agents.firm)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs.params import Params
from sim.inputs.scenario import load_scenario
from sim.model import InnovationModel
from sim.model.agents.firm import HTE_VALIDITY_YEARS, INCUMBENT, FirmPopulation, hte_rd_threshold
from sim.model.agents.region import BEIJING

SPY = 4  # steps per year in the hand-built populations
P = Params(load_scenario("baseline").parameters)


def population(n: int, **cols) -> tuple[FirmPopulation, np.ndarray]:
    """`n` Beijing firms, five years old, 10 researchers of 50 employees, with `cols` set."""
    f = FirmPopulation(n)
    base = dict(region=BEIJING[0], age=5 * SPY, employees=50.0, researchers=10.0, revenue=1.0)
    base["rev_year_start"] = cols.get("revenue", 1.0)
    base.update(cols)
    return f, f.add(n, **base)


def set_window(f, idx, rd, rev) -> None:
    """Three years of R&D and revenue (current year first)."""
    for arr, vals in ((f.rd_cur, rd[0]), (f.rd_y1, rd[1]), (f.rd_y2, rd[2])):
        arr[idx] = vals
    for arr, vals in ((f.rev_cur, rev[0]), (f.rev_y1, rev[1]), (f.rev_y2, rev[2])):
        arr[idx] = vals


# --- HTE criteria ---------------------------------------------------------------------------
def test_hte_thresholds_by_revenue_band():
    # latest revenue 0.4 (40m yuan: 5% band), 1.0 (4% band), 3.0 (3% band); intensity 4.5% or 3.5%
    rev = np.array([0.4, 0.4, 1.0, 1.0, 3.0, 3.0])
    inten = np.array([0.045, 0.055, 0.035, 0.045, 0.025, 0.035])
    f, idx = population(rev.size)
    set_window(f, idx, [inten * rev] * 3, [rev] * 3)
    assert f.hte_eligible(idx, SPY).tolist() == [False, True, False, True, False, True]


def test_relabelling_lets_firms_near_the_threshold_pass():
    f, idx = population(3)
    inten = np.array([0.035, 0.0305, 0.029])  # 4% band: 0.035 x 1.32 = 4.6%, 0.029 x 1.32 = 3.8%
    set_window(f, idx, [inten] * 3, [1.0] * 3)
    assert not f.hte_eligible(idx, SPY).any()
    assert f.hte_eligible(idx, SPY, P.hte_relabel_limit).tolist() == [True, True, False]
    assert P.hte_relabel_limit == pytest.approx(0.242 / (1 - 0.242), abs=0.01)


def test_hte_uses_three_year_window_and_registration_year():
    f, idx = population(4)
    # R&D this year only, three years of revenue 1.0 (4% band): 0.2 / 3 = 6.7% passes, 0.1 / 3
    # = 3.3% fails; firm 2 is not registered a full year
    set_window(f, idx, [np.array([0.2, 0.1, 0.1, 0.1]), 0.0, 0.0], [1.0, 1.0, 1.0])
    f.age[idx[2]] = SPY - 1  # not registered a full year
    f.age[idx[3]] = SPY
    assert f.hte_eligible(idx, SPY).tolist() == [True, False, False, False]
    # a firm younger than three years counts the years since founding: no earlier revenue
    set_window(f, idx, [np.full(4, 0.05)] + [0.0, 0.0], [1.0, 0.0, 0.0])
    assert f.hte_eligible(idx, SPY).tolist() == [True, True, False, True]


def test_hte_staff_criterion_and_beijing():
    f, idx = population(3)
    set_window(f, idx, [0.1] * 3, [1.0] * 3)
    f.researchers[idx[1]] = 4.0  # 8% of 50 employees
    f.region[idx[2]] = 3  # outside Beijing (Tianjin or Hebei)
    assert f.hte_eligible(idx, SPY).tolist() == [True, False, False]


def test_hte_staff_must_work_half_the_year():
    """S&T staff count only if they work at least 183 days (Guokefahuo [2016] No. 195): a micro
    firm whose research is a founder's part-time work (0.4 FTE, 40% of its staff) has none."""
    f, idx = population(3, employees=1.0)
    set_window(f, idx, [0.1] * 3, [1.0] * 3)
    f.researchers[idx] = [0.4, 0.5, 2.0]
    assert f.hte_eligible(idx, SPY).all()  # the 10% share alone lets all three pass
    assert P.hte_staff_min_fte == pytest.approx(183 / 365, abs=0.005)
    assert f.hte_eligible(idx, SPY, 0.0, P.hte_staff_min_fte).tolist() == [False, True, True]


def test_firms_within_reach_of_the_threshold_raise_their_rd_to_it():
    """The notch (Chen, Liu, Suarez Serrato and Xu 2021): firms just below the R&D threshold
    jump to it, firms far below or already above keep their R&D, and none lowers it."""
    f, idx = population(6, revenue=1.0)  # 4% band
    need = 0.04 / (1.0 + P.hte_relabel_limit)
    share = np.array([0.5, 0.7, 0.99, 1.2, 0.8, 0.8])
    f.rd_pref[idx] = share * need
    f.researchers[idx[5]] = 0.3  # would stay below half an FTE even after the raise
    aims = np.array([True, True, True, True, False, True])
    p = Params({**load_scenario("baseline").parameters, "hte_bunching_reach": 0.6})
    got = f.hte_bunching(idx, p, aims) / need
    np.testing.assert_allclose(got, [0.5, 1.0, 1.0, 1.2, 0.8, 0.8])
    assert (hte_rd_threshold(np.array([0.4, 1.0, 3.0])) == [0.05, 0.04, 0.03]).all()


def test_2015_rd_bunches_at_the_threshold_and_keeps_its_total():
    """The base year holds the notch's steady state: a mass of firms at the threshold, the same
    total of firms' R&D as without it, and fewer of the record's 2015 HTEs missing for want of
    eligible firms."""
    out = {}
    for reach in (1.0, P.hte_bunching_reach):
        sc = load_scenario("historical").with_parameters({"hte_bunching_reach": reach})
        m = InnovationModel(sc, scale=0.05, rng=1)
        f, s = m.firms, m.firms.live
        need = hte_rd_threshold(f.revenue[s]) / (1.0 + P.hte_relabel_limit)
        at = np.isclose(f.rd_pref[s], need, rtol=1e-9).mean()
        out[reach] = (at, (f.rd_pref[s] * f.revenue[s]).sum(), m.hte_shortfall_2015)
    (at0, rd0, short0), (at1, rd1, short1) = out[1.0], out[P.hte_bunching_reach]
    assert at0 < 0.005 < 0.05 < at1
    assert rd1 == pytest.approx(rd0, rel=1e-6)
    assert short0 > 0 and short1 < 0.6 * short0  # scale 0.05, seed 1: 142 and 73 firms


def _hte_path(seed: int, years=(2020, 2030), **params) -> dict[int, tuple[float, float, float]]:
    """Historical run at scale 0.05: at each year end in `years`, the HTE count, the share of
    HTEs founded after 2015, the count of live Beijing firms and the share of them founded
    after 2015."""
    sc = load_scenario("historical").with_parameters(params)
    m = InnovationModel(sc, scale=0.05, rng=seed)
    f, spy, out = m.firms, m.steps_per_year, {}
    for s in range(m.clock.horizon):
        m.step()
        year = m.start_year + s // spy
        if s % spy == spy - 1 and year in years:
            live = f.live
            bj = live[f.in_beijing(live)]
            h = bj[f.hte[bj]]
            new = f.origin != INCUMBENT
            out[year] = (h.size, new[h].mean(), bj.size, new[bj].mean())
    return out


def test_hte_count_does_not_track_the_live_micro_start_ups():
    """Issue 15: with the 183-day staff rule and the notch, firms founded after 2015 are far
    fewer among HTEs than among firms in 2020, and the count stops growing after 2020 while
    the firm population keeps growing. Paired against the same rules without them (a tenth of
    a researcher is enough, no bunching), where the entrants' share of HTEs is higher and the
    count grows with the firms. Figures of issue 15 in its closing note; measured since the
    issue-16 entry changes (incubator places rationed, capacity built with a lag; scale 0.05,
    seeds 1-3): entrants' share of HTEs 42-45% vs 67-70%, count growth 2020-2030 0.99-1.40 vs
    1.44-1.64, against firm growth of 1.40-1.49 (0.69-0.94 of it)."""
    under, slower = [], []
    for seed in (1, 2, 3):
        rules = _hte_path(seed)
        loose = _hte_path(seed, hte_staff_min_fte=0.0, hte_bunching_reach=1.0)
        (n20, ent20, firms20, new20), (n30, _, firms30, _) = rules[2020], rules[2030]
        grew, loose_grew = n30 / n20, loose[2030][0] / loose[2020][0]
        assert ent20 < loose[2020][1] - 0.15
        assert grew < loose_grew - 0.2
        assert loose_grew > 0.9 * firms30 / firms20  # loose: the count grows with the firms
        under.append(new20 - ent20)
        slower.append(grew / (firms30 / firms20))
    assert np.mean(under) > 0.05 and np.mean(slower) < 0.85


# --- certification, validity and review -----------------------------------------------------
class _Always:
    def random(self, n):
        return np.zeros(n)


def test_certificate_valid_three_years_then_reviewed():
    f, idx = population(3)
    good, bad = 0.1, 0.0
    set_window(f, idx, [good] * 3, [1.0] * 3)
    step = SPY - 1  # end of the first year
    f.certify_hte(idx, P, _Always(), step, SPY)
    assert f.hte[idx].all() and (f.hte_since[idx] == step).all()
    # from now on firm 1 and 2 stop doing R&D; firm 2 resumes before its review
    for year in range(1, HTE_VALIDITY_YEARS + 1):
        step += SPY
        rd = np.array([good, bad, 0.08 if year == HTE_VALIDITY_YEARS else bad])
        f.rd_cur[idx], f.rev_cur[idx] = rd, 1.0
        f.certify_hte(idx, P, _Always(), step, SPY)
        if year < HTE_VALIDITY_YEARS:  # between reviews a certificate is kept
            assert f.hte[idx].all()
    # at the review: firm 0 re-certified, firm 1 lapses, firm 2's window (0.08 + 0 + 0) / 3 = 2.7%
    # (3.5% with relabelling) is below the 4% band: it lapses too
    assert f.hte[idx].tolist() == [True, False, False]
    assert f.hte_since[idx[0]] == step
    # the window moved on: this year's flows are last year's now
    assert f.rd_cur[idx].sum() == 0 and np.allclose(f.rd_y1[idx], [good, bad, 0.08])


def test_application_rate_limits_new_certificates():
    f, idx = population(2000)
    set_window(f, idx, [0.1] * 3, [1.0] * 3)
    rng = np.random.default_rng(3)
    f.certify_hte(idx, P, rng, SPY - 1, SPY)
    assert abs(f.hte[idx].mean() - P.hte_application_rate) < 0.05


def test_2015_hte_certified_over_2013_2015():
    for seed in (1, 2, 3):
        m = InnovationModel("historical", scale=0.05, rng=seed)
        f, spy = m.firms, m.steps_per_year
        h = f.live[f.hte[f.live]]
        since = f.hte_since[h]
        years = (since + 1) // spy + m.start_year - 1  # the certification year
        assert set(np.unique(years)) <= {2013, 2014, 2015}
        share = np.array([(years == y).mean() for y in (2013, 2014, 2015)])
        assert (share > 0.15).all()
        # a firm was at least one year old when certified
        age_then = f.age[h] / spy - (m.start_year - 1 - years)
        assert (age_then >= 1.0 - 1e-9).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_certified_firms_met_the_rules_within_three_years(seed):
    """At every year end, an HTE was certified at most three years before, and is eligible if
    it was (re-)certified this year."""
    m = InnovationModel("baseline", scale=0.05, rng=seed)
    f, spy = m.firms, m.steps_per_year
    checked = 0
    while m.running:
        m.step()
        s = m.steps - 1
        if s % spy == spy - 1 and m.running:
            live = f.live
            h = live[f.hte[live]]
            assert (s - f.hte_since[h] < HTE_VALIDITY_YEARS * spy).all()
            assert (f.age[h[f.hte_since[h] == s]] >= spy).all()
            checked += h.size
    assert checked > 0


# --- operating leverage ---------------------------------------------------------------------
def grow_on_trend(f, idx, steps, g, jump_at=None, jump=0.0):
    """Revenue along the growth path g (log-points a year), with a level jump at one step;
    returns the margins after each step."""
    out = []
    for k in range(steps):
        f.revenue[idx] *= np.exp(g / SPY + (jump if k == jump_at else 0.0))
        f.update_margin(idx, P, 1.0 / SPY)
        out.append(f.margin[idx].copy())
    return np.array(out)


def planned_margin(f, idx):
    return P.operating_margin + f.margin_fe[idx]


def test_margin_unchanged_on_the_trend():
    f, idx = population(3, age=40 * SPY, margin_fe=np.array([-0.05, 0.0, 0.05]), tech=1.0)
    m = grow_on_trend(f, idx, 12, P.revenue_growth)
    assert np.allclose(m, planned_margin(f, idx), atol=1e-12)
    f, idx = population(1, age=40 * SPY, tech=1.0)
    m = grow_on_trend(f, idx, 12, 0.0)  # another steady path: expectations learn it
    assert abs(m[-1, 0] - P.operating_margin) < 0.01


def test_sales_drop_turns_margins_negative_then_costs_adjust():
    fe = np.array([0.02, 0.10]) - P.operating_margin  # planned margins 2% and 10%
    f, idx = population(2, age=40 * SPY, margin_fe=fe, tech=1.0)
    m = grow_on_trend(f, idx, 16, P.revenue_growth, jump_at=4, jump=np.log(0.85))
    drop = planned_margin(f, idx) - m[4]
    # on impact, fixed costs of the planned revenue weigh on 85% of the sales
    assert drop.min() > 0.6 * P.fixed_cost_share * (1 / 0.85 - 1)
    assert m[4, 0] < 0 < m[4, 1]  # the low-margin firm makes losses
    gap = planned_margin(f, idx)[0] - m[:, 0]
    assert gap[15] < 0.5 * gap[4]  # costs adjust within a few years
    # costs are sticky: a rise of sales is absorbed faster than a fall
    f2, i2 = population(1, age=40 * SPY, tech=1.0)
    up = grow_on_trend(f2, i2, 16, P.revenue_growth, jump_at=4, jump=-np.log(0.85))
    gap_up = up[:, 0] - P.operating_margin
    assert gap_up[8] / gap_up[4] < gap[8] / gap[4]


def test_base_year_is_a_steady_state_for_margins():
    """Paired: over the first year the margins with fixed costs stay close to those without
    (after the first step they are equal: costs are planned for the 2015 revenue)."""
    sc = load_scenario("baseline")
    runs = [
        InnovationModel(sc.with_parameters({"fixed_cost_share": v}), scale=0.05, rng=1)
        for v in (P.fixed_cost_share, 0.0)
    ]
    base = runs[0].firms.live  # the base-year firms
    for m in runs:
        m.step()
    a, b = (m.firms for m in runs)
    live = base[a.alive[base] & b.alive[base]]
    assert np.allclose(a.margin[live], b.margin[live], atol=1e-12)
    assert np.allclose(a.rev_plan[live], a.revenue[live])
    for m in runs:
        for _ in range(3):
            m.step()
    live = base[a.alive[base] & b.alive[base]]
    assert abs(np.mean(a.margin[live]) - np.mean(b.margin[live])) < 0.01


def _closures(scenario, seed, **params):
    sc = load_scenario(scenario)
    sc = sc.model_copy(update={"time": sc.time.model_copy(update={"end_year": 2022})})
    if params:
        sc = sc.with_parameters(params)
    m = InnovationModel(sc, scale=0.1, rng=seed)
    firms = {}
    while m.running:
        m.step()
        if m.steps % m.steps_per_year == 0:
            live = m.firms.live
            firms[m.year] = m.firms.in_beijing(live).sum()
    return m, firms


def test_demand_shock_closes_firms_through_operating_leverage():
    """Paired seeds: the 2020 demand shock raises 2020 closures and leaves fewer firms in 2022
    than the plan; without fixed costs (and the runway rule) the shock closes fewer firms.

    Measured over seeds 1-8 (full-scale equivalents): extra closures 287 with operating leverage
    against 14 without, before the technology offer's returns moved to each kind of seller (ODD
    7.8); 231 against 134 after, since micro firms no longer live on inflated technology sales
    and some fail in the shock even without fixed costs; 289 against 93 after the HTE screens
    and the recalibration (gap 196, s.e. 36 across seeds; 1.1% fewer firms in 2022). The
    eight seeds keep the sign of the gap clear of seed noise."""
    extra, extra_flex, lost = [], [], []
    flex = {"fixed_cost_share": 0.0, "insolvency_runway_years": 0.0}
    for seed in range(1, 9):
        (a, fa), (b, fb) = _closures("plan", seed), _closures("shock_pandemic", seed)
        (c, _), (d, _) = _closures("plan", seed, **flex), _closures("shock_pandemic", seed, **flex)
        extra.append(b.annual[2020]["firm_exits"] - a.annual[2020]["firm_exits"])
        extra_flex.append(d.annual[2020]["firm_exits"] - c.annual[2020]["firm_exits"])
        lost.append(fb[2022] / fa[2022] - 1)
    assert np.mean(extra) > 0 and min(extra) > 0
    assert np.mean(extra) > np.mean(extra_flex)
    assert np.mean(lost) < 0

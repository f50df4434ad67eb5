"""Issue 16: innovation vouchers with a realistic rule (task 14): small and micro firms by the
national size classes, paid only on what they buy from universities and institutes, and raising
their demand for technology (sim.model.markets.technology.TechnologyMarket.vouchers)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.inputs.levers import status_quo
from sim.inputs.scenario import load_scenario
from sim.model import InnovationModel
from sim.model.agents.region import BEIJING
from sim.model.sectors import SECTORS

STEPS = 12  # 2016-2018, quarterly


def _model(rate: float | None = None, seed: int = 1, scale: float = 0.05):
    sc = load_scenario("plan")  # run 2016-2018 only (STEPS)
    if rate is not None:
        sc = sc.with_levers({"innovation_voucher_rate": rate})
    return InnovationModel(sc, scale=scale, rng=seed)


def test_small_and_micro_by_the_national_size_classes():
    m = _model()
    f, tm = m.firms, m.technology_market
    it, mfg = SECTORS.index("new_generation_it"), SECTORS.index("biomedicine")
    rows = [  # (sector, employees, revenue in 100m yuan) -> small or micro?
        (mfg, 299, 5.0, True),  # below the employee floor
        (mfg, 500, 0.19, True),  # below the revenue floor
        (mfg, 300, 0.2, False),  # reaches both floors: medium
        (it, 99, 5.0, True),
        (it, 100, 0.1, False),
        (it, 200, 0.15, False),  # medium in software, small in industry
        (mfg, 200, 0.15, True),
    ]
    idx = f.add(len(rows), region=BEIJING[0])
    for j, (s, e, r, _) in zip(idx, rows, strict=True):
        f.sector[j], f.employees[j], f.revenue[j] = s, e, r
    assert tm.voucher_eligible(idx).tolist() == [ok for *_, ok in rows]


def test_vouchers_pay_only_for_university_technology():
    m = _model()
    tm, live = m.technology_market, m.firms.live
    bought = np.full(live.size, 0.01)
    flow5 = np.zeros((2, len(SECTORS), 7, len(SECTORS), 7))
    flow5[0] = 1.0  # every match with firms: nothing from universities
    assert tm.vouchers(live, 0.5, bought, flow5).sum() == 0.0
    flow5[1] = 1.0  # half from universities in every cell
    v = tm.vouchers(live, 0.5, bought, flow5)
    eligible = tm.voucher_eligible(live)
    assert np.allclose(v[eligible], 0.5 * 0.01 * 0.5) and (v[~eligible] == 0).all()


def test_the_2015_rate_leaves_demand_as_calibrated():
    m = _model()
    m.step()
    tm, live = m.technology_market, m.firms.live
    rate0 = status_quo("innovation_voucher_rate")
    assert (tm.university_demand_factor(live, rate0) == 1.0).all()
    higher = tm.university_demand_factor(live, 0.5)
    eligible = tm.voucher_eligible(live)
    assert (higher[eligible] > 1.0).all() and (higher[~eligible] == 1.0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_higher_voucher_rate_raises_small_firms_purchases_paired_seeds(seed):
    """Paired seeds, 2016-2018: the plan with vouchers at 0.5 against the 2015 rate: small and
    micro firms buy more technology, and the vouchers stay a small part of the public research
    budget (before issue 16 they paid the rate on everything firms under 300 employees bought:
    6.6% of the budget in 2030 under the plan, 0.9% now, scale 0.1, seeds 1-2). Here, scale 0.05:
    purchases +1.7% to +7.4% at the top of the lever's range, whose vouchers are 5.9% of the
    public research budget of 2016-2018."""
    bought, paid, budget = {}, {}, {}
    for rate in (status_quo("innovation_voucher_rate"), 0.5):
        m = _model(rate, seed)
        tot = v = b = 0.0
        for _ in range(STEPS):
            m.step()
            live = m.firms.live
            small = live[m.technology_market.voucher_eligible(live)]
            tot += m.firms.purchases_q[small].sum()
            v += m.technology_market.vouchers_paid / m.scale_firms  # full-scale equivalents
            b += m.public_budget * m.dt
        bought[rate], paid[rate], budget[rate] = tot, v, b
    lo, hi = sorted(bought)
    assert bought[hi] > 1.01 * bought[lo]
    assert paid[hi] > paid[lo] > 0
    assert paid[hi] / budget[hi] < 0.1

"""Fiscal costs of the levers, the budget cap and cost-effectiveness (issue 16): every lever has
a cost rule, measured costs equal the ledger's public flows, facilities are built with a lag,
a cap scales the costly levers, and `innosim run` / `compare` write costs.csv, budget.csv and
cost_effectiveness.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.app.cli import main
from sim.experiments.runs import BUDGET_COLUMNS, COST_COLUMNS
from sim.inputs.levers import registry
from sim.inputs.params import Params
from sim.model import InnovationModel
from sim.model.fiscal import _MEASURED, rules
from tests.helpers import SCALE, run_model, short_scenario


def _costs(m) -> pd.DataFrame:
    return pd.DataFrame(m.costs()).pivot(index="year", columns="lever", values="cost")


def test_every_lever_has_a_checked_cost_rule():
    r = rules()
    assert set(r) == set(registry())
    p = Params()
    for lid, rule in r.items():
        if rule["rule"] == "programme":
            assert getattr(p, rule["unit_cost"]) > 0, lid  # a parameter that exists
        if rule["rule"] == "none":
            assert len(rule["reason"]) > 20, lid
    assert {lid for lid, x in r.items() if x["rule"] == "measured"} == set(_MEASURED)


def test_measured_costs_are_the_ledgers_public_flows():
    """The fiscal research budget booked as a cost is what the government paid universities;
    leap grants, vouchers and procurement are the government's payments to firms and the
    technology market (full scale = simulated / scale)."""
    m = run_model(short_scenario(levers={"technology_leap_funding": 30.0}))
    c = _costs(m)
    flows = m.money.flows
    su, sf = m.scale_universities, m.scale_firms
    assert c.public_rd_growth.sum() * su == pytest.approx(flows["government", "universities"])
    assert c.technology_leap_funding.sum() * sf == pytest.approx(flows["government", "firms"])
    tech = c.innovation_voucher_rate.sum() + c.public_procurement_innovation.sum()
    assert tech * sf == pytest.approx(flows["government", "tech_clearing"])
    # guidance commitments: government -> funds includes nothing else
    assert c.guidance_fund_scale.sum() * sf == pytest.approx(flows["government", "funds"])
    assert c.technology_leap_funding.iloc[-1] == pytest.approx(30.0)
    assert (c >= 0).all().all()


def test_programme_and_free_levers():
    m = run_model(short_scenario(levers={"ip_protection": 0.8, "inventor_income_share": 0.7}))
    c = _costs(m)
    assert c.ip_protection.tolist() == pytest.approx([0.8 * m.p.ip_enforcement_cost] * 3)
    assert (c.inventor_income_share == 0).all()
    total = m.indicator_frame().query("indicator == 'fiscal_cost'").set_index("year").value
    assert total.tolist() == pytest.approx(c.sum(axis=1).tolist())


def test_facilities_take_time_to_build_and_then_raise_research_output():
    """Paired seeds: with a 3-year build, a facility budget from 2016 changes nothing before its
    first completion in 2019 (only its outlay is booked), then raises universities' knowledge
    and patent applications."""
    kw = {"parameters": {"facility_build_years": 3.0}}
    base = run_model(short_scenario(2021, **kw), seed=3)
    built = run_model(short_scenario(2021, levers={"huairou_facilities": 100.0}, **kw), seed=3)
    ib, ix = base.indicator_frame(), built.indicator_frame()
    before = ib[(ib.year <= 2018) & (ib.indicator != "fiscal_cost")]
    after = ix[(ix.year <= 2018) & (ix.indicator != "fiscal_cost")]
    assert before.value.tolist() == after.value.tolist()
    assert built.universities.knowledge.sum() > base.universities.knowledge.sum() * 1.01
    c = _costs(built)
    op = built.p.facility_operating_rate
    assert c.huairou_facilities[2018] == pytest.approx(100.0)
    assert c.huairou_facilities[2021] == pytest.approx(100.0 + op * 300.0)
    assert built.facilities.knowledge_factor(2018) == 1.0
    assert built.facilities.knowledge_factor(2019) > 1.0


def test_central_unit_coverage_lifts_central_units_offer_only():
    m = InnovationModel(short_scenario(), scale=SCALE, rng=1)
    u, p = m.universities, m.p
    at_2015 = u.technology_offer(p, 0.0, 1.0, 0.0)
    covered = u.technology_offer(p, 0.0, 1.0, 1.0)
    c = u.central & (at_2015 > 0)
    assert c.any() and (~u.central).any()
    ratio = covered[c] / at_2015[c]
    assert ratio == pytest.approx(np.full(c.sum(), 1.0 / (1.0 - p.central_approval_friction)))
    assert covered[~u.central].tolist() == at_2015[~u.central].tolist()


def _plan_short(end: int = 2020, **extra) -> dict:
    from sim.inputs.scenario import load_scenario

    sc = load_scenario("plan").model_dump(exclude={"source"})
    sc.update({"time": {"start_year": 2016, "end_year": end}, **extra})
    return sc


def test_budget_cap_scales_the_costly_levers_and_a_loose_cap_changes_nothing():
    plain = run_model(_plan_short(), seed=2)
    loose = run_model(_plan_short(budget_cap=1e6), seed=2)
    assert plain.indicator_frame().equals(loose.indicator_frame())
    assert all(r["scale"] == 1.0 for r in loose.budget_records())
    # a cap between the 2015 policies' cost and the plan's, each year 60 below the plan's outlay:
    # levers scaled, the projection fits (a constant cap from 2018 would fall below the 2015
    # policies' growing cost by 2020 at some parameter sets, and so scale every lever to 2015's)
    spent = _costs(plain).sum(axis=1)
    cap = {y: float(spent[y]) - 60.0 for y in (2018, 2019, 2020)}
    capped = run_model(_plan_short(budget_cap=cap), seed=2)
    rec = {r["year"]: r for r in capped.budget_records()}
    assert set(rec) == {2018, 2019, 2020}  # from the cap's first year on
    for y in rec:
        assert 0.0 < rec[y]["scale"] < 1.0 and rec[y]["met"], rec[y]
        assert rec[y]["projected_cost_capped"] == pytest.approx(cap[y], rel=1e-6)
    booked = _costs(capped).sum(axis=1)
    assert booked[2018] < spent[2018] - 30.0
    assert booked[2017] == pytest.approx(spent[2017])  # before the cap: the same year
    lever = capped.lever_values["technology_leap_funding"]
    assert lever == pytest.approx(30.0 * rec[2020]["scale"])  # the plan's 30, scaled toward 0


def test_a_cap_below_the_2015_policies_cannot_be_met_and_says_so():
    m = run_model(short_scenario(levers={"technology_leap_funding": 30.0}, budget_cap=100.0))
    rec = m.budget_records()
    assert [r["scale"] for r in rec] == [0.0, 0.0, 0.0]
    assert not any(r["met"] for r in rec)
    assert m.lever_values["technology_leap_funding"] == 0.0


def _write(tmp_path, name: str, data: dict):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("cap", "message"),
    [(-5.0, "a budget cap is a positive amount"), ({2040: 100.0}, "outside the horizon")],
)
def test_bad_budget_cap_is_refused_with_the_field(tmp_path, capsys, cap, message):
    path = _write(tmp_path, "bad", {"name": "bad", "budget_cap": cap})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "budget_cap" in err and message in err and "Traceback" not in err


def test_run_writes_costs_and_budget_and_compare_writes_cost_effectiveness(tmp_path, capsys):
    short = {"time": {"start_year": 2016, "end_year": 2020}, "replicates": 2, "scale": SCALE}
    base = _write(tmp_path, "base", {"name": "base", **short})
    plan = _write(tmp_path, "planned", {"name": "planned", "extends": "plan", **short})
    capped = _write(
        tmp_path, "capped", {"name": "capped", "extends": "plan", "budget_cap": 900.0, **short}
    )
    for path in (base, plan, capped):
        assert main(["run", str(path), "--out", str(tmp_path / path.stem), "--quiet"]) == 0
    costs = pd.read_csv(tmp_path / "planned" / "costs.csv")
    assert list(costs.columns) == COST_COLUMNS
    assert len(costs) == 2 * 5 * len(registry())
    assert not (tmp_path / "planned" / "budget.csv").exists()
    budget = pd.read_csv(tmp_path / "capped" / "budget.csv")
    assert list(budget.columns) == BUDGET_COLUMNS and len(budget) == 2 * 5
    report = (tmp_path / "capped" / "report.md").read_text(encoding="utf-8")
    assert "## Fiscal cost" in report and "## Budget cap" in report
    assert (tmp_path / "capped" / "plots" / "costs.png").stat().st_size > 10_000
    capsys.readouterr()

    out = tmp_path / "cmp"
    dirs = [str(tmp_path / n) for n in ("base", "planned", "capped")]
    assert main(["compare", *dirs, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "planned vs base, 2020: extra public outlay" in text and "paired seeds" in text
    ce = pd.read_csv(out / "cost_effectiveness.csv")
    assert set(ce.scenario) == {"planned", "capped"} and set(ce.reference) == {"base"}
    row = ce[(ce.scenario == "planned") & (ce.indicator == "gdp") & (ce.year == 2020)].iloc[0]
    assert row.extra_cost > 0 and row.pairs == 2 and row.paired
    assert row.effect_per_100m_yuan == pytest.approx(row.effect / row.extra_cost)
    assert row.ci_low <= row.effect <= row.ci_high
    # the capped plan spends less extra money than the plan
    cap_row = ce[(ce.scenario == "capped") & (ce.indicator == "gdp") & (ce.year == 2020)].iloc[0]
    assert cap_row.extra_cost < row.extra_cost
    # the extra cost is the paired difference of the folders' cumulative costs
    ref = pd.read_csv(tmp_path / "base" / "costs.csv").groupby("replicate").cost.sum()
    assert row.extra_cost == pytest.approx((costs.groupby("replicate").cost.sum() - ref).mean())
    assert "## Cost-effectiveness" in (out / "comparison.md").read_text(encoding="utf-8")


def test_compare_without_costs_says_why(tmp_path, capsys):
    short = {"time": {"start_year": 2016, "end_year": 2017}, "replicates": 2, "scale": SCALE}
    for name in ("a", "b"):
        path = _write(tmp_path, name, {"name": name, **short})
        assert main(["run", str(path), "--out", str(tmp_path / name), "--quiet"]) == 0
    (tmp_path / "a" / "costs.csv").unlink()  # as written by an older innosim
    capsys.readouterr()
    assert (
        main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")])
        == 0
    )
    assert "No cost-effectiveness: no costs.csv in" in capsys.readouterr().out
    assert not (tmp_path / "c" / "cost_effectiveness.csv").exists()

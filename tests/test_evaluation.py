"""Evaluation and adjustment (issue 16; the plan's safeguard 四(三)): rules checked at given
years change levers from the next year, runs record every check, and bad rules are refused
(malformed rules: tests/test_bad_input.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from sim.app.cli import main
from sim.experiments.runs import EVALUATION_COLUMNS
from sim.inputs.evaluation import Rule
from sim.inputs.scenario import load_scenario
from sim.model import InnovationModel

SCALE = 0.05
SHORT = {"time": {"start_year": 2016, "end_year": 2021}}


def _with_rule(below: float, change: float = 0.05, years=(2018,)) -> dict:
    """The plan to 2021 with one rule on the basic-research share."""
    base = load_scenario("plan").model_dump(exclude={"source"})
    base.update(SHORT)
    base["evaluation"] = {
        "years": list(years),
        "rules": [
            {
                "indicator": "basic_research_share",
                "below": below,
                "lever": "basic_research_priority",
                "change": change,
            }
        ],
    }
    return base


def _plan_short() -> dict:
    base = load_scenario("plan").model_dump(exclude={"source"})
    base.update(SHORT)
    return base


def _run(spec: dict, seed: int) -> InnovationModel:
    m = InnovationModel(load_scenario(spec), scale=SCALE, rng=seed)
    levers = {}
    while m.running:
        m.step()
        levers[m.year] = m.lever_values["basic_research_priority"]
    m.levers_seen = levers
    return m


def test_rule_thresholds():
    below = Rule(indicator="x", below=15, lever="y", change=0.1)
    above = Rule(indicator="x", above=15, lever="y", change=-0.1)
    assert below.misses(14.9) and not below.misses(15.0)
    assert above.misses(15.1) and not above.misses(15.0)
    assert below.label() == "x < 15 -> y +0.1"


@pytest.mark.parametrize("seed", [1, 2])
def test_a_triggered_rule_changes_its_lever_from_the_next_year(seed):
    """Paired seeds: identical to the plan up to the evaluation year; from the next year the
    lever is the plan's plus the change, and the basic-research share rises against the plan."""
    plan, hit = _run(_plan_short(), seed), _run(_with_rule(below=99.0), seed)
    for y in (2016, 2017, 2018):
        assert hit.annual[y] == plan.annual[y]
        assert hit.levers_seen[y] == plan.levers_seen[y]
    for y in (2019, 2020, 2021):
        assert hit.levers_seen[y] == pytest.approx(plan.levers_seen[y] + 0.05)
    assert hit.annual[2021]["basic_research_share"] > plan.annual[2021]["basic_research_share"]
    (check,) = hit.evaluations()
    assert check["year"] == 2018 and check["triggered"]
    assert check["indicator_value"] == hit.annual[2018]["basic_research_share"]
    assert check["new_lever_value"] == pytest.approx(hit.levers_seen[2019])


def test_a_rule_that_is_met_changes_nothing():
    plan, met = _run(_plan_short(), 3), _run(_with_rule(below=0.0), 3)
    assert met.annual == plan.annual
    assert [c["triggered"] for c in met.evaluations()] == [False]


def test_changes_add_up_over_evaluations():
    m = _run(_with_rule(below=99.0, years=(2017, 2019)), 1)
    plan = _run(_plan_short(), 1)
    assert m.levers_seen[2018] == pytest.approx(plan.levers_seen[2018] + 0.05)
    assert m.levers_seen[2020] == pytest.approx(plan.levers_seen[2020] + 0.10)
    assert [c["new_lever_value"] for c in m.evaluations()] == pytest.approx(
        [plan.levers_seen[2018] + 0.05, plan.levers_seen[2020] + 0.10]
    )


def test_a_lever_override_that_breaks_the_worst_case_is_refused():
    sc = load_scenario(_with_rule(below=99.0, change=0.3, years=(2017,)))
    with pytest.raises(Exception, match=r"evaluation\.rules\.0\.change"):
        sc.with_levers({"basic_research_priority": 0.6})


def test_run_writes_evaluations_csv_and_the_report_section(tmp_path):
    spec = _with_rule(below=99.0, years=(2017, 2019))
    spec["name"] = "adaptive"
    path = tmp_path / "adaptive.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--scale", "0.02", "--replicates", "2"]
    assert main([*argv, "--quiet"]) == 0
    ev = pd.read_csv(out / "evaluations.csv")
    assert list(ev.columns) == EVALUATION_COLUMNS
    assert len(ev) == 2 * 2 and set(ev.year) == {2017, 2019} and ev.triggered.all()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Evaluation and adjustment" in report
    assert "basic_research_share < 99 -> basic_research_priority +0.05" in report
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["evaluation"]["years"] == [2017, 2019]


def test_a_run_without_rules_writes_no_evaluations(tmp_path):
    out = tmp_path / "out"
    argv = ["run", "baseline", "--out", str(out), "--scale", "0.02", "--replicates", "1"]
    assert main([*argv, "--quiet"]) == 0
    assert not (out / "evaluations.csv").exists()
    assert "Evaluation and adjustment" not in (out / "report.md").read_text(encoding="utf-8")


def test_two_rules_on_one_lever_record_the_lever_after_both():
    spec = _with_rule(below=99.0, years=(2018,))
    rule = dict(spec["evaluation"]["rules"][0])
    spec["evaluation"]["rules"].append({**rule, "indicator": "rd_intensity", "change": 0.02})
    m, plan = _run(spec, 1), _run(_plan_short(), 1)
    first, second = m.evaluations()
    assert first["triggered"] and second["triggered"]
    want = plan.levers_seen[2019] + 0.07
    assert first["new_lever_value"] == pytest.approx(want)
    assert second["new_lever_value"] == pytest.approx(want)
    assert m.levers_seen[2019] == pytest.approx(want)

"""Plan coverage: every task carried by levers that change the model, the plan's scenarios, and
the pillars and shocks moving the indicators they target (paired seeds = common random numbers).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from sim.app.cli import main
from sim.inputs import plan
from sim.inputs.levers import registry
from sim.inputs.paths import ROOT
from sim.model import InnovationModel

SCENARIOS = ROOT / "scenarios"
N_TASKS = 18


# ------------------------------------------------------------------------------------------------
# levers and tasks
# ------------------------------------------------------------------------------------------------
def test_every_task_and_the_safeguard_has_a_lever():
    numbers = [t.number for t in plan.tasks()]
    assert numbers == [*range(1, N_TASKS + 1), "safeguard"]
    bare = [t.number for t in plan.tasks() if not plan.levers_of_task(t.number)]
    assert not bare, f"tasks without a lever: {bare}"
    for t in plan.tasks():
        assert t.not_modelled.strip(), f"task {t.number}: say what is left out"


def test_pillars_partition_the_tasks():
    tasks = [t for p in plan.pillars().values() for t in p.tasks]
    assert sorted(tasks) == list(range(1, N_TASKS + 1))


def test_every_lever_belongs_to_a_task():
    valid = {t.number for t in plan.tasks()}
    for lv in registry().values():
        assert set(lv.plan_task) <= valid, lv.id


def _indicators(m):
    return np.array([[m.annual[y][k] for k in sorted(m.annual[y])] for y in sorted(m.annual)])


# Levers that only act together with another: the coverage of central units applies Beijing's
# inventor-share policy to them, so it matters only once that share differs from 2015.
PARTNERS = {"central_unit_coverage": "inventor_income_share"}
SHORT = {"name": "t", "time": {"start_year": 2016, "end_year": 2021}}


@pytest.fixture(scope="module")
def base_short():
    m = InnovationModel(scenario=SHORT, scale=0.05, rng=5)
    m.run()
    return _indicators(m)


@pytest.mark.parametrize("lid", list(registry()))
def test_every_lever_changes_the_model(lid, base_short):
    """A lever at the end of its range farthest from the status quo changes the indicators within
    six years. Every draw is keyed to the seed, so a lever that did nothing would give
    bit-identical results. (At its plan value a lever that acts through rare events, such as
    listings, may by chance change no draw in six years at this scale.)"""
    reg = registry()
    lv = reg[lid]
    settings = {lid: max((lv.low, lv.high), key=lambda v: abs(v - lv.default))}
    if lid in PARTNERS:
        partner = PARTNERS[lid]
        settings[partner] = reg[partner].plan
        alone = InnovationModel(scenario=SHORT, scale=0.05, rng=5, **{partner: reg[partner].plan})
        alone.run()
        base = _indicators(alone)
    else:
        base = base_short
    moved = InnovationModel(scenario=SHORT, scale=0.05, rng=5, **settings)
    moved.run()
    assert not np.array_equal(base, _indicators(moved)), f"{lid} changes nothing"


# ------------------------------------------------------------------------------------------------
# CLI: levers and plan
# ------------------------------------------------------------------------------------------------
def test_cli_levers_json(capsys):
    assert main(["levers", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out] == list(registry())
    for r in out:
        assert {"id", "name", "plan_task", "unit", "default", "plan", "low", "high"} <= set(r)
        assert r["low"] <= r["default"] <= r["high"] and r["low"] <= r["plan"] <= r["high"]


def test_cli_levers_table(capsys):
    assert main(["levers"]) == 0
    out = capsys.readouterr().out
    for lid in registry():
        assert lid in out


def test_plan_says_why_the_missing_parts_are_not_modelled():
    """Issue 16: civil-military integration (tasks 5, 8, 18), technical standards (tasks 5, 9),
    bonds, the New Third Board and regional equity markets (task 15) are stated with a reason in
    `innosim plan`; the evaluation safeguard (四(三)) is modelled and says where."""
    gaps = {str(t.number): t.not_modelled for t in plan.tasks()}
    for task, words in [
        ("5", ("standards", "civil-military")),
        ("8", ("civil-military", "军民融合")),
        ("9", ("Standards bases",)),
        ("15", ("Bonds", "New Third Board", "regional equity markets", "exit_market_depth")),
        ("18", ("Civil-military",)),
        ("safeguard", ("plan_adaptive", "sim.inputs.evaluation")),
    ]:
        for w in words:
            assert w in gaps[task], (task, w)
        assert "not modelled" in gaps[task] or "Not modelled" in gaps[task], task


def test_cli_plan_lists_tasks_levers_and_gaps(capsys):
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    for t in plan.tasks():
        assert t.title_zh in out
        assert t.not_modelled in out
    for lid in registry():
        assert f"lever {lid}:" in out
    assert main(["plan", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == N_TASKS + 1
    assert all(r["levers"] for r in rows)


# ------------------------------------------------------------------------------------------------
# scenario files
# ------------------------------------------------------------------------------------------------
EXPECTED = [
    "baseline",
    "plan",
    "historical",
    "pillar_original_innovation",
    "pillar_technology_leap",
    "pillar_jjj_coordination",
    "pillar_global_openness",
    "pillar_reform",
    "shock_capital_winter",
    "shock_pandemic",
    "shock_talent_restriction",
    "plan_adaptive",
    "plan_budget_cap",
]


def _raw(name):
    return yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))


def _final(spec):
    return spec[max(spec)] if isinstance(spec, dict) else spec


@pytest.mark.parametrize("name", EXPECTED)
def test_scenario_files_exist_validate_and_say_what_they_ask(name, capsys):
    assert main(["validate", str(SCENARIOS / f"{name}.yaml")]) == 0
    raw = _raw(name)
    assert raw["name"] == name
    assert len(raw["description"].split()) >= 15


def test_plan_sets_every_lever_to_its_plan_value():
    levers = _raw("plan")["levers"]
    assert set(levers) == set(registry())
    for lid, spec in levers.items():
        assert _final(spec) == pytest.approx(registry()[lid].plan), lid


@pytest.mark.parametrize("pillar", list(plan.pillars()))
def test_pillar_scenario_sets_exactly_its_levers_at_plan(pillar):
    raw = _raw(f"pillar_{pillar}")
    assert raw["extends"] == "baseline.yaml"
    expected = {lv.id for lv in plan.levers_of_pillar(pillar)}
    assert set(raw["levers"]) == expected
    for lid, spec in raw["levers"].items():
        assert _final(spec) == pytest.approx(registry()[lid].plan), lid


def test_historical_follows_the_record_then_the_plan():
    raw = _raw("historical")
    assert raw["extends"] == "plan.yaml"
    record = yaml.safe_load((ROOT / "seeds" / "policy_record.yaml").read_text(encoding="utf-8"))
    for lid, rec in record["levers"].items():
        spec = raw["levers"][lid]
        for year, value in rec["values"].items():
            assert spec[year] == pytest.approx(value)
        assert _final(spec) == pytest.approx(registry()[lid].plan)
        assert rec["sources"]


# ------------------------------------------------------------------------------------------------
# pillars and shocks move what they target
# ------------------------------------------------------------------------------------------------
SEEDS = (1, 2, 3, 4)
YEARS = range(2016, 2031)


@pytest.fixture(scope="module")
def runs():
    """Annual indicators of every scenario under the same four seeds (scale 0.05)."""
    out = {}
    for name in EXPECTED:
        if name == "historical":
            continue
        reps = []
        for seed in SEEDS:
            m = InnovationModel(scenario=SCENARIOS / f"{name}.yaml", scale=0.05, rng=seed)
            m.run()
            reps.append(m.annual)
        out[name] = reps
    return out


def _paired(runs, a, b, indicator, years):
    """Median over seeds of the relative difference a/b - 1 of the indicator summed over years."""
    diffs = [
        sum(x[y][indicator] for y in years) / sum(z[y][indicator] for y in years) - 1.0
        for x, z in zip(runs[a], runs[b], strict=True)
    ]
    return float(np.median(diffs))


def _each_year(runs, a, b, indicator, years):
    return [_paired(runs, a, b, indicator, [y]) for y in years]


PILLAR_TARGETS = [
    # (scenario, indicator, years, minimum median relative gain per year)
    ("pillar_original_innovation", "basic_research_share", range(2016, 2031), 0.05),
    ("pillar_original_innovation", "high_end_talent", range(2017, 2031), 0.0),
    # Its patents add to a stock that lapses slowly (calibrated patent_lapse_rate 0.035, issue
    # 15): the per-capita gain is within +-0.3% until 2026 (scale 0.05, seeds 1-4; medians),
    # then grows from +0.35% (2027) to +1.4% (2030, every seed +0.8% to +2.9%). Before the
    # issue-16 changes to vouchers and key fields it was +0.9% from 2025.
    ("pillar_original_innovation", "invention_patents_per_10k", range(2027, 2031), 0.0),
    # The pillar raises R&D (leap grants, platforms), hence R&D capital and the sectors' markets
    # (rd_output_elasticity, issue 15); its revenue gain is checked from 2023, once it shows
    # (+0.1% to +1.4% in 2016-21, -0.6% in 2022, +2.8% to +4.8% from 2023; seeds 1-4, medians).
    ("pillar_technology_leap", "zgc_total_revenue", range(2023, 2031), 0.0),
    ("pillar_technology_leap", "invention_patents_per_10k", range(2021, 2031), 0.0),
    # With the calibrated border friction (border_jjj 0.74, issue 15) and the transfer bases
    # built over programme_build_years (issue 16) the pillar's gain is 0.08 in 2016 and 0.12 in
    # 2017 (levers at a third of their plan values, bases a third built), 0.23-0.39 in 2018-20
    # and 0.46-0.55 later (scale 0.05, seeds 1-4; medians).
    ("pillar_jjj_coordination", "tech_flow_to_tianjin_hebei", range(2016, 2018), 0.05),
    ("pillar_jjj_coordination", "tech_flow_to_tianjin_hebei", range(2018, 2031), 0.15),
    # After 2021 the turnover of single seeds swings by +-20% (a few large buyers) at this scale,
    # more than the pillar's effect: checked while the paired noise is below it.
    ("pillar_global_openness", "tech_contract_turnover", range(2016, 2022), 0.01),
    # Recruits arrive a year after acceptance and join units by researchers x reputation (per
    # researcher since issue 18): the gain is +0.1% to +0.4% in 2016-22 (2018: -0.00%, within
    # single-seed paired noise) and +1.6% to +3.0% from 2023 (scale 0.05, seeds 1-4, medians;
    # with reputation following the knowledge stock it was +1.4% in 2018 and +4.3% in 2030).
    ("pillar_global_openness", "high_end_talent", range(2019, 2031), 0.0),
    # Incubator places are rationed and built over programme_build_years (issue 16): the gain is
    # 0.06 in 2016 (registration reform adds only the founders turned away who found anyway,
    # while places bind), 0.10-0.16 in 2017-19 and 0.23-0.33 later (scale 0.05, seeds 1-4).
    ("pillar_reform", "firm_entries", range(2016, 2031), 0.04),
    # In 2016-17 the reform levers are at a third of their plan values: their effect on
    # high-end talent (+-0.5%) is below the paired noise of single seeds at this scale.
    ("pillar_reform", "high_end_talent", range(2018, 2031), 0.0),
    # The whole plan also raises firm R&D (IP protection, leap grants, finance), the denominator
    # of the basic share; by 2030 that offsets its gain (measured by this test), so check to 2025.
    ("plan", "basic_research_share", range(2016, 2026), 0.03),
    ("plan", "invention_patents_per_10k", range(2016, 2031), 0.0),
    # The calibrated Jing-Jin-Ji border friction (border_jjj 0.58, issue 15) leaves less for the
    # unified market to remove than before (0.18), and the transfer bases are built over
    # programme_build_years (issue 16): the plan's gain is 0.06 in 2016, 0.10 in 2017, then
    # 0.20 (2018) to 0.59.
    ("plan", "tech_flow_to_tianjin_hebei", range(2016, 2018), 0.03),
    ("plan", "tech_flow_to_tianjin_hebei", range(2018, 2031), 0.15),
    # The plan's entry gain in 2016-17, with its levers at a third of their plan values and the
    # incubator places rationed and built with a lag (issue 16), depends on the parameters: 0.10
    # at the earlier point estimates, 0.04 (2016) and 0.07 (2017) at the posterior medians of
    # issue 17 (scale 0.05, seeds 1-4, medians); from 2018 it is above 0.08 at both. With units'
    # reputation per researcher (issue 18; spin-offs follow applied research) 0.028 and 0.076.
    ("plan", "firm_entries", range(2016, 2018), 0.02),
    ("plan", "firm_entries", range(2018, 2031), 0.08),
    # In 2016 the plan's effect on high-end talent is within the paired noise of single seeds at
    # this scale (-0.25% at the posterior medians, levers at a third of their plan values; see
    # pillar_reform above): checked from 2017.
    ("plan", "high_end_talent", range(2017, 2031), 0.0),
]


@pytest.mark.parametrize(("scenario", "indicator", "years", "gain"), PILLAR_TARGETS)
def test_pillar_beats_baseline_on_its_targets(runs, scenario, indicator, years, gain):
    got = _each_year(runs, scenario, "baseline", indicator, years)
    bad = {y: round(g, 4) for y, g in zip(years, got, strict=True) if not g > gain}
    assert not bad, f"{scenario} vs baseline, {indicator}: gains not above {gain} in {bad}"


@pytest.mark.parametrize("scenario", ["pillar_reform", "plan"])
def test_finance_reform_raises_venture_capital_over_the_decade(runs, scenario):
    # Yearly venture capital is lumpy (a few large rounds at this scale): compare the totals of
    # the second half, when the larger funds have been raised and deployed.
    assert _paired(runs, scenario, "baseline", "vc_amount", range(2026, 2031)) > 0.1


SHOCKS = [
    # (scenario, first shock year, [(indicator, years, maximum median relative change)])
    ("shock_capital_winter", 2018, [("vc_amount", (2018, 2019), -0.1)]),
    (
        "shock_pandemic",
        2020,
        [
            ("zgc_total_revenue", (2020,), -0.05),
            # -4.5% in 2020 (scale 0.05, seeds 1-4): outside demand, which grows fastest
            # (external_tech_demand_growth 0.20, issue 15), keeps part of the turnover
            ("tech_contract_turnover", (2020,), -0.03),
            # top-talent recruits arrive a year after acceptance (issue 16): 2020 moves through
            # migration alone (-0.88%), 2021-22 through recruitment too (-4.8%, -6.8%)
            ("high_end_talent", (2020,), -0.005),
            ("high_end_talent", (2021, 2022), -0.01),
        ],
    ),
    # Top-talent recruits accepted in a year arrive the next (issue 16): in 2019 the restriction
    # acts through migration alone (-0.99%), from 2020 through recruitment too.
    (
        "shock_talent_restriction",
        2019,
        [
            ("high_end_talent", (2019,), -0.005),
            ("high_end_talent", tuple(range(2020, 2031)), -0.01),
        ],
    ),
]


@pytest.mark.parametrize(("scenario", "start", "hits"), SHOCKS, ids=[s[0] for s in SHOCKS])
def test_shock_hurts_what_it_hits_when_it_hits(runs, scenario, start, hits):
    # Before the shock the run is the plan itself, draw for draw.
    for x, z in zip(runs[scenario], runs["plan"], strict=True):
        for y in range(2016, start):
            assert x[y] == z[y], f"{scenario} differs from the plan in {y}, before the shock"
    for indicator, years, worst in hits:
        got = _each_year(runs, scenario, "plan", indicator, years)
        bad = {y: round(g, 4) for y, g in zip(years, got, strict=True) if not g < worst}
        assert not bad, f"{scenario}, {indicator}: changes not below {worst} in {bad}"


def test_plan_budget_cap_is_the_plan_until_2018_then_spends_less_and_keeps_part_of_its_effect(runs):
    cap = _raw("plan_budget_cap")["budget_cap"]
    for x, z in zip(runs["plan_budget_cap"], runs["plan"], strict=True):
        assert x[2017] == z[2017]  # the cap starts in 2018
        for y in range(2018, 2031):
            # booked costs follow the projection within 2% (the year's responses are not projected)
            assert x[y]["fiscal_cost"] < min(z[y]["fiscal_cost"], 1.02 * cap[y])
    base = "baseline"
    for ind in ("rd_intensity", "tech_contract_turnover"):
        full = _paired(runs, "plan", base, ind, range(2025, 2031))
        kept = _paired(runs, "plan_budget_cap", base, ind, range(2025, 2031))
        assert 0.0 < kept < full, ind


def test_plan_adaptive_is_the_plan_until_its_first_evaluation_then_adjusts(runs):
    """The plan's safeguard (四(三)): up to the first evaluation (end of 2017) the runs are the
    plan's, draw for draw; the R&D-intensity rule misses in every replicate (the plan's
    intensity stays below 6% of GDP), so public R&D grows faster from 2018 than under the plan
    and R&D expenditure rises against it (scale 0.05, seeds 1-4: +0.4% in 2018, +6-13% in
    2030)."""
    for x, z in zip(runs["plan_adaptive"], runs["plan"], strict=True):
        for y in (2016, 2017):
            assert x[y] == z[y]
    assert _paired(runs, "plan_adaptive", "plan", "rd_expenditure", [2018]) > 0.0
    assert _paired(runs, "plan_adaptive", "plan", "rd_expenditure", [2030]) > 0.03

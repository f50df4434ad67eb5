"""Scenario loading and validation: every bad input is an InputError naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.inputs.errors import InputError
from sim.inputs.levers import registry
from sim.inputs.paths import SCENARIOS
from sim.inputs.scenario import Scenario, load_scenario


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value


# ------------------------------------------------------------------------------------------------
# valid scenarios
# ------------------------------------------------------------------------------------------------
def test_baseline_file_validates():
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    assert isinstance(sc, Scenario)
    assert sc.name == "baseline"
    assert (sc.time.start_year, sc.time.end_year) == (2016, 2030)
    assert sc.source.endswith("baseline.yaml")


def test_none_and_dict_and_scenario_sources():
    default = load_scenario(None)
    assert default.name == "baseline" and default.levers == {}
    sc = load_scenario({"name": "x", "levers": {"ip_protection": 0.6}})
    assert sc.levers == {"ip_protection": 0.6} and sc.source is None
    assert load_scenario(sc) is sc


def test_dict_source_is_not_mutated():
    raw = {"time": {"start_year": 2016, "end_year": 2018}, "levers": {"ip_protection": {2017: 0.6}}}
    before = repr(raw)
    load_scenario(raw)
    assert repr(raw) == before


def test_full_example_validates(tmp_path):
    lid = "public_rd_growth"
    lv = registry()[lid]
    path = write(
        tmp_path,
        f"""
name: plan
description: a plan-like scenario
time: {{start_year: 2016, end_year: 2025, steps_per_year: 4}}
seed: 7
replicates: 3
scale: 0.05
levers: {{{lid}: {{2016: {lv.plan}, 2021: {lv.high}}}, ip_protection: 0.8}}
shocks: {{venture_capital: {{2018: 0.5, 2020: 1.0}}}}
parameters: {{revenue_growth: 0.1}}
""",
    )
    sc = load_scenario(path)
    assert sc.levers[lid] == {2016: lv.plan, 2021: lv.high}
    assert sc.shocks == {"venture_capital": {2018: 0.5, 2020: 1.0}}
    assert sc.parameters == {"revenue_growth": 0.1}
    assert sc.source == str(path)


def test_with_levers_validates_overrides():
    sc = load_scenario({"levers": {"ip_protection": 0.6}})
    merged = sc.with_levers({"public_rd_growth": 10.0})
    assert merged.levers == {"ip_protection": 0.6, "public_rd_growth": 10.0}
    with pytest.raises(Exception, match="public_rd_growth"):
        sc.with_levers({"public_rd_growth": registry()["public_rd_growth"].high + 1})


def test_resolved_lists_every_lever_and_version():
    from sim import __version__

    res = load_scenario({"levers": {"ip_protection": {2018: 0.7}}}).resolved()
    assert set(res["levers"]) == set(registry())
    assert res["levers"]["ip_protection"] == {2018: 0.7}
    assert res["innosim_version"] == __version__
    assert "source" not in res


# ------------------------------------------------------------------------------------------------
# InputError cases
# ------------------------------------------------------------------------------------------------
def test_unknown_key_with_did_you_mean(tmp_path):
    path = write(tmp_path, "name: x\nreplicate: 3\n")
    err = load_error(path)
    assert err.file == str(path)
    assert err.path == "replicate"
    assert "unknown key" in err.message and "replicates" in err.message
    assert str(path) in str(err)


def test_unknown_nested_key(tmp_path):
    err = load_error(write(tmp_path, "time: {start_yr: 2017}\n"))
    assert err.path == "time.start_yr"
    assert "unknown key" in err.message


def test_unknown_lever_with_did_you_mean(tmp_path):
    err = load_error(write(tmp_path, "levers: {basic_research_priorty: 0.3}\n"))
    assert err.path == "levers.basic_research_priorty"
    assert "did you mean 'basic_research_priority'" in err.message


def test_unknown_shock_and_parameter(tmp_path):
    err = load_error(write(tmp_path, "shocks: {demnd: 0.5}\n", "s.yaml"))
    assert err.path == "shocks.demnd" and "demand" in err.message
    err = load_error(write(tmp_path, "parameters: {revenue_growt: 0.1}\n", "p.yaml"))
    assert err.path == "parameters.revenue_growt" and "revenue_growth" in err.message


@pytest.mark.parametrize("side", ["low", "high"])
def test_out_of_range_lever(tmp_path, side):
    lv = registry()["basic_research_priority"]
    bad = lv.low - 0.01 if side == "low" else lv.high + 0.01
    err = load_error(write(tmp_path, f"levers: {{basic_research_priority: {bad}}}\n"))
    assert err.path == "levers.basic_research_priority"
    assert "must be within" in err.message


def test_out_of_range_lever_in_schedule(tmp_path):
    lv = registry()["ip_protection"]
    err = load_error(write(tmp_path, f"levers: {{ip_protection: {{2018: {lv.high + 1}}}}}\n"))
    assert err.path == "levers.ip_protection.2018"


def test_out_of_range_parameter(tmp_path):
    err = load_error(write(tmp_path, "parameters: {revenue_growth: 5.0}\n"))
    assert err.path == "parameters.revenue_growth"
    assert "must be within" in err.message


def test_vector_parameter_override():
    from sim.inputs.params import definitions

    name = next(k for k, d in definitions().items() if isinstance(d.value, tuple))
    values = list(definitions()[name].value)
    sc = load_scenario({"parameters": {name: values}})
    assert list(sc.parameters[name]) == values


@pytest.mark.parametrize("where", ["below", "above", "zero"])
def test_out_of_range_shock(tmp_path, where):
    from sim.inputs.shocks import SHOCK_RANGE

    low, high = SHOCK_RANGE
    value = {"below": low - 0.01, "above": high + 0.01, "zero": 0.0}[where]
    if where == "zero" and low <= 0.0:
        pytest.skip("a zero shock is allowed")
    err = load_error(write(tmp_path, f"shocks: {{demand: {{2018: {value}}}}}\n"))
    assert err.path == "shocks.demand.2018"
    assert load_scenario({"shocks": {"demand": {2018: low}}}).shocks == {"demand": {2018: low}}
    assert load_scenario({"shocks": {"demand": high}}).shocks == {"demand": high}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("levers: {basic_research_priority: .nan}\n", "levers.basic_research_priority"),
        ("levers: {public_rd_growth: .inf}\n", "levers.public_rd_growth"),
        ("levers: {public_rd_growth: {2018: .nan}}\n", "levers.public_rd_growth"),
        ("scale: .inf\n", "scale"),
        ("scale: .nan\n", "scale"),
        ("parameters: {revenue_growth: .nan}\n", "parameters.revenue_growth"),
        ("shocks: {demand: -.inf}\n", "shocks.demand"),
    ],
)
def test_nan_and_inf_are_refused(tmp_path, text, field):
    err = load_error(write(tmp_path, text))
    assert err.path is not None and err.path.startswith(field), err


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("levers: {public_rd_growth: {2040: 9.0}}\n", "levers.public_rd_growth.2040"),
        ("levers: {public_rd_growth: {2015: 9.0}}\n", "levers.public_rd_growth.2015"),
        (
            "time: {start_year: 2016, end_year: 2020}\nlevers: {ip_protection: {2021: 0.5}}\n",
            "levers.ip_protection.2021",
        ),
        ("shocks: {demand: {2031: 0.5}}\n", "shocks.demand.2031"),
    ],
)
def test_schedule_year_outside_horizon(tmp_path, text, field):
    err = load_error(write(tmp_path, text))
    assert err.path == field
    assert "outside the horizon" in err.message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("time: {start_year: 2020, end_year: 2018}\n", "time"),
        ("time: {steps_per_year: 3}\n", "time.steps_per_year"),
        ("replicates: many\n", "replicates"),
        ("replicates: 0\n", "replicates"),
        ("seed: -1\n", "seed"),
        ("scale: 0\n", "scale"),
    ],
)
def test_bad_fields(tmp_path, text, field):
    err = load_error(write(tmp_path, text))
    assert err.path == field


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = write(tmp_path, "name: x\nlevers: {ip_protection: 0.5\n")
    err = load_error(path)
    assert err.file == str(path)
    assert "line 3" in err.path and "column" in err.path
    assert "YAML syntax error" in err.message


def test_yaml_bad_indentation(tmp_path):
    err = load_error(write(tmp_path, "name: x\n  bad: indent\n"))
    assert err.path == "line 2, column 6"


def test_python_object_tag_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    err = load_error(path)
    assert "constructor" in err.message or "tag" in err.message
    assert not marker.exists(), "nothing in a scenario may be evaluated"


def test_empty_file(tmp_path):
    err = load_error(write(tmp_path, ""))
    assert "empty" in err.message


def test_comment_only_file_is_empty(tmp_path):
    err = load_error(write(tmp_path, "# nothing here\n"))
    assert "empty" in err.message


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("hello\n", "text"), ("42\n", "a number")]
)
def test_non_mapping(tmp_path, text, kind):
    err = load_error(write(tmp_path, text))
    assert "expected a mapping" in err.message and kind in err.message


def test_directory(tmp_path):
    err = load_error(tmp_path)
    assert err.file == str(tmp_path)
    assert "directory" in err.message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    err = load_error(path)
    assert err.file == str(path)
    assert "not found" in err.message


def test_binary_file(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    err = load_error(path)
    assert "UTF-8" in err.message


# ------------------------------------------------------------------------------------------------
# extends
# ------------------------------------------------------------------------------------------------
def test_extends_merges_sections(tmp_path):
    write(
        tmp_path,
        "name: base\ndescription: the base\nseed: 5\nreplicates: 3\n"
        "time: {start_year: 2016, end_year: 2020}\n"
        "levers: {public_rd_growth: 10.0, ip_protection: 0.6}\n"
        "shocks: {demand: {2018: 0.8}}\n"
        "parameters: {revenue_growth: 0.1}\n",
        "base.yaml",
    )
    child = write(
        tmp_path,
        "name: child\nextends: base.yaml\nreplicates: 4\n"
        "time: {end_year: 2022}\n"
        "levers: {ip_protection: 0.8}\n",
        "child.yaml",
    )
    sc = load_scenario(child)
    assert sc.name == "child"
    assert sc.description != "the base"  # name and description are not inherited
    assert sc.seed == 5 and sc.replicates == 4
    assert (sc.time.start_year, sc.time.end_year) == (2016, 2022)
    assert sc.levers == {"public_rd_growth": 10.0, "ip_protection": 0.8}
    assert sc.shocks == {"demand": {2018: 0.8}}
    assert sc.parameters == {"revenue_growth": 0.1}
    assert sc.source == str(child)


def test_extends_chain_and_subfolder(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    write(tmp_path, "seed: 9\nlevers: {ip_protection: 0.5}\n", "root.yaml")
    write(sub, "extends: ../root.yaml\nlevers: {public_rd_growth: 11.0}\n", "mid.yaml")
    leaf = write(tmp_path, "name: leaf\nextends: sub/mid.yaml\n", "leaf.yaml")
    sc = load_scenario(leaf)
    assert sc.seed == 9
    assert sc.levers == {"ip_protection": 0.5, "public_rd_growth": 11.0}


def test_extends_baseline(tmp_path):
    path = write(
        tmp_path,
        f"name: p\nextends: {SCENARIOS / 'baseline.yaml'}\nlevers: {{ip_protection: 0.8}}\n",
    )
    sc = load_scenario(path)
    assert sc.scale == load_scenario(SCENARIOS / "baseline.yaml").scale
    assert sc.levers == {"ip_protection": 0.8}


def test_extends_cycle(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    err = load_error(tmp_path / "a.yaml")
    assert err.path == "extends"
    assert "cycle" in err.message and "a.yaml" in err.message and "b.yaml" in err.message


def test_extends_itself(tmp_path):
    err = load_error(write(tmp_path, "extends: self.yaml\n", "self.yaml"))
    assert "cycle" in err.message


def test_extends_missing_file(tmp_path):
    path = write(tmp_path, "name: x\nextends: nothere.yaml\n")
    err = load_error(path)
    assert "nothere.yaml" in str(err)
    assert "not found" in err.message


def test_extends_not_a_string(tmp_path):
    err = load_error(write(tmp_path, "extends: [a.yaml]\n"))
    assert err.path == "extends"


def test_extends_bad_parent_names_parent_file(tmp_path):
    write(tmp_path, "levers: {ip_protection: 9}\n", "parent.yaml")
    path = write(tmp_path, "name: child\nextends: parent.yaml\n", "child.yaml")
    err = load_error(path)
    assert err.path == "levers.ip_protection"


def test_extends_in_dict_is_refused():
    with pytest.raises(InputError, match="extends"):
        load_scenario({"extends": "baseline.yaml"})

"""Lever registry (seeds/levers.yaml), schedules, and the parameter registry (seeds/parameters.yaml)."""

from __future__ import annotations

import importlib
import math
import re

import pytest
import yaml

from sim.inputs.levers import LeverSettings, Schedule, registry, status_quo
from sim.inputs.params import KINDS, Params, definitions
from sim.inputs.paths import SEEDS

# ------------------------------------------------------------------------------------------------
# lever registry
# ------------------------------------------------------------------------------------------------
N_PLAN_TASKS = 18  # section 三 of the plan has tasks 1-18


def test_registry_loads_in_file_order_without_duplicates():
    reg = registry()
    assert len(reg) >= 10
    with open(SEEDS / "levers.yaml", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)["levers"]
    ids = [item["id"] for item in raw]
    assert len(ids) == len(set(ids))
    assert list(reg) == ids
    assert all(lid == lv.id for lid, lv in reg.items())


@pytest.mark.parametrize("lid", list(registry()))
def test_lever_is_traceable_and_in_range(lid):
    lv = registry()[lid]
    assert lv.name.strip()
    assert lv.plan_task, "every lever names the plan task(s) it comes from"
    for task in lv.plan_task:
        assert task == "safeguard" or (isinstance(task, int) and 1 <= task <= N_PLAN_TASKS), task
    assert lv.clause_zh.strip() and lv.clause_en.strip()
    assert lv.unit.strip() and lv.mechanism.strip() and lv.basis.strip()
    for v in (lv.default, lv.plan, lv.low, lv.high):
        assert math.isfinite(v)
    assert lv.low < lv.high
    assert lv.low <= lv.default <= lv.high
    assert lv.low <= lv.plan <= lv.high
    assert lv.check(lv.default) is None and lv.check(lv.plan) is None
    assert lv.check(lv.low) is None and lv.check(lv.high) is None
    assert status_quo(lid) == lv.default


def test_lever_check_rejects_out_of_range():
    lv = registry()["basic_research_priority"]
    msg = lv.check(lv.high + 0.01)
    assert msg is not None and "must be within" in msg
    assert lv.check(lv.low - 0.01) is not None
    assert lv.check(float("nan")) is not None


def _plan_sections() -> dict:
    """Text of each task of section 三 (1-18) and of 四(二) 'safeguard', whitespace and quotes removed."""
    text = (SEEDS / "beijing_sti_center_plan_2016.zh.txt").read_text(encoding="utf-8")
    sections: dict = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"^(\d+)\.", line):
            current = int(m.group(1))
            sections[current] = ""
        elif line.startswith("（二）加强资金保障"):
            current = "safeguard"
            sections[current] = ""
        elif line.startswith(("（", "四、")):
            current = None
        elif current is not None:
            sections[current] += _norm(line)
    return sections


def _norm(s: str) -> str:
    return re.sub(r"[\s\"'“”‘’]", "", s)


def test_plan_text_has_every_task():
    sections = _plan_sections()
    assert set(sections) == set(range(1, N_PLAN_TASKS + 1)) | {"safeguard"}


@pytest.mark.parametrize("lid", list(registry()))
def test_lever_clause_is_quoted_from_its_plan_task(lid):
    lv = registry()[lid]
    sections = _plan_sections()
    clause = _norm(lv.clause_zh)
    assert any(clause in sections.get(t, "") for t in lv.plan_task), (
        f"{lid}: clause_zh not found in plan task(s) {lv.plan_task}"
    )


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module("sim.model." + ".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def test_lever_mechanisms_name_existing_code():
    missing = []
    for lid, lv in registry().items():
        for ref in lv.mechanism.split(";"):
            dotted = ref.split()[0]
            if _resolve(dotted) is None:
                missing.append(f"{lid}: {dotted}")
    assert not missing, missing


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
def test_schedule_without_spec_is_the_default():
    s = Schedule(0.4)
    assert [s.at(y) for y in (1900, 2016, 2030, 2100)] == [0.4] * 4
    assert s.as_spec() == 0.4


def test_schedule_constant_holds_in_every_year():
    s = Schedule(0.4, 0.8)
    assert [s.at(y) for y in (1900, 2016, 2030, 2100)] == [0.8] * 4
    assert s.as_spec() == 0.8


def test_schedule_is_a_step_function():
    s = Schedule(1.0, {2020: 3.0, 2018: 2.0})  # unordered on purpose
    assert s.at(2016) == 1.0  # before the first listed year: the status-quo default
    assert s.at(2017) == 1.0
    assert s.at(2018) == 2.0
    assert s.at(2019) == 2.0
    assert s.at(2020) == 3.0
    assert s.at(2030) == 3.0
    assert s.as_spec() == {2018: 2.0, 2020: 3.0}


def test_schedule_accepts_string_years_and_round_trips():
    s = Schedule(0.0, {"2017": 1})
    assert s.at(2016) == 0.0 and s.at(2017) == 1.0
    again = Schedule(0.0, s.as_spec())
    assert [again.at(y) for y in range(2014, 2032)] == [s.at(y) for y in range(2014, 2032)]


def test_lever_settings_cover_every_lever():
    reg = registry()
    ls = LeverSettings({"public_rd_growth": {2018: 12.0}, "ip_protection": 0.9})
    v2016, v2018 = ls.at(2016), ls.at(2018)
    assert set(v2016) == set(reg)
    assert v2016["public_rd_growth"] == reg["public_rd_growth"].default
    assert v2018["public_rd_growth"] == 12.0
    assert v2016["ip_protection"] == v2018["ip_protection"] == 0.9
    others = set(reg) - {"public_rd_growth", "ip_protection"}
    assert all(v2018[k] == reg[k].default for k in others)
    spec = ls.as_spec()
    assert spec["public_rd_growth"] == {2018: 12.0} and spec["ip_protection"] == 0.9


def test_lever_settings_reject_unknown_lever():
    with pytest.raises(KeyError, match="not_a_lever"):
        LeverSettings({"not_a_lever": 1.0})


# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
def test_parameter_definitions_are_complete():
    defs = definitions()
    assert len(defs) > 50
    for name, d in defs.items():
        assert d.kind in KINDS, name
        assert d.source.strip(), name
        assert d.low <= d.high, name
        assert d.check(d.value) is None, name


def test_params_defaults_and_override():
    defs = definitions()
    p = Params()
    assert set(p.as_dict()) == set(defs)
    assert p.revenue_growth == defs["revenue_growth"].value
    d = defs["revenue_growth"]
    inside = (d.low + d.high) / 2
    q = Params({"revenue_growth": inside})
    assert q.revenue_growth == inside
    assert Params().revenue_growth == defs["revenue_growth"].value  # no shared state


@pytest.mark.parametrize("delta", [-1.0, 1.0])
def test_params_override_out_of_range(delta):
    d = definitions()["revenue_growth"]
    bad = (d.low if delta < 0 else d.high) + delta
    with pytest.raises(ValueError, match="revenue_growth"):
        Params({"revenue_growth": bad})


def test_params_unknown_override():
    with pytest.raises(KeyError, match="revenue_growt"):
        Params({"revenue_growt": 0.1})


def test_params_vector_parameter():
    defs = definitions()
    vec = [k for k, d in defs.items() if isinstance(d.value, tuple)]
    assert vec, "expected at least one vector parameter (sector shares)"
    name = vec[0]
    n = len(defs[name].value)
    with pytest.raises(ValueError):
        Params({name: 0.1})  # a scalar where a list is expected
    q = Params({name: [1.0 / n] * n})
    assert q.as_dict()[name] == tuple([1.0 / n] * n)

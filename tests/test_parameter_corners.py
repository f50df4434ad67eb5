"""Whole parameter sets inside their documented ranges never break the model (issue 13).

Every parameter of seeds/parameters.yaml is drawn at once, each at its low end, its high end or a
uniform value in between (levers optionally at their corners too); the model runs a short
horizon at the tests' scale, and after every step the stock-flow invariants of
tests/test_invariants.py must hold: ledgers balance, no stock is negative, and the indicators are
finite. Corners that are meaningless were removed from the ranges with the reason written beside
them in seeds/parameters.yaml (see docs/ODD.md, 2.7 and the parameter file).

Share vectors (`sector_shares_2015`) are normalised by the model; all of them zero is refused
(Params.check, tested in test_levers_params.py), so the draws keep at least one share positive.
"""

from __future__ import annotations

import pytest
from helpers import SCALE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invariants import END, START, _run_checking_every_step, _run_checking_every_step_full

from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.model import InnovationModel

SHORT = {"time": {"start_year": START, "end_year": END}}


def _value(low: float, high: float):
    """A corner (low or high) or a uniform value in between."""
    inside = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from([low, high]), inside)


def _corner_vector(d, end: str) -> list[float]:
    """Every share of a vector at one end; all of them at a zero low end is one share at its
    high end instead (the rest zero): the extreme the model accepts."""
    v = [getattr(d, end)] * len(d.value)
    if not sum(v) > 0:
        v[0] = d.high
    return v


@st.composite
def parameter_sets(draw) -> dict:
    out = {}
    for name, d in definitions().items():
        if isinstance(d.value, tuple):
            shares = st.lists(_value(d.low, d.high), min_size=len(d.value), max_size=len(d.value))
            out[name] = draw(shares.filter(lambda v: sum(v) > 0))
        else:
            out[name] = draw(_value(d.low, d.high))
    return out


@st.composite
def lever_corners(draw) -> dict:
    """No lever overrides, or every lever at a corner or a value in between."""
    if draw(st.booleans()):
        return {}
    return {lid: draw(_value(lv.low, lv.high)) for lid, lv in registry().items()}


def corner(end: str, **only) -> dict:
    """Every parameter at `end` ("low" or "high"), or with `only`, just those."""
    defs = definitions()
    names = only.get("names", defs)
    return {
        n: _corner_vector(defs[n], end)
        if isinstance(defs[n].value, tuple)
        else getattr(defs[n], end)
        for n in names
    }


def check_run(parameters: dict, seed: int = 1, levers: dict | None = None) -> None:
    sc = {**SHORT, "parameters": parameters}
    model = InnovationModel(sc, scale=SCALE, rng=seed, **(levers or {}))
    _run_checking_every_step(model)


seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parameters=parameter_sets(), levers=lever_corners(), seed=seeds)
def test_whole_parameter_sets(parameters, levers, seed):
    check_run(parameters, seed, levers)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parameters=parameter_sets(), levers=lever_corners(), seed=seeds)
def test_whole_parameter_sets_many(parameters, levers, seed):
    check_run(parameters, seed, levers)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parameters=parameter_sets(), levers=lever_corners(), seed=seeds)
def test_whole_parameter_sets_full_horizon(parameters, levers, seed):
    """As above over 2016-2030 (checked once a year)."""
    sc = {"parameters": parameters}
    _run_checking_every_step_full(InnovationModel(sc, scale=SCALE, rng=seed, **levers))


@pytest.mark.parametrize("end", ["low", "high"])
def test_every_parameter_at_one_end(end):
    check_run(corner(end))


@pytest.mark.parametrize("end", ["low", "high"])
def test_every_parameter_and_lever_at_one_end(end):
    levers = {lid: getattr(lv, end) for lid, lv in registry().items()}
    check_run(corner(end), levers=levers)


@pytest.mark.slow
@pytest.mark.parametrize("end", ["low", "high"])
@pytest.mark.parametrize("name", sorted(definitions()))
def test_each_parameter_alone_at_each_end(name, end):
    check_run(corner(end, names=[name]))

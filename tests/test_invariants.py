"""Stock-flow invariants under random seeds, lever values and shocks (hypothesis).

After every step: the money ledger's internal accounts equal the agents' cash, the technology
clearing account is empty and the ledger sums to zero; the talent ledger's "holders" account
equals the talent held by firms, universities and regional pools; no stock is negative; and the
indicators are finite. Every lever is drawn from its whole allowed range (constants, schedules
and the corners), and no run may hang: each must end within RUN_LIMIT seconds of wall time
(a short run takes well under one).
"""

from __future__ import annotations

import contextlib
import signal

import numpy as np
import pytest
from helpers import SCALE, ledger_problems, negative_stocks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.inputs.levers import registry
from sim.inputs.shocks import SHOCK_RANGE, SHOCKS
from sim.model import InnovationModel

START, END = 2016, 2018
YEARS = list(range(START, END + 1))

seeds = st.integers(min_value=0, max_value=2**63 - 1)


def _lever_value(lv):
    return st.floats(min_value=lv.low, max_value=lv.high, allow_nan=False, allow_infinity=False)


@st.composite
def lever_settings(draw):
    """Every lever at a random value in [low, high]: a constant or a schedule inside the horizon."""
    out = {}
    for lid, lv in registry().items():
        if draw(st.booleans()):
            out[lid] = draw(_lever_value(lv))
        else:
            years = draw(st.lists(st.sampled_from(YEARS), min_size=1, max_size=3, unique=True))
            out[lid] = {y: draw(_lever_value(lv)) for y in sorted(years)}
    return out


@st.composite
def shock_settings(draw):
    out = {}
    for sid in SHOCKS:
        if draw(st.booleans()):
            years = draw(st.sets(st.sampled_from(YEARS), min_size=1))
            out[sid] = {
                y: draw(st.floats(min_value=SHOCK_RANGE[0], max_value=SHOCK_RANGE[1]))
                for y in sorted(years)
            }
    return out


RUN_LIMIT = 60.0


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging the suite) when the block runs longer than `seconds`."""

    def _hung(signum, frame):
        raise AssertionError(f"the run did not finish within {seconds:g} s (hang?)")

    previous = signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_checking_every_step(model: InnovationModel) -> None:
    with time_limit(RUN_LIMIT):
        _check_each_step(model)


def _check_each_step(model: InnovationModel) -> None:
    problems = ledger_problems(model) + negative_stocks(model)
    assert not problems, f"at initialisation: {problems}"
    while model.running:
        model.step()
        problems = ledger_problems(model) + negative_stocks(model)
        assert not problems, f"step {model.steps} (year {model.year}): {problems}"
    df = model.indicator_frame()
    assert sorted(df.year.unique()) == YEARS
    bad = df[~np.isfinite(df.value)]
    assert bad.empty, f"non-finite indicators: {bad.to_dict('records')}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, levers=lever_settings())
def test_invariants_random_levers(seed, levers):
    model = InnovationModel(
        {"time": {"start_year": START, "end_year": END}}, scale=SCALE, rng=seed, **levers
    )
    _run_checking_every_step(model)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, shocks=shock_settings())
def test_invariants_random_shocks(seed, shocks):
    sc = {"time": {"start_year": START, "end_year": END}, "shocks": shocks}
    model = InnovationModel(sc, scale=SCALE, rng=seed)
    _run_checking_every_step(model)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=seeds,
    corner=st.sampled_from(["low", "high"]),
)
def test_invariants_levers_at_their_bounds(seed, corner):
    levers = {lid: getattr(lv, corner) for lid, lv in registry().items()}
    model = InnovationModel(
        {"time": {"start_year": START, "end_year": END}}, scale=SCALE, rng=seed, **levers
    )
    _run_checking_every_step(model)


def test_invariants_full_horizon_baseline():
    model = InnovationModel(None, scale=SCALE, rng=2030)
    _run_checking_every_step_full(model)


def _run_checking_every_step_full(model: InnovationModel) -> None:
    with time_limit(4 * RUN_LIMIT):
        _check_each_year(model)


def _check_each_year(model: InnovationModel) -> None:
    while model.running:
        model.step()
        if model.steps % model.steps_per_year == 0:  # once a year keeps this fast
            problems = ledger_problems(model) + negative_stocks(model)
            assert not problems, f"step {model.steps} (year {model.year}): {problems}"
    df = model.indicator_frame()
    assert sorted(df.year.unique()) == list(range(2016, 2031))
    assert np.isfinite(df.value).all()


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, levers=lever_settings())
def test_invariants_random_levers_full_horizon(seed, levers):
    """Levers drawn as for the short horizon (schedules set in 2016-2018 hold to 2030)."""
    _run_checking_every_step_full(InnovationModel(None, scale=SCALE, rng=seed, **levers))

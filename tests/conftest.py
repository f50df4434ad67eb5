"""Shared fixtures for the innosim test suite (helpers live in tests/helpers.py)."""

from __future__ import annotations

import pytest
from helpers import SHORT, ledger_problems, negative_stocks, run_model

from sim.model import InnovationModel


@pytest.fixture(scope="session")
def check_ledgers():
    """Assert that both ledgers agree with the agents' stocks."""

    def check(m: InnovationModel) -> None:
        problems = ledger_problems(m)
        assert not problems, "; ".join(problems)

    return check


@pytest.fixture(scope="session")
def check_stocks():
    """Assert that no stock is negative or non-finite."""

    def check(m: InnovationModel) -> None:
        problems = negative_stocks(m)
        assert not problems, "; ".join(problems)

    return check


# ------------------------------------------------------------------------------------------------
# shared runs (module scope: tests must not mutate them)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run() -> InnovationModel:
    """Baseline, scale 0.02, 2016-2018, seed 2016, run to the end."""
    return run_model(SHORT, seed=2016)


@pytest.fixture(scope="module")
def small_frame(small_run):
    return small_run.indicator_frame()

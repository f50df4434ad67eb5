"""markets.allocation.syndicate: ranked demands filled from ordered suppliers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.model.markets.allocation import syndicate


def _drawn(s_idx, amount, n_suppliers):
    return np.bincount(s_idx, weights=amount, minlength=n_suppliers)


def _filled(d_idx, amount, n_demands):
    return np.bincount(d_idx, weights=amount, minlength=n_demands)


def test_worked_example():
    # 3 + 4 = 7 fits in 10; 3 + 4 + 5 = 12 does not: two demands served.
    d_idx, s_idx, amount, served = syndicate([3.0, 4.0, 5.0], [5.0, 5.0])
    assert served == 2
    parts = sorted(zip(d_idx.tolist(), s_idx.tolist(), amount.tolist(), strict=True))
    assert parts == [(0, 0, 3.0), (1, 0, 2.0), (1, 1, 2.0)]


def test_exact_fit_serves_everything():
    d_idx, s_idx, amount, served = syndicate([2.0, 3.0, 5.0], [4.0, 6.0])
    assert served == 3
    np.testing.assert_allclose(_filled(d_idx, amount, 3), [2.0, 3.0, 5.0])
    np.testing.assert_allclose(_drawn(s_idx, amount, 2), [4.0, 6.0])


def test_only_complete_demands_in_priority_order():
    # The first demand cannot be filled: nothing is served, even though the second would fit.
    d_idx, s_idx, amount, served = syndicate([11.0, 1.0], [5.0, 5.0])
    assert served == 0
    assert d_idx.size == s_idx.size == amount.size == 0


def test_a_demand_may_be_syndicated_across_suppliers():
    d_idx, s_idx, amount, served = syndicate([9.0], [2.0, 3.0, 4.0])
    assert served == 1
    np.testing.assert_allclose(_drawn(s_idx, amount, 3), [2.0, 3.0, 4.0])
    assert set(d_idx.tolist()) == {0}


def test_zero_suppliers_are_skipped():
    d_idx, s_idx, amount, served = syndicate([1.0, 1.0], [0.0, 1.0, 0.0, 1.0])
    assert served == 2
    assert set(s_idx.tolist()) == {1, 3}
    np.testing.assert_allclose(_drawn(s_idx, amount, 4), [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("demand", "supply"),
    [([], [1.0]), ([1.0], []), ([], []), ([1.0, 2.0], [0.0, 0.0])],
)
def test_empty_or_no_supply(demand, supply):
    d_idx, s_idx, amount, served = syndicate(np.array(demand), np.array(supply))
    assert served == 0
    assert d_idx.size == s_idx.size == amount.size == 0


amounts = st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@example(  # round-off: the suppliers' total equals the second demand's cumulative need to 1 ulp
    demand=[1.7468932841582614, 150.74689328415826],
    supply=[1.7468932841582507, 1.7468932841582507, 149.0],
)
@given(
    demand=st.lists(amounts, min_size=0, max_size=30),
    supply=st.lists(amounts, min_size=0, max_size=20),
)
def test_syndicate_properties(demand, supply):
    demand, supply = np.array(demand, dtype=float), np.array(supply, dtype=float)
    d_idx, s_idx, amount, served = syndicate(demand, supply)
    total = supply.sum()
    tol = 1e-9 * max(total, demand.sum(), 1.0)

    assert d_idx.shape == s_idx.shape == amount.shape
    assert 0 <= served <= demand.size
    assert np.all(amount > 0)
    if served == 0:
        assert amount.size == 0
    # Participations refer to served demands and existing suppliers only.
    assert np.all((d_idx >= 0) & (d_idx < max(served, 1)))
    assert np.all((s_idx >= 0) & (s_idx < max(supply.size, 1)))

    # Served demands are a prefix of the priority order and the longest prefix that fits.
    cd = np.cumsum(demand)
    if served:
        assert cd[served - 1] <= total + tol
    if served < demand.size and total > 0:
        assert cd[served] > total - tol

    # Every served demand is filled completely; nothing else is filled.
    filled = _filled(d_idx, amount, demand.size)
    np.testing.assert_allclose(filled[:served], demand[:served], rtol=0, atol=tol)
    assert np.all(filled[served:] == 0)
    assert amount.sum() == pytest.approx(demand[:served].sum(), rel=0, abs=tol)

    # No supplier is over-drawn, and suppliers are drawn in order: a supplier is used only
    # once every earlier supplier has given all it offered.
    drawn = _drawn(s_idx, amount, supply.size)
    assert np.all(drawn <= supply + tol)
    if s_idx.size:
        last = s_idx.max()
        np.testing.assert_allclose(drawn[:last], supply[:last], rtol=0, atol=tol)
        assert np.all(drawn[last + 1 :] == 0)

"""Clearing helper shared by the capital markets: fill ranked demands from ordered suppliers."""

from __future__ import annotations

import numpy as np


def syndicate(demand: np.ndarray, supply: np.ndarray):
    """Fill demands (in the given priority order) from suppliers (in the given order).

    Both are laid out on one line of money; every overlap of a demand's interval with a supplier's
    interval is one participation. Only demands that can be filled completely are served. Runs in
    O((n + m) log(n + m)); total drawn from a supplier never exceeds what it offered.

    Returns (demand_index, supplier_index, amount) arrays, and the number of demands served.
    """
    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    if demand.size == 0 or supply.size == 0 or supply.sum() <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), 0
    cd = np.cumsum(demand)
    cs = np.cumsum(supply)
    served = int(np.searchsorted(cd, cs[-1] * (1 + 1e-12), side="right"))
    if served == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), 0
    top = cd[served - 1]
    edges = np.union1d(np.concatenate(([0.0], cd[:served])), np.concatenate(([0.0], cs[cs < top])))
    edges = edges[edges <= top]
    amount = np.diff(edges)
    mids = (edges[:-1] + edges[1:]) / 2.0
    # Segments of a few ulps come from round-off where a supplier's cumulative offer equals a
    # demand's cumulative need; they carry no money and would misattribute by one index.
    keep = amount > 1e-12 * top
    mids, amount = mids[keep], amount[keep]
    d_idx = np.minimum(np.searchsorted(cd[:served], mids, side="right"), served - 1)
    s_idx = np.minimum(np.searchsorted(cs, mids, side="right"), supply.size - 1)
    return d_idx, s_idx, amount, served

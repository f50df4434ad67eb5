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


def syndicate_skipping(demand: np.ndarray, supply: np.ndarray, passes: int = 4):
    """As `syndicate`, but a demand the remaining offer cannot cover is skipped rather than
    ending the clearing: after each pass the first unserved demand is dropped and the demands
    behind it are filled from what the suppliers have left (at most `passes` passes, each
    O((n + m) log(n + m))). Investors who cannot afford the best remaining deal fund the next
    ones they can afford.

    Returns (demand_index, supplier_index, amount) arrays and the indices of the served demands
    (increasing, into `demand`)."""
    demand = np.asarray(demand, dtype=float)
    left = np.asarray(supply, dtype=float).copy()
    pos = np.arange(demand.size)
    parts_d, parts_s, parts_a, served_all = [], [], [], []
    for _ in range(max(passes, 1)):
        if pos.size == 0 or left.sum() <= 0:
            break
        d_idx, s_idx, amount, served = syndicate(demand[pos], left)
        if served:
            parts_d.append(pos[d_idx])
            parts_s.append(s_idx)
            parts_a.append(amount)
            served_all.append(pos[:served])
            left = np.maximum(left - np.bincount(s_idx, weights=amount, minlength=left.size), 0.0)
        pos = pos[served + 1 :]  # skip the demand that could not be covered
    if not served_all:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), empty
    return (
        np.concatenate(parts_d),
        np.concatenate(parts_s),
        np.concatenate(parts_a),
        np.concatenate(served_all),
    )

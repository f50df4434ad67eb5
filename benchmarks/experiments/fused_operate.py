"""Experiment (not part of `make bench`): how much do compiled loops save where a step is
bookkeeping rather than arithmetic?

`fused_grow.py` showed that where libm's exp, log and pow dominate (`FirmPopulation.grow`),
compiled loops save about 5%. Three quarters of a firm step is the other kind of work: numpy's
passes over the live firms' arrays (gathers, scatters, masks, temporaries) for decisions with
almost no arithmetic. This takes one such part, the model's `_firms_operate` (operating cash
flow, the leap projects' grants, the R&D decision with venture burn, paying R&D; one scalar exp
in all), and writes it as two numba loops over the live firms, against the model's own numpy
methods, on the state of a full-scale run after 30 steps.

    pip install numba   # not a dependency of innosim
    python benchmarks/experiments/fused_operate.py

It checks that the firms' state comes out the same (bit for bit, except where a sum over all
firms enters each firm's value: the grants divide by the sum of weights, which numpy adds
pairwise and the loop in order; their largest relative difference is printed) and prints both
times. The baseline funds no leap projects at that step, so the experiment gives them a budget
(`LEAP_FUNDING`) for the grant path to run.

Measured on the reference machine (7 December, 67,040 live firms): numpy 3.5-3.8 ms, numba
1.1-1.2 ms (about 3x; 2.6 against 1.2 ms without grants); state identical but for one ulp in
the grants (docs/performance.md).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arithmetic_floor import best_time  # noqa: E402

from sim.inputs.levers import status_quo  # noqa: E402
from sim.model.agents.firm import _IN_BEIJING, _IS_LEAP, LISTED  # noqa: E402

FIELDS = ("cash", "rev_cur", "rd_q", "vc_cash")
LEAP_FUNDING = 10.0  # 100m yuan a year: any positive budget (the timing does not depend on it)


class Ledger:
    """Stands in for the model's money accounts: adds what is transferred."""

    def __init__(self):
        self.total = 0.0

    def transfer(self, src: str, dst: str, amount: float) -> None:
        self.total += amount


def _kernels():
    import numba

    @numba.njit(cache=True)
    def operate(idx, margin, revenue, cash, rev_cur, region, sector, in_bj, is_leap, rd_pref, dt):
        """Operating cash flow; returns the leap-grant weights and the money moved."""
        weight = np.empty(idx.size)
        gains = losses = 0.0
        for k in range(idx.size):
            i = idx[k]
            cf = margin[i] * revenue[i] * dt
            gain = max(cf, 0.0)
            loss = min(max(-cf, 0.0), cash[i])
            cash[i] += gain - loss
            rev_cur[i] += revenue[i] * dt
            gains += gain
            losses += loss
            eligible = in_bj[region[i]] and is_leap[sector[i]]
            weight[k] = rd_pref[i] * revenue[i] if eligible else 0.0
        return weight, gains, losses

    @numba.njit(cache=True)
    def spend(idx, weight, grant_scale, cash, vc_cash, revenue, stage, rd_pref, rd_q, p_vec, dt):
        """Grants, the R&D decision (venture burn, subsidy) and paying R&D; returns totals."""
        ip_factor, burn, rd_share, revenue_ref, additionality = p_vec
        grants = spent_rd = 0.0
        for k in range(idx.size):
            i = idx[k]
            grant = grant_scale * weight[k]
            cash[i] += grant
            grants += grant
            b = 0.0
            if vc_cash[i] > 0:
                held = min(vc_cash[i], cash[i])
                spent = held * burn
                vc_cash[i] = max(held - spent, 0.0)
                s = stage[i]
                if s >= 1 and s < LISTED and revenue[i] < revenue_ref:
                    b = rd_share * spent
            desired = rd_pref[i] * (revenue[i] * dt) * ip_factor + b + additionality * grant
            rd = max(min(desired, cash[i]), 0.0)
            rd_q[i] = rd
            cash[i] -= rd
            spent_rd += rd
        return grants, spent_rd

    return operate, spend


def vectorised(m, f, money):
    """The model's `_firms_operate` on firm population `f`, with its own methods."""
    lev, p, dt = m.lever_values, m.p, m.dt
    live = f.live
    f.operate(live, dt, money)
    grant = f.receive_leap_grants(live, lev["technology_leap_funding"], m.scale_firms, dt, money)
    f.spend_rd(live, p, lev["ip_protection"], p.leap_additionality * grant, dt, money)


def compiled(kernels, m, f, money):
    operate, spend = kernels
    lev, p, dt = m.lever_values, m.p, m.dt
    live = f.live
    weight, gains, losses = operate(
        live, f.margin, f.revenue, f.cash, f.rev_cur, f.region, f.sector, _IN_BEIJING, _IS_LEAP,
        f.rd_pref, dt,
    )  # fmt: skip
    money.transfer("customers", "firms", gains)
    money.transfer("firms", "households", losses)
    annual, total = lev["technology_leap_funding"], weight.sum()
    scale = annual * m.scale_firms * dt / total if annual > 0 and total > 0 else 0.0
    ip_factor = 1.0 + p.ip_rd_elasticity * (lev["ip_protection"] - status_quo("ip_protection"))
    p_vec = (
        ip_factor,
        1.0 - np.exp(-p.vc_burn_rate * dt),
        p.vc_burn_rd_share,
        p.revenue_ref,
        p.leap_additionality,
    )
    grants, rd = spend(
        live, weight, scale, f.cash, f.vc_cash, f.revenue, f.stage, f.rd_pref, f.rd_q, p_vec, dt
    )
    money.transfer("government", "firms", grants)
    money.transfer("firms", "households", rd)


def main() -> None:
    from sim.model import InnovationModel

    kernels = _kernels()
    m = InnovationModel(scale=1.0, rng=1)
    for _ in range(30):
        m.step()
    # the baseline funds no leap projects yet: give them a budget so that the grant path runs
    m.lever_values = dict(m.lever_values, technology_leap_funding=LEAP_FUNDING)
    f = m.firms
    a, b = copy.deepcopy(f), copy.deepcopy(f)
    vectorised(m, a, Ledger())
    compiled(kernels, m, b, Ledger())
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        diff = np.abs(x - y) / np.maximum(np.abs(x), 1e-300)
        print(f"{name:8s} same bits: {np.array_equal(x, y)!s:5s}  largest relative difference "
              f"{diff.max():.1e}")  # fmt: skip
    live = f.live.size
    for name, run in (
        ("numpy", lambda c: vectorised(m, c, Ledger())),
        ("numba", lambda c: compiled(kernels, m, c, Ledger())),
    ):
        best = best_time(run, 20, setup=lambda: copy.deepcopy(f))
        print(
            f"{name}: {best * 1e3:.2f} ms for {live:,} live firms ({best / live * 1e9:.0f} ns a firm)"
        )


if __name__ == "__main__":
    main()

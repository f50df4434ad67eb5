"""Experiment (not part of `make bench`): would compiled loops make a firm step much cheaper?

`FirmPopulation.grow`'s arithmetic (the growth shock's scale, its centring, the market shares,
the sector normalisation and staff; not `update_margin`) written as two numba loops over the
live firms, against the same arithmetic in numpy (copied from `grow`), on the state of a
full-scale run after 30 steps. Both give the same bits (checked); the compiled loops save only
numpy's passes and temporaries, and the time is in the C library's pow, log1p and exp.

    pip install numba   # not a dependency of innosim
    python benchmarks/experiments/fused_grow.py

Measured on the reference machine (67,040 live firms): numpy 7.6 ms, numba 7.2 ms (5%).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arithmetic_floor import best_time  # noqa: E402

from sim.model.agents.firm import LISTED, MAX_LAPLACE_SCALE, MAX_MARKET_GROWTH, MIN_FTE  # noqa: E402
from sim.model.sectors import N_SECTORS  # noqa: E402


def _kernels():
    import numba

    @numba.njit(cache=True)
    def shares(idx, sector, rel_gain, revenue, stage, u, gs, ref, slope, lo, hi, dt, t2g, vgp_dt):
        new = np.empty(idx.size)
        before = np.zeros(N_SECTORS)
        after = np.zeros(N_SECTORS)
        for k in range(idx.size):
            i = idx[k]
            r = revenue[i]
            b = gs * (max(r, 1e-4) / ref) ** (-slope)
            b = min(max(b, lo), hi)
            share = t2g * rel_gain[i] + (u[k] * b + np.log1p(-(b * b))) * dt
            s = stage[i]
            share += vgp_dt if (s >= 1 and s < LISTED and r < ref) else 0.0
            new[k] = r * np.exp(min(max(share, -1.5), 1.5))
            before[sector[i]] += r
            after[sector[i]] += new[k]
        return new, before, after

    @numba.njit(cache=True)
    def staff(idx, sector, new, norm, revenue, employees, rpe, e, min_fte):
        for k in range(idx.size):
            i = idx[k]
            rv = new[k] * norm[sector[i]]
            revenue[i] = rv
            emp = employees[i]
            employees[i] = max(min_fte, emp * (rv / rpe / emp) ** e)

    return shares, staff


def _market(f, p, dt):
    trend = p.revenue_growth + f.sector_gain
    excess = trend - np.clip(trend, -MAX_MARKET_GROWTH, MAX_MARKET_GROWTH)
    return (trend - excess) * dt


def compiled(kernels, f, idx, p, u, dt):
    shares, staff = kernels
    gs = p.growth_shock
    new, before, after = shares(
        idx, f.sector, f.dlog_tech, f.revenue, f.stage, u, gs, p.revenue_ref,
        p.growth_shock_size_slope, 0.2 * gs, min(6.0 * gs, MAX_LAPLACE_SCALE), dt,
        p.tech_to_growth, p.venture_growth_premium * dt,
    )  # fmt: skip
    norm = np.where(after > 0, before * np.exp(_market(f, p, dt)) / np.maximum(after, 1e-300), 1.0)
    e = min(1.0, p.employment_adjustment * dt)
    staff(idx, f.sector, new, norm, f.revenue, f.employees, p.revenue_per_employee, e, MIN_FTE)


def vectorised(f, idx, p, u, dt):
    """FirmPopulation.grow up to the staff update, as in sim/model/agents/firm.py."""
    sector, rel_gain, rev = f.sector[idx], f.dlog_tech[idx], f.revenue[idx]
    b = p.growth_shock * (np.maximum(rev, 1e-4) / p.revenue_ref) ** (-p.growth_shock_size_slope)
    b = np.clip(b, 0.2 * p.growth_shock, min(6.0 * p.growth_shock, MAX_LAPLACE_SCALE))
    shock = (u * b + np.log1p(-(b**2))) * dt
    stage = f.stage[idx]
    startup = (stage >= 1) & (stage < LISTED) & (rev < p.revenue_ref)
    share = p.tech_to_growth * rel_gain + shock
    share += np.where(startup, p.venture_growth_premium * dt, 0.0)
    new = rev * np.exp(np.clip(share, -1.5, 1.5))
    before = np.bincount(sector, weights=rev, minlength=N_SECTORS)
    after = np.bincount(sector, weights=new, minlength=N_SECTORS)
    market = _market(f, p, dt)
    norm = np.where(after > 0, before * np.exp(market) / np.maximum(after, 1e-300), 1.0)
    revenue = f.revenue[idx] = new * norm[sector]
    emp = f.employees[idx]
    e = min(1.0, p.employment_adjustment * dt)
    f.employees[idx] = np.maximum(MIN_FTE, emp * (revenue / p.revenue_per_employee / emp) ** e)


def main() -> None:
    from sim.model import InnovationModel

    kernels = _kernels()
    m = InnovationModel(scale=1.0, rng=1)
    for _ in range(30):
        m.step()
    f, p, idx, dt = m.firms, m.p, m.firms.live, m.dt
    u = np.random.default_rng(1).laplace(0.0, 1.0, idx.size)
    a, b = copy.deepcopy(f), copy.deepcopy(f)
    vectorised(a, idx, p, u, dt)
    compiled(kernels, b, idx, p, u, dt)
    same = np.array_equal(a.revenue, b.revenue) and np.array_equal(a.employees, b.employees)
    print(f"same bits: {same}")
    for name, run in (("numpy", vectorised), ("numba", lambda *a: compiled(kernels, *a))):
        best = best_time(
            lambda c, run=run: run(c, idx, p, u, dt), 20, setup=lambda: copy.deepcopy(f)
        )
        print(f"{name}: {best * 1e3:.2f} ms for {idx.size:,} live firms")


if __name__ == "__main__":
    main()

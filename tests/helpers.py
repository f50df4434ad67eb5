"""Helpers shared by the tests: short model runs and stock-flow checks.

Model runs use scale 0.02 (about 800 firms) and, where the full horizon is not needed, the
three-year horizon 2016-2018, so that each run takes a fraction of a second.
"""

from __future__ import annotations

import numpy as np

from sim.model import InnovationModel

SCALE = 0.02
SHORT = {"time": {"start_year": 2016, "end_year": 2018}}
SHORT_YEARS = (2016, 2017, 2018)
REL = 1e-9  # relative tolerance of ledger checks (of the totals compared)


def short_scenario(end_year: int = 2018, **extra) -> dict:
    """A scenario dict for a short horizon starting in 2016, with extra top-level fields."""
    sc = {"time": {"start_year": 2016, "end_year": end_year}}
    sc.update(extra)
    return sc


def run_model(scenario=None, seed: int = 1, scale: float = SCALE, **overrides) -> InnovationModel:
    """Build and run a model to the end of its horizon (short horizon unless told otherwise)."""
    m = InnovationModel(SHORT if scenario is None else scenario, scale=scale, rng=seed, **overrides)
    m.run()
    return m


def indicator_series(m: InnovationModel):
    """The model's indicators as a Series indexed by (year, indicator)."""
    return m.indicator_frame().set_index(["year", "indicator"]).value


# ------------------------------------------------------------------------------------------------
# stock-flow checks
# ------------------------------------------------------------------------------------------------
def talent_held(m: InnovationModel) -> float:
    """Researchers and high-end talent held by live firms, universities and every region's pool."""
    f, u = m.firms, m.universities
    live = f.live
    return float(
        f.researchers[live].sum()
        + f.high_end[live].sum()
        + u.researchers.sum()
        + u.high_end.sum()
        + m.regions.pool.sum()
    )


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= REL * max(abs(scale), 1.0)


def ledger_problems(m: InnovationModel) -> list[str]:
    """Differences between the ledgers and the agents' stocks (empty list = consistent)."""
    f, u, fu = m.firms, m.universities, m.funds
    live = f.live
    bal = m.money.balance
    internal = {
        "firms": float(f.cash[live].sum()),
        "funds": float(fu.cash.sum()),
        "universities": float(u.cash.sum()),
    }
    # The scale of all money that ever moved: tolerances are relative to it.
    gross = sum(abs(v) for v in bal.values())
    out = []
    for account, held in internal.items():
        if not _close(bal[account], held, max(gross, abs(held))):
            out.append(f"money[{account}] = {bal[account]!r} but agents hold {held!r}")
    if not _close(bal["tech_clearing"], 0.0, gross):
        out.append(f"money[tech_clearing] = {bal['tech_clearing']!r}, expected ~0")
    if not _close(m.money.total(), 0.0, gross):
        out.append(f"money ledger sums to {m.money.total()!r}, expected ~0")
    held = talent_held(m)
    t_gross = sum(abs(v) for v in m.talent.balance.values())
    if not _close(m.talent.balance["holders"], held, max(t_gross, held)):
        out.append(f"talent[holders] = {m.talent.balance['holders']!r} but stocks sum to {held!r}")
    if not _close(m.talent.total(), 0.0, t_gross):
        out.append(f"talent ledger sums to {m.talent.total()!r}, expected ~0")
    return out


def negative_stocks(m: InnovationModel) -> list[str]:
    """Stocks that went negative (empty list = none)."""
    f, u, fu, r = m.firms, m.universities, m.funds, m.regions
    live = f.live
    arrays = {
        "firm cash": f.cash[live],
        "firm debt": f.debt[live],
        "firm researchers": f.researchers[live],
        "firm high_end": f.high_end[live],
        "firm patents": f.patents[live],
        "firm pending": f.pending[live],
        "firm revenue": f.revenue[live],
        "fund cash": fu.cash,
        "university cash": u.cash,
        "university researchers": u.researchers,
        "university high_end": u.high_end,
        "university patents": u.patents,
        "university pending": u.pending,
        "region pools": r.pool,
    }
    out = []
    for name, a in arrays.items():
        if a.size and not np.all(np.isfinite(a)):
            out.append(f"{name}: non-finite values")
        elif a.size and a.min() < 0:
            out.append(f"{name}: min {a.min()!r}")
    return out


# ------------------------------------------------------------------------------------------------
# small sweeps
# ------------------------------------------------------------------------------------------------
def write_short_sweep(folder, levers: dict, end_year: int = 2018, **spec):
    """A sweep spec over a baseline cut to 2016-`end_year` (both files written in `folder`);
    `spec` sets sampler, samples, replicates, seed, scale (defaults: lhs, 3, 2, 5, 0.02)."""
    from pathlib import Path

    import yaml

    from sim.inputs.paths import SCENARIOS

    folder = Path(folder)
    base = folder / "short.yaml"
    doc = {"name": "short", "extends": str(SCENARIOS / "baseline.yaml")}
    doc["time"] = {"start_year": 2016, "end_year": end_year}
    base.write_text(yaml.safe_dump(doc))
    body = {"base": str(base), "levers": levers, "sampler": "lhs", "samples": 3}
    body.update({"replicates": 2, "seed": 5, "scale": 0.02, **spec})
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path

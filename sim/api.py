"""Python API: what notebooks and sweeps build on.

import sim.api as api
df = api.run("scenarios/baseline.yaml", seed=1, scale=0.05, replicates=4)

# A sweep built in code (the same fields and checks as a sweep spec file):
spec = api.Sweep("scenarios/plan.yaml", {"top_talent_recruitment": (0.5, 3.0)},
                 sampler="lhs", samples=16, replicates=2, seed=1, scale=0.05)
api.sweep(spec, "reports/talent_sweep")
df = api.load_sweep("reports/talent_sweep")
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.targets import attainment, target_table
from sim.experiments.design import Sweep, SweepSpec
from sim.experiments.runs import Replicates, run_replicates_detailed
from sim.inputs.scenario import Scenario, load_scenario


def run(
    scenario: str | Path | dict | Scenario | None = None,
    *,
    seed: int | None = None,
    scale: float | None = None,
    replicates: int | None = None,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    uncertainty: str | None = None,
) -> pd.DataFrame:
    """Run a scenario's replicates; returns `scenario, replicate, seed, year, indicator, value`.

    Unset arguments take the scenario's own `seed`, `scale` and `replicates`.
    `overrides` maps lever ids to a constant or a `{year: value}` schedule. `uncertainty`:
    "posterior" (default) gives replicate r posterior draw d(r) of the free parameters the
    scenario leaves open; "seed" runs every replicate with the calibrated point values; None
    takes the scenario's `uncertainty` (default posterior).
    """
    kw = dict(seed=seed, scale=scale, replicates=replicates, overrides=overrides)
    out = run_detailed(scenario, **kw, workers=workers, progress=progress, uncertainty=uncertainty)
    return out.indicators


def run_detailed(
    scenario: str | Path | dict | Scenario | None = None,
    *,
    seed: int | None = None,
    scale: float | None = None,
    replicates: int | None = None,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    agents: bool = False,
    uncertainty: str | None = None,
) -> Replicates:
    """As `run`, returning the indicators, the firms' yearly records (with `agents=True`), the
    checks of the scenario's evaluation rules, the levers' fiscal costs and the budget cap's
    records and the parameters each replicate ran with (`.indicators`, `.firms`, `.evaluations`,
    `.costs`, `.budget`, `.parameters`)."""
    from sim.experiments.posterior import check_uncertainty

    sc = load_scenario(scenario)
    uncertainty = sc.uncertainty if uncertainty is None else uncertainty
    if isinstance(uncertainty, str):
        check_uncertainty(uncertainty)
    if overrides:
        sc = sc.with_levers(overrides)
    return run_replicates_detailed(
        sc,
        replicates=sc.replicates if replicates is None else replicates,
        seed=sc.seed if seed is None else seed,
        scale=sc.scale if scale is None else scale,
        workers=workers,
        progress=progress,
        agents=agents,
        uncertainty=uncertainty,
    )


def sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    resume: bool = False,
    force: bool = False,
    scale: float | None = None,
    progress: bool = False,
):
    """Run (or resume) a sweep into the folder `out`; returns the run summary.

    `spec` is a sweep built in code with `Sweep(...)` or a sweep spec file:

        spec = Sweep(load_scenario("scenarios/plan.yaml"),
                     {"top_talent_recruitment": (0.5, 3.0), "guidance_fund_scale": [1, 2, 4]},
                     sampler="lhs", samples=32, replicates=4, seed=2016, scale=0.05)
        summary = sweep(spec, "reports/talent_x_finance", workers=2)
        df = load_sweep("reports/talent_x_finance")

    A bad field raises an InputError naming it; results equal those of the same spec in a file.
    """
    from sim.experiments.sweep import run_sweep

    return run_sweep(
        spec, out, workers=workers, resume=resume, force=force, scale=scale, progress=progress
    )


def load_sweep(directory: str | Path) -> pd.DataFrame:
    """A sweep's results as one tidy frame: point, replicate, seed, each varied lever, year,
    indicator, value (only the runs stored so far)."""
    from sim.experiments.store import open_store

    return open_store(directory).load()


__all__ = [
    "run",
    "attainment",
    "target_table",
    "load_scenario",
    "Sweep",
    "sweep",
    "load_sweep",
]

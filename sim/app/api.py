"""Python API: what notebooks and sweeps build on.

import sim.app.api as api
df = api.run("scenarios/baseline.yaml", seed=1, scale=0.05, replicates=4)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.targets import attainment, target_table
from sim.experiments.runs import run_replicates
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
) -> pd.DataFrame:
    """Run a scenario's replicates; returns `scenario, replicate, seed, year, indicator, value`.

    Unset arguments take the scenario's own `seed`, `scale` and `replicates`.
    `overrides` maps lever ids to a constant or a `{year: value}` schedule.
    """
    sc = load_scenario(scenario)
    if overrides:
        sc = sc.with_levers(overrides)
    return run_replicates(
        sc,
        replicates=sc.replicates if replicates is None else replicates,
        seed=sc.seed if seed is None else seed,
        scale=sc.scale if scale is None else scale,
        workers=workers,
        progress=progress,
    )


def load_sweep(directory: str | Path) -> pd.DataFrame:
    """A sweep's results as one tidy frame: point, replicate, seed, each varied lever, year,
    indicator, value (only the runs stored so far)."""
    from sim.experiments.store import open_store

    return open_store(directory).load()


__all__ = ["run", "attainment", "target_table", "load_scenario", "load_sweep"]

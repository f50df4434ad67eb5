"""Runs and replicates.

Replicate r of a scenario uses the r-th child of `SeedSequence(seed)`, so replicate r gets the
same seed in every scenario and lever setting (common random numbers), and results do not depend
on how many workers run them or in which order. With posterior uncertainty (a scenario's
`uncertainty: posterior`) replicate r also runs with posterior draw d(r) of the free parameters, the same in every
scenario (`sim.experiments.posterior`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.experiments.executors import WorkerPool, usable_cores
from sim.experiments.posterior import (
    free_parameter_names,
    replicate_parameters,
)
from sim.inputs.errors import raise_if_signalled
from sim.inputs.scenario import Scenario, load_scenario

COLUMNS = ["scenario", "replicate", "seed", "year", "indicator", "value"]
# evaluations.csv: one row per check of an evaluation rule (sim.model.evaluation)
EVALUATION_COLUMNS = [
    "scenario",
    "replicate",
    "year",
    "rule",
    "label",
    "indicator",
    "indicator_value",
    "triggered",
    "lever",
    "new_lever_value",  # the lever's value from the next year on, after this check
]


# costs.csv: each lever's fiscal cost, 100m yuan of public outlay in the year (sim.model.fiscal)
COST_COLUMNS = ["scenario", "replicate", "year", "lever", "cost"]
# parameters.csv: the free parameters' values each replicate ran with (sim.experiments.posterior)
PARAMETER_COLUMNS = ["scenario", "replicate", "parameter", "value"]
# budget.csv: the budget cap's projection and scaling of each capped year (sim.model.fiscal)
BUDGET_COLUMNS = [
    "scenario",
    "replicate",
    "year",
    "cap",
    "projected_cost",  # the levers' projected cost at their scheduled values
    "projected_cost_capped",  # ... after scaling
    "scale",  # the common factor applied to every costly lever above its 2015 value
    "met",  # whether the cap could be met (not when the 2015 policies alone cost more)
    "booked_cost",  # the levers' cost booked at the end of the year
]


def evaluation_frame(records: list[dict]) -> pd.DataFrame:
    """A run's evaluation checks as a frame (columns EVALUATION_COLUMNS[2:]), empty if none."""
    return pd.DataFrame(records, columns=EVALUATION_COLUMNS[2:])


@dataclass(frozen=True)
class RunOutput:
    """One run's results: indicators, the firms' records (if asked), the evaluation checks, the
    levers' costs and the budget cap's records (frames without scenario and replicate)."""

    indicators: pd.DataFrame
    firms: pd.DataFrame | None
    evaluations: pd.DataFrame
    costs: pd.DataFrame
    budget: pd.DataFrame


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of replicates 0..n-1: independent streams spawned from one root seed."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def run_one(
    scenario: Scenario | dict,
    seed: int,
    scale: float,
    overrides: dict | None = None,
    agents: bool = False,
    details: bool = False,
):
    """One model run to the end of the horizon; returns year, indicator, value.

    With `agents=True` returns `(indicators, firms)`: the firms' yearly records as well
    (`sim.experiments.firm_records`; the model is stepped and observed, not changed, and its indicators are
    the same as without records). With `details=True` returns a RunOutput: everything
    `innosim run` writes for one replicate.
    """

    from sim.model.model import InnovationModel

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    model = InnovationModel(sc, scale=scale, rng=seed, **(overrides or {}))
    try:
        if not agents:
            model.run()
            out = (model.indicator_frame(),)
        else:
            from sim.experiments.firm_records import record_run

            firms = record_run(model)
            out = (model.indicator_frame(), firms)
        if details:
            return RunOutput(
                out[0],
                out[1] if agents else None,
                evaluation_frame(model.evaluations()),
                pd.DataFrame(model.costs(), columns=COST_COLUMNS[2:]),
                pd.DataFrame(model.budget_records(), columns=BUDGET_COLUMNS[2:]),
            )
        return out[0] if len(out) == 1 else out
    finally:
        model.release()  # freed now, not at the next cyclic collection


def _task(args):
    # The scenario is the validated object itself (pickled to a worker process): not validated again.
    sc, seed, scale, overrides, replicate, agents = args
    out = run_one(sc, seed, scale, overrides, agents=agents, details=True)
    out.indicators.insert(0, "seed", seed)
    out.indicators.insert(0, "replicate", replicate)
    for frame in (out.evaluations, out.costs, out.budget):
        frame.insert(0, "replicate", replicate)
    if out.firms is not None:
        out.firms["replicate"] = np.int16(replicate)
    return replicate, out


def run_replicates(
    scenario,
    replicates: int,
    seed: int,
    scale: float,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    uncertainty=None,
) -> pd.DataFrame:
    """All replicates of one scenario as a tidy frame (columns COLUMNS), ordered by replicate."""
    args = (scenario, replicates, seed, scale, overrides, workers, progress)
    return run_replicates_detailed(*args, uncertainty=uncertainty).indicators


def run_replicates_with_firms(
    scenario,
    replicates: int,
    seed: int,
    scale: float,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    uncertainty=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As `run_replicates`, plus the firms' yearly records of every replicate
    (`sim.experiments.firm_records.COLUMNS`, ordered by replicate and year)."""
    args = (scenario, replicates, seed, scale, overrides, workers, progress)
    out = run_replicates_detailed(*args, agents=True, uncertainty=uncertainty)
    return out.indicators, out.firms


@dataclass(frozen=True)
class Replicates:
    """What `innosim run` writes: indicators, the firms' records (if asked), the checks of
    the scenario's evaluation rules (EVALUATION_COLUMNS; empty without rules), the levers'
    fiscal costs (COST_COLUMNS), the budget cap's records (BUDGET_COLUMNS; empty without a
    cap) and the free parameters' values of each replicate (PARAMETER_COLUMNS)."""

    indicators: pd.DataFrame
    firms: pd.DataFrame | None
    evaluations: pd.DataFrame
    costs: pd.DataFrame
    budget: pd.DataFrame
    parameters: pd.DataFrame

    @property
    def draws(self) -> int:
        """How many distinct parameter sets the replicates ran with."""
        if self.parameters.empty:
            return 1
        wide = self.parameters.pivot(index="replicate", columns="parameter", values="value")
        return int(len(wide.drop_duplicates()))


def run_replicates_detailed(
    scenario,
    replicates: int,
    seed: int,
    scale: float,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    agents: bool = False,
    uncertainty=None,
) -> Replicates:
    """All replicates of one scenario: indicators, the firms' records (`agents`), the checks
    of the scenario's evaluation rules, the levers' costs, the budget cap's records and the
    parameter values each replicate ran with (`uncertainty`: "posterior" draws them, "seed"
    keeps the calibrated point values, a Posterior object draws from it; default: the
    scenario's `uncertainty`)."""
    sc = load_scenario(scenario)
    uncertainty = sc.uncertainty if uncertainty is None else uncertainty
    args = (sc, replicates, seed, scale, overrides, workers, progress, agents, uncertainty)
    return Replicates(*_replicates(*args))


def replicate_scenarios(sc: Scenario, seed: int, replicates: int, uncertainty: str):
    """Replicate r's scenario: `sc` with posterior draw d(r) for every free parameter the
    scenario leaves open (`sc` itself with seed uncertainty)."""
    sets = replicate_parameters(uncertainty, seed, replicates, explicit=sc.parameters)
    return [sc.with_parameters(ps) if ps else sc for ps in sets]


def parameter_frame(name: str, scenarios: list[Scenario]) -> pd.DataFrame:
    """The free parameters' values replicate by replicate (PARAMETER_COLUMNS)."""
    from sim.inputs.params import Params

    names = free_parameter_names()
    rows = []
    for r, sc in enumerate(scenarios):
        p = Params(sc.parameters)
        rows += [(name, r, k, float(getattr(p, k))) for k in names]
    return pd.DataFrame(rows, columns=PARAMETER_COLUMNS)


def _replicates(
    scenario, replicates, seed, scale, overrides, workers, progress, agents, uncertainty
):
    sc = load_scenario(scenario)
    seeds = replicate_seeds(seed, replicates)
    per = replicate_scenarios(sc, seed, replicates, uncertainty)
    tasks = [(per[r], s, scale, dict(overrides or {}), r, agents) for r, s in enumerate(seeds)]
    workers = max(1, min(workers or 1, replicates, usable_cores()))
    results: dict[int, RunOutput] = {}
    bar = tqdm(total=replicates, desc=f"{sc.name}", unit="run", disable=not progress)
    try:
        if workers == 1:
            for r, out in map(_task, tasks):
                results[r] = out
                bar.update()
                raise_if_signalled()
        else:
            ex = WorkerPool(workers)
            try:
                for r, out in ex.map(_task, tasks):
                    results[r] = out
                    bar.update()
                    raise_if_signalled()
            finally:
                ex.stop()  # all done, or interrupted: nothing left running
    finally:
        bar.close()

    def joined(name: str, columns: list[str]) -> pd.DataFrame:
        frame = pd.concat([getattr(results[r], name) for r in range(replicates)], ignore_index=True)
        frame.insert(0, "scenario", sc.name)
        return frame[columns]

    out = joined("indicators", COLUMNS)
    evals = joined("evaluations", EVALUATION_COLUMNS)
    costs = joined("costs", COST_COLUMNS)
    budget = joined("budget", BUDGET_COLUMNS)
    records = None
    if agents:
        records = pd.concat([results[r].firms for r in range(replicates)], ignore_index=True)
    return out, records, evals, costs, budget, parameter_frame(sc.name, per)
